"""The rule compiler: checked rule → one SQLAlchemy boolean over `customers`.

See the package docstring for what each field reads and why every comparison is
TRUE or FALSE, never NULL."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Double,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery

from domain.program import ProgramSettings
from domain.segment_rules import (
    THIS_MONTH,
    AllOf,
    AnyOf,
    Condition,
    FieldType,
    NoneOf,
    Relative,
    Rule,
    RuleNode,
)
from persistence.classification import classification_query, counted_orders
from persistence.customers import CustomerRow
from persistence.orders import OrderItemRow, OrderRow
from persistence.predictions import CustomerPredictionRow
from persistence.tags import CustomerTagRow, TagRow
from persistence.tiers import TierRow
from persistence.types import UtcDateTime

MONEY = Numeric(18, 2)


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NEGATIVE = ("!=", "NOT IN")

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


@dataclass(frozen=True)
class RuleContext:
    as_of: datetime
    program: ProgramSettings
    dialect: str
    classification: Subquery | None = None  # the joined classification subquery


def _compare(
    column: Column, op: str, values: Sequence[ColumnElement[Any]], *, nullable: bool = True
) -> ColumnElement[bool]:
    """`column op values`, TRUE or FALSE even when the column is NULL."""
    if op == "IN":
        clause = column.in_(list(values))
    elif op == "NOT IN":
        clause = column.not_in(list(values))
    else:
        clause = _ORDERING[op](column, values[0])
    assert isinstance(clause, ColumnElement)
    if not nullable:
        return clause
    if op in _NEGATIVE:
        return or_(column.is_(None), clause)
    return and_(column.is_not(None), clause)


def _decimal(value: object) -> Decimal:
    """Number and money values of a checked rule are Decimals (see `Condition`)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"a checked rule holds a Decimal here, not {value!r}")
    return value


def _number(value: object) -> ColumnElement[Any]:
    number = _decimal(value)
    if number == number.to_integral():
        return literal(int(number), Integer())
    return literal(number, MONEY)


def _money(value: object) -> ColumnElement[Any]:
    return literal(_decimal(value), MONEY)


def _predicted(column: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """The customer's stored prediction (persistence/predictions.py), NULL without one."""
    return (
        select(column).where(CustomerPredictionRow.customer_id == CustomerRow.id).scalar_subquery()
    )


def _instant(value: datetime) -> ColumnElement[Any]:
    return literal(value, UtcDateTime())


class _Compiler:
    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx

    @property
    def cls(self) -> Subquery:
        """The classification subquery; `rule_context` joins it for rules on orders."""
        if self.ctx.classification is None:
            raise ValueError("an order-derived field needs the classification joined")
        return self.ctx.classification

    def node(self, node: RuleNode) -> ColumnElement[bool]:
        if isinstance(node, AllOf):
            return and_(*(self.node(item) for item in node.items))
        if isinstance(node, AnyOf):
            return or_(*(self.node(item) for item in node.items))
        if isinstance(node, NoneOf):
            return not_(self.node(node.item))
        return self.condition(node)

    def condition(self, c: Condition) -> ColumnElement[bool]:
        name = c.field.name
        if name == "orders_count":
            return _compare(self.cls.c.orders_count, c.op, [_number(v) for v in c.values])
        if name == "total_spent":
            return _compare(self.cls.c.net_spent, c.op, [_money(v) for v in c.values])
        if name == "average_order_value":
            return self.average_order_value(c)
        if name == "points_balance":
            return _compare(CustomerRow.points_balance, c.op, [_number(v) for v in c.values])
        if name == "p_alive":
            chances: list[ColumnElement[Any]] = [
                literal(float(_decimal(v)), Double()) for v in c.values
            ]
            return _compare(_predicted(CustomerPredictionRow.p_alive), c.op, chances)
        if name == "predicted_clv":
            amounts = [_money(v) for v in c.values]
            return _compare(_predicted(CustomerPredictionRow.predicted_clv), c.op, amounts)
        if name in ("r_score", "f_score", "m_score"):
            return _compare(self.cls.c[name], c.op, [_number(v) for v in c.values])
        if name in ("first_order_at", "last_order_at"):
            return self.instant(self.cls.c[name], c)
        if name == "created_at":
            return self.instant(CustomerRow.created_at, c)
        if name == "lifecycle":
            stage = func.coalesce(self.cls.c.lifecycle, "PROSPECT")
            return _compare(stage, c.op, [literal(v) for v in c.values], nullable=False)
        if name == "rfm_class":
            return _compare(self.cls.c.rfm_class, c.op, [literal(v) for v in c.values])
        if name == "gender":
            return _compare(CustomerRow.gender, c.op, [literal(v) for v in c.values])
        if name in ("city", "channel", "name"):
            column = {
                "city": CustomerRow.city,
                "channel": CustomerRow.acquisition_channel,
                "name": CustomerRow.name,
            }[name]
            return _compare(
                func.lower(column), c.op, [literal(str(v).lower(), String()) for v in c.values]
            )
        if name == "tag":
            return self.tag(c)
        if name == "tier":
            return self.tier(c)
        if name == "birthday_month":
            return self.birthday_month(c)
        if name == "category_spent":
            return _compare(
                self.category_spent(c.argument or ""),
                c.op,
                [_money(v) for v in c.values],
                nullable=False,
            )
        if c.field.type is FieldType.ATTRIBUTE:
            return self.attribute(c)
        raise ValueError(f"no compiler for field {name}")  # the catalogue and this agree

    def average_order_value(self, c: Condition) -> ColumnElement[bool]:
        count, net = self.cls.c.orders_count, self.cls.c.net_spent
        has_orders = count > 0

        def one(op: str, value: object) -> ColumnElement[bool]:
            return and_(has_orders, _ORDERING[op](net, _money(value) * count))

        if c.op == "IN":
            return or_(*(one("=", v) for v in c.values))
        if c.op == "NOT IN":
            return not_(or_(*(one("=", v) for v in c.values)))
        if c.op == "!=":
            return not_(one("=", c.values[0]))
        return one(c.op, c.values[0])

    def instant(self, column: Column, c: Condition) -> ColumnElement[bool]:
        value = c.values[0]
        if isinstance(value, Relative):
            return _compare(column, c.op, [_instant(self.ctx.as_of + value.delta)])
        if not isinstance(value, date):
            raise TypeError(f"a checked rule holds a date here, not {value!r}")
        zone = self.ctx.program.zone
        start = datetime.combine(value, time(), zone).astimezone(UTC)
        end = datetime.combine(value + timedelta(days=1), time(), zone).astimezone(UTC)
        start_at, end_at = _instant(start), _instant(end)
        if c.op == "=":
            return and_(column.is_not(None), column >= start_at, column < end_at)
        if c.op == "!=":
            return or_(column.is_(None), column < start_at, column >= end_at)
        bound = {"<": ("<", start_at), "<=": ("<", end_at), ">": (">=", end_at)}
        op, at = bound.get(c.op, (">=", start_at))
        return _compare(column, op, [at])

    def tag(self, c: Condition) -> ColumnElement[bool]:
        keys = sorted({str(v).strip().casefold() for v in c.values})
        wears = exists().where(
            CustomerTagRow.customer_id == CustomerRow.id,
            CustomerTagRow.tag_id == TagRow.id,
            TagRow.name_key.in_(keys),
        )
        return not_(wears) if c.op in _NEGATIVE else wears

    def tier(self, c: Condition) -> ColumnElement[bool]:
        names = [str(v).strip().lower() for v in c.values]
        if c.op in ("<", "<=", ">", ">="):
            rank = (
                select(TierRow.rank).where(func.lower(TierRow.name) == names[0]).scalar_subquery()
            )
            tiers = select(TierRow.id).where(_ORDERING[c.op](TierRow.rank, rank))
        else:
            tiers = select(TierRow.id).where(func.lower(TierRow.name).in_(names))
        inside = CustomerRow.tier_id.in_(tiers)
        if c.op in _NEGATIVE:
            return or_(CustomerRow.tier_id.is_(None), not_(inside))
        return and_(CustomerRow.tier_id.is_not(None), inside)

    def birthday_month(self, c: Condition) -> ColumnElement[bool]:
        this_month = self.ctx.as_of.astimezone(self.ctx.program.zone).month
        months = [literal(this_month if v == THIS_MONTH else v, Integer()) for v in c.values]
        return _compare(extract("month", CustomerRow.birthday), c.op, months)

    def category_spent(self, category: str) -> ColumnElement[Any]:
        spent = (
            select(
                func.coalesce(
                    func.sum(OrderItemRow.quantity * OrderItemRow.unit_price, type_=MONEY),
                    literal(Decimal(0), MONEY),
                    type_=MONEY,
                )
            )
            .select_from(OrderItemRow)
            .join(OrderRow, OrderRow.id == OrderItemRow.order_id)
            .where(
                OrderItemRow.customer_id == CustomerRow.id,
                func.lower(OrderItemRow.category) == literal(category.strip().lower(), String()),
                counted_orders(self.ctx.as_of),
            )
            .scalar_subquery()
        )
        return spent

    def attribute(self, c: Condition) -> ColumnElement[bool]:
        key = c.argument or ""
        sample = c.values[0]
        if self.ctx.dialect == "postgresql":
            node = CustomerRow.attributes.op("->")(literal(key, String()))
            kind = func.coalesce(func.jsonb_typeof(node), "")
            text = CustomerRow.attributes.op("->>", return_type=String())(literal(key, String()))
            number = case((kind == "number", cast(text, Numeric())), else_=None)
            is_true = and_(kind == "boolean", text == "true")
            is_false = and_(kind == "boolean", text == "false")
            text_value = case((kind == "string", text), else_=None)
        else:
            path = literal(f'$."{key}"', String())
            kind = func.coalesce(func.json_type(CustomerRow.attributes, path), "")
            raw = func.json_extract(CustomerRow.attributes, path)
            number = case((kind.in_(("integer", "real")), raw), else_=None)
            is_true = kind == "true"
            is_false = kind == "false"
            text_value = case((kind == "text", raw), else_=None)
        if isinstance(sample, bool):
            matches = is_true if sample else is_false
            return not_(matches) if c.op == "!=" else matches
        if isinstance(sample, Decimal):
            return _compare(number, c.op, [_number(v) for v in c.values])
        return _compare(
            func.lower(text_value), c.op, [literal(str(v).lower(), String()) for v in c.values]
        )


def rule_context(
    rule: Rule, as_of: datetime, program: ProgramSettings, dialect: str
) -> RuleContext:
    classification = None
    if rule.uses_orders:
        classification = classification_query(as_of, program).subquery("classification")
    return RuleContext(as_of, program, dialect, classification)


def rule_clause(rule: Rule, ctx: RuleContext) -> ColumnElement[bool]:
    return _Compiler(ctx).node(rule.root)


def with_classification(statement: Select[Any], ctx: RuleContext) -> Select[Any]:
    if ctx.classification is None:
        return statement
    cls = ctx.classification
    return statement.outerjoin(cls, cls.c.customer_id == CustomerRow.id)


def members_statement(rule: Rule, ctx: RuleContext, *columns: Any) -> Select[Any]:
    """SELECT columns FROM customers (⋈ classification) WHERE live AND rule."""
    statement = with_classification(select(*columns).select_from(CustomerRow), ctx)
    return statement.where(
        CustomerRow.erased_at.is_(None),
        CustomerRow.merged_into_id.is_(None),
        rule_clause(rule, ctx),
    )
