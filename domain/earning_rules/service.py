"""Earning rules: the admin's upkeep, and the two steps an order's earning takes
around the pure `evaluate` (which `domain.orders.order_breakdown` calls) — gathering
the facts (`gather` for one order; `batch_facts` for a batch, carried in memory from
order to order; the budget rows locked when orders are being recorded) and keeping
the breakdowns (`keep_many`, budgets spent with them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Protocol

from domain.clock import Clock
from domain.customers import UNSET, Customer
from domain.earning_rules.evaluate import (
    Breakdown,
    BudgetLeft,
    Cart,
    CustomerFacts,
    order_conditions_hold,
)
from domain.earning_rules.model import (
    EarningRule,
    RuleFields,
    RuleKind,
    apply_fields,
    period_of,
)
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.program import ProgramSettings
from domain.tiers import earn_multiplier
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class KeptLine:
    """A stored line of an order's breakdown (rule_id None: the base points)."""

    rule_id: int | None
    eligible_amount: Decimal
    points: int


class EarningRuleRepository(Protocol):
    async def get(self, rule_id: int, *, for_update: bool = False) -> EarningRule | None: ...
    async def add(self, rule: EarningRule) -> EarningRule: ...
    async def save(self, rule: EarningRule) -> None: ...
    async def live(self) -> list[EarningRule]:
        """Every rule not archived, whatever its window."""
        ...

    async def lock_budgets(self, rule_ids: Sequence[int]) -> dict[int, int]:
        """Locks the rules' rows in id order; what each has given so far."""
        ...

    async def spend_budget(self, rule_id: int, points: int) -> None: ...
    async def customer_spent(
        self, rule_id: int, customer_id: int, start: datetime, end: datetime
    ) -> int:
        """Points the rule gave the customer on orders placed in [start, end)."""
        ...

    async def has_orders(self, customer_id: int) -> bool: ...
    async def with_orders(self, customer_ids: Sequence[int]) -> set[int]:
        """Which of the customers have an order (one query)."""
        ...

    async def customer_lines(
        self, rule_ids: Sequence[int], customer_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[tuple[int, int, datetime, int]]:
        """(rule id, customer id, placed at, points) of the rules' breakdown lines for
        these customers on orders placed in [start, end) (one query)."""
        ...

    async def unknown_references(
        self, tier_ids: Sequence[int], segment_id: int | None
    ) -> tuple[set[int], bool]:
        """The tier ids that name no tier, and whether the segment id names none."""
        ...

    async def segments_of(
        self, customer_id: int, segment_ids: Sequence[int], as_of: datetime
    ) -> frozenset[int]:
        """Which of the saved segments the customer is in as of `as_of` (one query)."""
        ...

    async def keep_breakdowns(self, lines: Sequence[tuple[int, int, datetime, KeptLine]]) -> None:
        """Stores breakdown lines, each with its (order id, customer id, placed at)."""
        ...

    async def breakdown_of(self, order_id: int) -> list[KeptLine]: ...


EARNING_RULES: Port[EarningRuleRepository] = Port("earning_rules")


async def customer_facts(
    uow: UnitOfWork,
    customer: Customer | None,
    at: datetime,
    segment_ids: Sequence[int],
) -> CustomerFacts:
    """The customer as the order finds them. None (a customer this order creates,
    or an unknown one in a preview): no tier, no orders, in no saved segment."""
    if customer is None or customer.id is None:
        birthday = customer.birthday if customer is not None else None
        return CustomerFacts(birthday=birthday)
    repo = uow.repo(EARNING_RULES)
    return CustomerFacts(
        tier_id=customer.stats.tier_id if customer.stats else None,
        tier_multiplier=await earn_multiplier(uow, customer.id),
        birthday=customer.birthday,
        first_order=not await repo.has_orders(customer.id),
        segment_ids=(
            await repo.segments_of(customer.id, segment_ids, at) if segment_ids else frozenset()
        ),
    )


def _utc_bounds(
    rule: EarningRule, at: datetime, program: ProgramSettings
) -> tuple[datetime, datetime]:
    period = rule.budget.per_customer_period
    assert period is not None
    zone = program.zone
    start, end = period_of(at.astimezone(zone).date(), period)
    return (
        datetime.combine(start, time(), tzinfo=zone),
        datetime.combine(end, time(), tzinfo=zone),
    )


@dataclass(frozen=True)
class Gathered:
    """What `evaluate` needs besides the cart: the rules whose order conditions hold,
    the customer's facts, what is left of each rule's budgets."""

    rules: list[EarningRule]
    facts: CustomerFacts
    budgets: dict[int, BudgetLeft]


async def gather(
    uow: UnitOfWork,
    cart: Cart,
    customer: Customer | None,
    program: ProgramSettings,
    *,
    lock: bool,
    live: Sequence[EarningRule] | None = None,
) -> Gathered:
    """The facts of the order's decision, read now (`live`: the rules not archived,
    when the caller has read them already). With `lock` (recording), the budget rows
    of the rules that apply are locked until the transaction ends, so concurrent
    orders queue on them and never overspend; the caller must keep what the decision
    gives. Customer budgets rest on the customer's lock, which the order already
    holds."""
    repo = uow.repo(EARNING_RULES)
    rules = [r for r in (live if live is not None else await repo.live())]
    rules = [r for r in rules if r.is_active(cart.placed_at)]
    segment_ids = sorted({r.conditions.segment_id for r in rules if r.conditions.segment_id})
    facts = await customer_facts(uow, customer, cart.placed_at, segment_ids)
    rules = [r for r in rules if order_conditions_hold(r, cart, facts, program.zone)]
    budgeted = sorted(r.id for r in rules if r.budget.total_points is not None and r.id)
    spent: dict[int, int] = {}
    if budgeted:
        if lock:
            spent = await repo.lock_budgets(budgeted)
        else:
            spent = {r.id: r.budget_used for r in rules if r.id in budgeted}
    budgets: dict[int, BudgetLeft] = {}
    for rule in rules:
        rule_id = rule.id or 0
        total_left = None
        if rule.budget.total_points is not None:
            total_left = max(rule.budget.total_points - spent.get(rule_id, 0), 0)
        customer_left = None
        if rule.budget.per_customer_points is not None:
            used = 0
            if customer is not None and customer.id is not None:
                start, end = _utc_bounds(rule, cart.placed_at, program)
                used = await repo.customer_spent(rule_id, customer.id, start, end)
            customer_left = max(rule.budget.per_customer_points - used, 0)
        budgets[rule_id] = BudgetLeft(total_left, customer_left)
    return Gathered(rules, facts, budgets)


@dataclass
class BatchFacts:
    """The earning rules' facts for a whole batch of orders, read in a fixed number of
    statements (`batch_facts`) and then carried in memory: each order decided in the
    batch takes its share (`took`), so the next one sees the budgets, and the first
    order, as `gather` would read them after the earlier orders were written. Only
    for rules that name no saved segment (membership depends on the orders before)."""

    rules: list[EarningRule]
    spent: dict[int, int]  # what each budgeted rule has given in all
    lines: list[tuple[int, int, datetime, int]]  # (rule, customer, placed at, points)
    ordered: set[int]  # customers with an order

    def gathered(
        self,
        cart: Cart,
        customer: Customer,
        tier_id: int | None,
        multiplier: Decimal,
        program: ProgramSettings,
    ) -> Gathered:
        """What `gather` would find for this order now (customer: as the batch holds
        them, with its id)."""
        facts = CustomerFacts(
            tier_id=tier_id,
            tier_multiplier=multiplier,
            birthday=customer.birthday,
            first_order=customer.id not in self.ordered,
        )
        rules = [
            r
            for r in self.rules
            if r.is_active(cart.placed_at) and order_conditions_hold(r, cart, facts, program.zone)
        ]
        budgets: dict[int, BudgetLeft] = {}
        for rule in rules:
            rule_id = rule.id or 0
            total_left = None
            if rule.budget.total_points is not None:
                total_left = max(rule.budget.total_points - self.spent.get(rule_id, 0), 0)
            customer_left = None
            if rule.budget.per_customer_points is not None:
                start, end = _utc_bounds(rule, cart.placed_at, program)
                used = sum(
                    points
                    for line_rule, who, at, points in self.lines
                    if line_rule == rule_id and who == customer.id and start <= at < end
                )
                customer_left = max(rule.budget.per_customer_points - used, 0)
            budgets[rule_id] = BudgetLeft(total_left, customer_left)
        return Gathered(rules, facts, budgets)

    def took(self, customer_id: int, placed_at: datetime, breakdown: Breakdown | None) -> None:
        """The customer now has an order; its rule lines spend the budgets."""
        self.ordered.add(customer_id)
        for line in breakdown.awarded if breakdown is not None else []:
            if line.rule_id is not None:
                self.spent[line.rule_id] = self.spent.get(line.rule_id, 0) + line.points
                self.lines.append((line.rule_id, customer_id, placed_at, line.points))


def uses_segments(rules: Sequence[EarningRule]) -> bool:
    return any(r.conditions.segment_id is not None for r in rules)


async def batch_facts(
    uow: UnitOfWork,
    rules: Sequence[EarningRule],
    customer_ids: Sequence[int],
    placed: Sequence[datetime],
    program: ProgramSettings,
) -> BatchFacts:
    """The facts of a batch's orders (`placed`: their instants) for its customers,
    already locked: the budgeted rules' rows locked in id order (what they gave),
    which customers have an order, and the lines of the rules with customer budgets
    over every period the orders fall in. Before the batch's orders are written."""
    repo = uow.repo(EARNING_RULES)
    budgeted = sorted(r.id for r in rules if r.id is not None and r.budget.total_points is not None)
    spent = await repo.lock_budgets(budgeted) if budgeted else {}
    ordered = await repo.with_orders(customer_ids) if customer_ids else set()
    capped = [r for r in rules if r.id is not None and r.budget.per_customer_points is not None]
    lines: list[tuple[int, int, datetime, int]] = []
    if capped and customer_ids and placed:
        bounds = [_utc_bounds(r, at, program) for r in capped for at in placed]
        lines = await repo.customer_lines(
            sorted(present(r.id, "rule id") for r in capped),
            customer_ids,
            min(b[0] for b in bounds),
            max(b[1] for b in bounds),
        )
    return BatchFacts(list(rules), dict(spent), lines, set(ordered))


@dataclass(frozen=True)
class KeptBreakdown:
    """An order's breakdown to keep (`keep_many`)."""

    order_id: int
    customer_id: int
    placed_at: datetime
    breakdown: Breakdown


async def keep_many(uow: UnitOfWork, kept: Sequence[KeptBreakdown]) -> None:
    """Stores what the orders earned, line by line (one multi-row insert), and spends
    the rules' budgets (one update per rule that gave points)."""
    if not kept:
        return
    repo = uow.repo(EARNING_RULES)
    await repo.keep_breakdowns(
        [
            (
                k.order_id,
                k.customer_id,
                k.placed_at,
                KeptLine(line.rule_id, line.eligible_amount, line.points),
            )
            for k in kept
            for line in k.breakdown.awarded
        ]
    )
    spent: dict[int, int] = {}
    for k in kept:
        for line in k.breakdown.awarded:
            if line.rule_id is not None:
                spent[line.rule_id] = spent.get(line.rule_id, 0) + line.points
    for rule_id in sorted(spent):
        await repo.spend_budget(rule_id, spent[rule_id])


def reversal_parts(points_earned: int, kept: Sequence[KeptLine]) -> list[int]:
    """The order's points split as its breakdown gave them: the rules' points, and
    the base as the rest (an order kept before rules existed is all base)."""
    rule_points = [line.points for line in kept if line.rule_id is not None]
    return [points_earned - sum(rule_points), *rule_points]


async def _check_references(uow: UnitOfWork, rule: EarningRule) -> None:
    c = rule.conditions
    if not c.tier_ids and c.segment_id is None:
        return
    tiers, segment = await uow.repo(EARNING_RULES).unknown_references(c.tier_ids, c.segment_id)
    errors = ErrorCollector()
    for index, tier_id in enumerate(c.tier_ids):
        if tier_id in tiers:
            errors.add(
                ErrorCode.NOT_FOUND, ("conditions", "tier_ids", str(index)), "No tier has this id."
            )
    if segment:
        errors.add(
            ErrorCode.NOT_FOUND, ("conditions", "segment_id"), "No saved segment has this id."
        )
    errors.raise_if_any()


class EarningRuleService:
    """Rule upkeep by an admin. Archiving keeps the row (orders' breakdowns name it);
    an archived rule never applies again."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, fields: RuleFields) -> EarningRule:
        now = self.clock.now()
        errors = ErrorCollector()
        for name in ("name", "kind"):
            if getattr(fields, name) in (UNSET, None):
                errors.add(ErrorCode.REQUIRED, (name,), f"{name} is required.")
        errors.raise_if_any()
        draft = EarningRule(id=None, name="", kind=RuleKind(fields.kind))
        rule = apply_fields(draft, fields, errors)
        errors.raise_if_any()
        async with self.uow_factory() as uow:
            await _check_references(uow, rule)
            rule.created_at = rule.updated_at = now
            rule = await uow.repo(EARNING_RULES).add(rule)
            await uow.commit()
        return rule

    async def update(self, rule_id: int, fields: RuleFields) -> EarningRule:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            current = await uow.repo(EARNING_RULES).get(rule_id, for_update=True)
            if current is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No earning rule has this id.")
            errors = ErrorCollector()
            for name in ("name", "kind", "priority", "stackable", "tier_multiplied"):
                if getattr(fields, name) is None:
                    errors.add(ErrorCode.REQUIRED, (name,), f"{name} cannot be null.")
            errors.raise_if_any()
            rule = apply_fields(current, fields, errors)
            errors.raise_if_any()
            await _check_references(uow, rule)
            rule.updated_at = now
            await uow.repo(EARNING_RULES).save(rule)
            await uow.commit()
        return rule

    async def archive(self, rule_id: int) -> EarningRule:
        async with self.uow_factory() as uow:
            rule = await uow.repo(EARNING_RULES).get(rule_id, for_update=True)
            if rule is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No earning rule has this id.")
            if rule.archived_at is None:
                rule.archived_at = rule.updated_at = self.clock.now()
                await uow.repo(EARNING_RULES).save(rule)
            await uow.commit()
        return rule
