"""What an order earns: its base points plus what the earning rules add. Pure: the
caller gathers the facts (the cart, the customer, the active rules, what is left
of each budget) and this decides, so recording an order, recording many at once and
previewing a cart all give the same answer for the same facts.

The rules, in order:
- Base points: floor(amount × earn_rate × tier multiplier), as without rules.
- A line's amount is quantity × unit price, scaled by amount / Σ lines when the
  lines do not add up to the order's amount (discounts, shipping). An order sent
  without lines is one line of its whole amount (with no SKU and no category, so a
  rule that picks SKUs or categories does not apply to it).
- Rules go by priority, higher first (equal priorities by rule id). A rule applies
  when every condition holds, it has lines left to work on, and it gives points. A
  non-stackable rule that applied takes its lines: lower rules skip those lines.
- Each rule is floored on its own: MULTIPLIER ×m adds floor(E × earn_rate × (m − 1))
  on its eligible amount E (×2 doubles, it does not triple); POINTS_PER_AMOUNT gives
  n per whole m of E; FIXED_BONUS and FIRST_ORDER_BONUS give their points once;
  BIRTHDAY_MONTH gives its multiplier or its points in the customer's birthday month.
  The tier multiplier multiplies the base only, unless the rule says it too is
  tier-multiplied (then its points before flooring are multiplied by it).
- Budgets: a rule gives at most what is left of its total budget and of the
  customer's budget for the period; a rule that would exceed gives what remains,
  then nothing (and, giving nothing, it takes no lines from lower rules).
- Calendar conditions (days of week and month, time of day, birthday month) are read
  on the order's placed-at instant in the program time zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.earning_rules.model import EarningRule, RuleKind
from domain.points import earned_points, reversal_points

CENT = Decimal("0.01")


class CartLine(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price(self) -> Decimal: ...


@dataclass(frozen=True)
class Cart:
    amount: Decimal
    placed_at: datetime
    channel: str | None
    lines: Sequence[CartLine] = ()


@dataclass(frozen=True)
class CustomerFacts:
    """The customer as the order finds them (before the order counts)."""

    tier_id: int | None = None
    tier_multiplier: Decimal = Decimal(1)
    birthday: date | None = None
    first_order: bool = True
    segment_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class BudgetLeft:
    """What a rule may still give this order: None = no limit."""

    total: int | None = None
    customer: int | None = None

    def cap(self, points: int) -> int:
        for left in (self.total, self.customer):
            if left is not None:
                points = min(points, left)
        return max(points, 0)


@dataclass(frozen=True)
class BreakdownLine:
    """One rule's share (rule_id None: the base points). `wanted` is what the rule
    would give without budgets; `points` what it gives."""

    rule_id: int | None
    eligible_amount: Decimal
    points: int
    wanted: int

    @property
    def budget_limited(self) -> bool:
        return self.points < self.wanted


@dataclass(frozen=True)
class Breakdown:
    base: BreakdownLine
    rules: list[BreakdownLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.base.points + sum(line.points for line in self.rules)

    @property
    def awarded(self) -> list[BreakdownLine]:
        """The base (when it gives points) and every rule that gives points."""
        lines = [self.base] if self.base.points > 0 else []
        return lines + [line for line in self.rules if line.points > 0]


def floor(value: Decimal) -> int:
    return max(int(value.to_integral_value(rounding=ROUND_FLOOR)), 0)


def line_amounts(cart: Cart) -> list[tuple[str | None, str | None, Decimal]]:
    """(sku, category, amount) per line, scaled to the order's amount."""
    raw: list[tuple[str | None, str | None, Decimal]] = [
        (line.sku, line.category, line.quantity * line.unit_price) for line in cart.lines
    ]
    total = sum((amount for _, _, amount in raw), Decimal(0))
    if not raw or total <= 0:
        return [(None, None, cart.amount)]
    if total == cart.amount:
        return raw
    return [(sku, category, amount * cart.amount / total) for sku, category, amount in raw]


def _in_time_window(rule: EarningRule, local: datetime) -> bool:
    start, end = rule.conditions.time_from, rule.conditions.time_until
    moment = local.time().replace(tzinfo=None)
    if start is not None and end is not None:
        if start < end:
            return start <= moment < end
        return moment >= start or moment < end
    if start is not None:
        return moment >= start
    if end is not None:
        return moment < end
    return True


def order_conditions_hold(
    rule: EarningRule, cart: Cart, customer: CustomerFacts, zone: ZoneInfo
) -> bool:
    """Everything of the rule but its line picks and its budget."""
    c = rule.conditions
    local = cart.placed_at.astimezone(zone)
    if rule.kind is RuleKind.ACTIVITY or not rule.is_active(cart.placed_at):
        return False
    if c.channels and cart.channel not in c.channels:
        return False
    if c.min_order_amount is not None and cart.amount < c.min_order_amount:
        return False
    if c.days_of_week and local.isoweekday() not in c.days_of_week:
        return False
    if c.days_of_month and local.day not in c.days_of_month:
        return False
    if not _in_time_window(rule, local):
        return False
    if c.tier_ids and customer.tier_id not in c.tier_ids:
        return False
    if c.segment_id is not None and c.segment_id not in customer.segment_ids:
        return False
    if (c.first_order_only or rule.kind is RuleKind.FIRST_ORDER_BONUS) and not (
        customer.first_order
    ):
        return False
    return not (
        rule.kind is RuleKind.BIRTHDAY_MONTH
        and (customer.birthday is None or customer.birthday.month != local.month)
    )


def _line_picked(rule: EarningRule, sku: str | None, category: str | None) -> bool:
    c = rule.conditions
    if not c.picks_lines:
        return True
    return (sku is not None and sku in c.skus) or (
        category is not None and category in c.categories
    )


def rule_points(
    rule: EarningRule, eligible: Decimal, earn_rate: Decimal, tier_multiplier: Decimal
) -> int:
    """What the rule gives on `eligible` before budgets, floored."""
    tier = tier_multiplier if rule.tier_multiplied else Decimal(1)
    effect = rule.effect
    if effect.multiplier is not None:
        return floor(eligible * earn_rate * (effect.multiplier - 1) * tier)
    if rule.kind is RuleKind.POINTS_PER_AMOUNT and effect.per_amount and effect.points:
        wholes = (eligible / effect.per_amount).to_integral_value(rounding=ROUND_FLOOR)
        return floor(wholes * effect.points * tier)
    return floor(Decimal(effect.points or 0) * tier)


def evaluate(
    cart: Cart,
    customer: CustomerFacts,
    rules: Sequence[EarningRule],
    budgets: Mapping[int, BudgetLeft],
    *,
    earn_rate: Decimal,
    zone: ZoneInfo,
) -> Breakdown:
    """The order's points, line by line of the breakdown (see the module docstring)."""
    base_points = earned_points(cart.amount, earn_rate, customer.tier_multiplier)
    base = BreakdownLine(None, cart.amount, base_points, base_points)
    lines = line_amounts(cart)
    taken = [False] * len(lines)
    awarded: list[BreakdownLine] = []
    for rule in sorted(rules, key=lambda r: (-r.priority, r.id or 0)):
        if not order_conditions_hold(rule, cart, customer, zone):
            continue
        picked = [
            i
            for i, (sku, category, _) in enumerate(lines)
            if not taken[i] and _line_picked(rule, sku, category)
        ]
        if not picked:
            continue
        eligible = sum((lines[i][2] for i in picked), Decimal(0))
        wanted = rule_points(rule, eligible, earn_rate, customer.tier_multiplier)
        if wanted <= 0:
            continue
        given = budgets.get(rule.id or 0, BudgetLeft()).cap(wanted)
        awarded.append(
            BreakdownLine(rule.id, eligible.quantize(CENT, rounding=ROUND_HALF_EVEN), given, wanted)
        )
        if given > 0 and not rule.stackable:
            for i in picked:
                taken[i] = True
    return Breakdown(base, awarded)


def reversal_by_line(
    line_points: Sequence[int], amount: Decimal, refunded_before: Decimal, refund: Decimal
) -> list[int]:
    """What a refund takes back of each line of an order's breakdown: each line in
    proportion to the refunded share of the order, floored cumulatively on its own
    (so no line ever gives back more than it gave, and neither does the order)."""
    return [reversal_points(p, amount, refunded_before, refund) for p in line_points]
