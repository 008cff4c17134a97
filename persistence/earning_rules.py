"""Earning rules (a small shared table: each row's `budget_used` is the one row
concurrent orders queue on) and each order's points breakdown (customer-owned)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.earning_rules.model import (
    ActivityPeriod,
    ActivitySpec,
    Budget,
    BudgetPeriod,
    Conditions,
    EarningRule,
    Effect,
    RuleKind,
)
from domain.earning_rules.service import EARNING_RULES, KeptLine
from domain.points import EntryKind
from domain.program import ProgramSettings
from domain.segment_rules import Rule, RuleErrors, parse_rule
from domain.segments import Segment
from persistence.base import Base, table_of
from persistence.classification import classification_query
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.points import LedgerEntryRow
from persistence.program import load_program
from persistence.repositories import register
from persistence.segments.compiler import RuleContext, rule_clause, with_classification
from persistence.segments.reads import segments_by_ids
from persistence.statements import dialect_name, insert_rows
from persistence.tiers import TierRow
from persistence.types import BigId, JsonDocument, UtcDateTime

MONEY = Numeric(18, 2)


class EarningRuleRow(Base):
    __tablename__ = "earning_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    points: Mapped[int | None] = mapped_column(Integer)
    per_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    priority: Mapped[int] = mapped_column(Integer)
    stackable: Mapped[bool] = mapped_column(Boolean)
    tier_multiplied: Mapped[bool] = mapped_column(Boolean)
    budget_total: Mapped[int | None] = mapped_column(Integer)
    budget_used: Mapped[int] = mapped_column(Integer, default=0)
    budget_per_customer: Mapped[int | None] = mapped_column(Integer)
    budget_period: Mapped[str | None] = mapped_column(String(8))
    # ACTIVITY rules: the action they reward, its limit and its streak bonus.
    activity_type: Mapped[str | None] = mapped_column(String(64))
    activity_limit_count: Mapped[int | None] = mapped_column(Integer)
    activity_limit_period: Mapped[str | None] = mapped_column(String(8))
    streak_days: Mapped[int | None] = mapped_column(Integer)
    streak_points: Mapped[int | None] = mapped_column(Integer)
    active_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # The last line of defence against overspending, whatever the code does.
        CheckConstraint(
            "budget_total IS NULL OR budget_used <= budget_total", name="budget_not_exceeded"
        ),
    )


class OrderPointsLineRow(Base):
    """One line of an order's points breakdown: the base (rule_id null) or a rule."""

    __tablename__ = "order_points_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    rule_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("earning_rules.id"))
    eligible_amount: Mapped[Decimal] = mapped_column(MONEY)
    points: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # A customer's budget per period: Σ points of one rule over a placed-at range.
        Index(
            "ix_order_points_lines_rule_id_customer_id_placed_at",
            "rule_id",
            "customer_id",
            "placed_at",
        ),
    )


def _conditions_document(c: Conditions) -> dict[str, Any]:
    return {
        "channels": list(c.channels),
        "skus": list(c.skus),
        "categories": list(c.categories),
        "minOrderAmount": None if c.min_order_amount is None else str(c.min_order_amount),
        "daysOfWeek": list(c.days_of_week),
        "daysOfMonth": list(c.days_of_month),
        "timeFrom": None if c.time_from is None else c.time_from.isoformat(),
        "timeUntil": None if c.time_until is None else c.time_until.isoformat(),
        "tierIds": list(c.tier_ids),
        "segmentId": c.segment_id,
        "firstOrderOnly": c.first_order_only,
    }


def _conditions(doc: dict[str, Any]) -> Conditions:
    def instant(value: str | None) -> time | None:
        return None if value is None else time.fromisoformat(value)

    amount = doc.get("minOrderAmount")
    return Conditions(
        channels=tuple(doc.get("channels", ())),
        skus=tuple(doc.get("skus", ())),
        categories=tuple(doc.get("categories", ())),
        min_order_amount=None if amount is None else Decimal(amount),
        days_of_week=tuple(doc.get("daysOfWeek", ())),
        days_of_month=tuple(doc.get("daysOfMonth", ())),
        time_from=instant(doc.get("timeFrom")),
        time_until=instant(doc.get("timeUntil")),
        tier_ids=tuple(doc.get("tierIds", ())),
        segment_id=doc.get("segmentId"),
        first_order_only=bool(doc.get("firstOrderOnly", False)),
    )


def rule_to_domain(row: EarningRuleRow) -> EarningRule:
    return EarningRule(
        id=row.id,
        name=row.name,
        kind=RuleKind(row.kind),
        conditions=_conditions(row.conditions),
        effect=Effect(
            multiplier=None if row.multiplier is None else Decimal(row.multiplier),
            points=row.points,
            per_amount=None if row.per_amount is None else Decimal(row.per_amount),
        ),
        budget=Budget(
            total_points=row.budget_total,
            per_customer_points=row.budget_per_customer,
            per_customer_period=None
            if row.budget_period is None
            else BudgetPeriod(row.budget_period),
        ),
        activity=(
            None
            if row.activity_type is None
            else ActivitySpec(
                type=row.activity_type,
                limit_count=row.activity_limit_count,
                limit_period=(
                    None
                    if row.activity_limit_period is None
                    else ActivityPeriod(row.activity_limit_period)
                ),
                streak_days=row.streak_days,
                streak_points=row.streak_points,
            )
        ),
        priority=row.priority,
        stackable=row.stackable,
        tier_multiplied=row.tier_multiplied,
        active_from=row.active_from,
        active_until=row.active_until,
        budget_used=row.budget_used,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _values(rule: EarningRule) -> dict[str, Any]:
    activity = rule.activity
    return {
        "name": rule.name,
        "kind": rule.kind.value,
        "conditions": _conditions_document(rule.conditions),
        "multiplier": rule.effect.multiplier,
        "points": rule.effect.points,
        "per_amount": rule.effect.per_amount,
        "priority": rule.priority,
        "stackable": rule.stackable,
        "tier_multiplied": rule.tier_multiplied,
        "budget_total": rule.budget.total_points,
        "budget_per_customer": rule.budget.per_customer_points,
        "budget_period": (
            None
            if rule.budget.per_customer_period is None
            else rule.budget.per_customer_period.value
        ),
        "activity_type": activity.type if activity else None,
        "activity_limit_count": activity.limit_count if activity else None,
        "activity_limit_period": (
            activity.limit_period.value if activity and activity.limit_period else None
        ),
        "streak_days": activity.streak_days if activity else None,
        "streak_points": activity.streak_points if activity else None,
        "active_from": rule.active_from,
        "active_until": rule.active_until,
        "archived_at": rule.archived_at,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def _parsed(segment: Segment) -> Rule | None:
    """A saved segment's rule; one that no longer parses matches nobody."""
    try:
        return parse_rule(segment.rule)
    except RuleErrors:
        return None


class SqlEarningRuleRepository:
    def __init__(self, session: AsyncSession, defaults: ProgramSettings) -> None:
        self.session = session
        self.defaults = defaults

    async def get(self, rule_id: int, *, for_update: bool = False) -> EarningRule | None:
        statement = select(EarningRuleRow).where(EarningRuleRow.id == rule_id)
        if for_update:
            statement = statement.with_for_update()
        row = (
            await self.session.execute(statement.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        return rule_to_domain(row) if row else None

    async def add(self, rule: EarningRule) -> EarningRule:
        row = EarningRuleRow(**_values(rule), budget_used=rule.budget_used)
        self.session.add(row)
        await self.session.flush()
        rule.id = row.id
        return rule

    async def save(self, rule: EarningRule) -> None:
        # budget_used is only ever changed by spend_budget (under the row's lock).
        await self.session.execute(
            update(EarningRuleRow).where(EarningRuleRow.id == rule.id).values(**_values(rule))
        )

    async def live(self) -> list[EarningRule]:
        rows = await self.session.execute(
            select(EarningRuleRow)
            .where(EarningRuleRow.archived_at.is_(None))
            .order_by(EarningRuleRow.id)
            .execution_options(populate_existing=True)
        )
        return [rule_to_domain(r) for r in rows.scalars()]

    async def lock_budgets(self, rule_ids: Sequence[int]) -> dict[int, int]:
        rows = await self.session.execute(
            select(EarningRuleRow.id, EarningRuleRow.budget_used)
            .where(EarningRuleRow.id.in_(sorted(rule_ids)))
            .order_by(EarningRuleRow.id)
            .with_for_update()
        )
        return {row[0]: row[1] for row in rows.all()}

    async def spend_budget(self, rule_id: int, points: int) -> None:
        await self.session.execute(
            update(EarningRuleRow)
            .where(EarningRuleRow.id == rule_id)
            .values(budget_used=EarningRuleRow.budget_used + points)
        )

    async def customer_spent(
        self, rule_id: int, customer_id: int, start: datetime, end: datetime
    ) -> int:
        spent = (
            await self.session.execute(
                select(func.coalesce(func.sum(OrderPointsLineRow.points), 0)).where(
                    OrderPointsLineRow.rule_id == rule_id,
                    OrderPointsLineRow.customer_id == customer_id,
                    OrderPointsLineRow.placed_at >= start,
                    OrderPointsLineRow.placed_at < end,
                )
            )
        ).scalar_one()
        return int(spent)

    async def has_orders(self, customer_id: int) -> bool:
        found = (
            await self.session.execute(
                select(OrderRow.id).where(OrderRow.customer_id == customer_id).limit(1)
            )
        ).first()
        return found is not None

    async def with_orders(self, customer_ids: Sequence[int]) -> set[int]:
        rows = await self.session.execute(
            select(OrderRow.customer_id).where(OrderRow.customer_id.in_(customer_ids)).distinct()
        )
        return set(rows.scalars())

    async def customer_lines(
        self, rule_ids: Sequence[int], customer_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[tuple[int, int, datetime, int]]:
        rows = await self.session.execute(
            select(
                OrderPointsLineRow.rule_id,
                OrderPointsLineRow.customer_id,
                OrderPointsLineRow.placed_at,
                OrderPointsLineRow.points,
            )
            .where(
                OrderPointsLineRow.rule_id.in_(rule_ids),
                OrderPointsLineRow.customer_id.in_(customer_ids),
                OrderPointsLineRow.placed_at >= start,
                OrderPointsLineRow.placed_at < end,
            )
            .order_by(OrderPointsLineRow.id)
        )
        return [(int(r[0] or 0), int(r[1]), r[2], int(r[3])) for r in rows.all()]

    async def unknown_references(
        self, tier_ids: Sequence[int], segment_id: int | None
    ) -> tuple[set[int], bool]:
        known: set[int] = set()
        if tier_ids:
            rows = await self.session.execute(select(TierRow.id).where(TierRow.id.in_(tier_ids)))
            known = set(rows.scalars())
        missing_segment = False
        if segment_id is not None:
            missing_segment = not await segments_by_ids(self.session, [segment_id])
        return set(tier_ids) - known, missing_segment

    async def segments_of(
        self, customer_id: int, segment_ids: Sequence[int], as_of: datetime
    ) -> frozenset[int]:
        segments = await segments_by_ids(self.session, segment_ids)
        rules = [
            (segment_id, rule)
            for segment_id, segment in sorted(segments.items())
            if (rule := _parsed(segment)) is not None
        ]
        if not rules:
            return frozenset()
        program = await load_program(self.session, self.defaults)
        needs_orders = any(rule.uses_orders for _, rule in rules)
        cls = classification_query(as_of, program).subquery("classification")
        ctx = RuleContext(as_of, program, dialect_name(self.session), cls if needs_orders else None)
        columns = [
            case((rule_clause(rule, ctx), 1), else_=0).label(f"s{index}")
            for index, (_, rule) in enumerate(rules)
        ]
        statement = with_classification(select(*columns).select_from(CustomerRow), ctx).where(
            CustomerRow.id == customer_id, CustomerRow.erased_at.is_(None)
        )
        row = (await self.session.execute(statement)).first()
        if row is None:
            return frozenset()
        return frozenset(segment_id for index, (segment_id, _) in enumerate(rules) if row[index])

    async def keep_breakdowns(self, lines: Sequence[tuple[int, int, datetime, KeptLine]]) -> None:
        if not lines:
            return
        await insert_rows(
            self.session,
            table_of(OrderPointsLineRow),
            [
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "rule_id": line.rule_id,
                    "eligible_amount": line.eligible_amount,
                    "points": line.points,
                    "placed_at": placed_at,
                }
                for order_id, customer_id, placed_at, line in lines
            ],
        )

    async def breakdown_of(self, order_id: int) -> list[KeptLine]:
        found = await breakdowns_of_orders(self.session, [order_id])
        return found[order_id]


# ---- reads for the API -------------------------------------------------------------

RULE_SORT = SortKey((EarningRuleRow.id,))


@dataclass(frozen=True)
class RuleFilter:
    active_at: datetime | None = None  # only rules in their window then, not archived
    include_archived: bool = False


def _filtered(statement: Any, criteria: RuleFilter) -> Any:
    if not criteria.include_archived or criteria.active_at is not None:
        statement = statement.where(EarningRuleRow.archived_at.is_(None))
    if criteria.active_at is not None:
        at = criteria.active_at
        statement = statement.where(
            or_(EarningRuleRow.active_from.is_(None), EarningRuleRow.active_from <= at),
            or_(EarningRuleRow.active_until.is_(None), EarningRuleRow.active_until > at),
        )
    return statement


async def list_rules(
    session: AsyncSession, criteria: RuleFilter, after: Sequence[Any] | None, first: int
) -> Page[EarningRule]:
    statement = keyset(_filtered(select(EarningRuleRow), criteria), RULE_SORT, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([rule_to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_rules(session: AsyncSession, criteria: RuleFilter) -> int:
    statement = _filtered(select(func.count()).select_from(EarningRuleRow), criteria)
    return int((await session.execute(statement)).scalar_one())


async def rules_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, EarningRule]:
    rows = await session.execute(select(EarningRuleRow).where(EarningRuleRow.id.in_(list(ids))))
    return {r.id: rule_to_domain(r) for r in rows.scalars()}


async def points_issued_by_rule(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[int, int]]:
    """(rule id, points) of the EARN and BONUS entries linked to a rule and made in
    [start, end), most points first."""
    total = func.sum(LedgerEntryRow.points)
    rows = await session.execute(
        select(LedgerEntryRow.rule_id, total)
        .where(
            LedgerEntryRow.rule_id.is_not(None),
            LedgerEntryRow.kind.in_([EntryKind.EARN.value, EntryKind.BONUS.value]),
            LedgerEntryRow.created_at >= start,
            LedgerEntryRow.created_at < end,
        )
        .group_by(LedgerEntryRow.rule_id)
        .order_by(total.desc(), LedgerEntryRow.rule_id)
    )
    return [(int(rule_id or 0), int(points or 0)) for rule_id, points in rows.all()]


async def breakdowns_of_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, list[KeptLine]]:
    rows = await session.execute(
        select(OrderPointsLineRow)
        .where(OrderPointsLineRow.order_id.in_(list(order_ids)))
        .order_by(OrderPointsLineRow.order_id, OrderPointsLineRow.id)
    )
    found: dict[int, list[KeptLine]] = {oid: [] for oid in order_ids}
    for r in rows.scalars():
        found[r.order_id].append(KeptLine(r.rule_id, Decimal(r.eligible_amount), r.points))
    return found


register(EARNING_RULES, lambda tx: SqlEarningRuleRepository(tx.session, tx.program_defaults))
