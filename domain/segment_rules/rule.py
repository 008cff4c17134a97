"""The checked rule: a typed tree of conditions on known fields, ready to compile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from domain.segment_rules.fields import Field


class ThisMonth:
    """`this_month`: the month of the as-of instant in the program time zone."""

    def __repr__(self) -> str:
        return "this_month"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ThisMonth)

    def __hash__(self) -> int:
        return hash("this_month")


THIS_MONTH = ThisMonth()


@dataclass(frozen=True)
class Relative:
    """An instant relative to the as-of instant (negative: before it)."""

    delta: timedelta


@dataclass(frozen=True)
class Condition:
    """One comparison whose field exists and whose values fit it.

    `values` are plain Python values: Decimal for numbers and money, str for text and
    enums (enums upper-cased), date or Relative for dates, int or THIS_MONTH for
    months, and str/Decimal/bool for attributes.
    """

    field: Field
    argument: str | None
    op: str
    values: tuple[object, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[RuleNode, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[RuleNode, ...]


@dataclass(frozen=True)
class NoneOf:
    item: RuleNode


RuleNode = AllOf | AnyOf | NoneOf | Condition


@dataclass(frozen=True)
class Rule:
    text: str
    root: RuleNode

    def conditions(self) -> list[Condition]:
        found: list[Condition] = []
        stack: list[RuleNode] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Condition):
                found.append(node)
            elif isinstance(node, NoneOf):
                stack.append(node.item)
            else:
                stack.extend(node.items)
        return found

    @property
    def uses_orders(self) -> bool:
        return any(c.field.order_derived for c in self.conditions())
