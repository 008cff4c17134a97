"""The daily triggers' state and their set-based reads (domain/daily_triggers.py).

Tables:
- ``daily_passes``: one row per (trigger, program-local day) claimed; the claim is
  the first write of the trigger's transaction (INSERT … ON CONFLICT DO NOTHING), so
  a second run that day, or a second worker at the same time, finds it taken.
- ``customer_stages``: each customer's lifecycle stage at the last pass (customers
  never stored are PROSPECTs, so prospects take no row).
- ``repurchase_reminders``: the orders a repurchase reminder was raised for.
- ``segment_members`` (persistence/segments/rows.py): tracked segments' snapshots.

Every read here is one statement over all customers (the lifecycle query of
persistence/classification.py, the segment rule compiler); writes are executemany
batches or INSERT … SELECT, never a statement per customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    and_,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.classification import LifecycleStage
from domain.daily_triggers import (
    DAILY,
    BirthdayCustomer,
    MembershipDiff,
    RepurchaseCandidate,
    StageChange,
)
from domain.program import ProgramSettings
from domain.segment_rules import Rule
from domain.segments import Segment
from persistence.base import Base
from persistence.classification import lifecycle_query
from persistence.customers import CustomerRow
from persistence.orders import OrderRow, counted
from persistence.repositories import register
from persistence.segments.compiler import members_statement, rule_context
from persistence.segments.rows import SegmentMemberRow, SegmentRow, to_domain
from persistence.statements import dialect_name, insert_ignoring_duplicates, is_postgresql
from persistence.types import BigId, UtcDateTime

BATCH = 1000
PROSPECT = LifecycleStage.PROSPECT.value


class DailyPassRow(Base):
    __tablename__ = "daily_passes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CustomerStageRow(Base):
    __tablename__ = "customer_stages"

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RepurchaseReminderRow(Base):
    __tablename__ = "repurchase_reminders"

    order_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId)
    reminded_at: Mapped[datetime] = mapped_column(UtcDateTime)


def _chunks(rows: Sequence[Any]) -> list[Sequence[Any]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


class SqlDailyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- claims ----------------------------------------------------------------------

    async def claim(self, name: str, local_day: date, at: datetime) -> bool:
        row = {"name": name, "local_date": local_day, "ran_at": at}
        table = DailyPassRow.__table__
        return await insert_ignoring_duplicates(self.session, table, [row]) == 1  # type: ignore[arg-type]

    async def has_run(self, name: str) -> bool:
        found = await self.session.execute(select(exists().where(DailyPassRow.name == name)))
        return bool(found.scalar_one())

    # ---- birthdays -------------------------------------------------------------------

    async def birthdays(self, month_days: Sequence[tuple[int, int]]) -> list[BirthdayCustomer]:
        month = extract("month", CustomerRow.birthday)
        day = extract("day", CustomerRow.birthday)
        statement = (
            select(CustomerRow.id, CustomerRow.birthday)
            .where(
                CustomerRow.erased_at.is_(None),
                CustomerRow.merged_into_id.is_(None),
                CustomerRow.birthday.is_not(None),
                or_(*(and_(month == m, day == d) for m, d in month_days)),
            )
            .order_by(CustomerRow.id)
        )
        rows = await self.session.execute(statement)
        return [
            BirthdayCustomer(customer_id, birthday) for customer_id, birthday in rows if birthday
        ]

    # ---- repurchase reminders --------------------------------------------------------

    async def repurchase_due(
        self, as_of: datetime, placed_from: datetime, placed_before: datetime
    ) -> list[RepurchaseCandidate]:
        """See the Protocol; of two last orders at the same instant, the lower id."""
        last = (
            lifecycle_query(as_of, ProgramSettings())
            .where(CustomerRow.erased_at.is_(None), CustomerRow.merged_into_id.is_(None))
            .subquery("last_orders")
        )
        order_id = func.min(OrderRow.id).label("order_id")
        statement = (
            select(last.c.customer_id, order_id, last.c.last_order_at)
            .join(
                OrderRow,
                and_(
                    OrderRow.customer_id == last.c.customer_id,
                    OrderRow.placed_at == last.c.last_order_at,
                    counted(),
                ),
            )
            .where(
                # Typed literals: the bounds are converted to UTC whatever their zone.
                last.c.last_order_at >= literal(placed_from, UtcDateTime()),
                last.c.last_order_at < literal(placed_before, UtcDateTime()),
            )
            .group_by(last.c.customer_id, last.c.last_order_at)
        ).subquery("due")
        reminded = exists().where(RepurchaseReminderRow.order_id == statement.c.order_id)
        rows = await self.session.execute(
            select(
                statement.c.customer_id,
                statement.c.order_id,
                OrderRow.external_id,
                OrderRow.placed_at,
            )
            .join(OrderRow, OrderRow.id == statement.c.order_id)
            .where(~reminded)
            .order_by(statement.c.customer_id)
        )
        return [RepurchaseCandidate(*row) for row in rows]

    async def remember_reminders(
        self, reminded: Sequence[RepurchaseCandidate], at: datetime
    ) -> None:
        for chunk in _chunks(reminded):
            await self.session.execute(
                insert(RepurchaseReminderRow),
                [
                    {"order_id": c.order_id, "customer_id": c.customer_id, "reminded_at": at}
                    for c in chunk
                ],
            )

    # ---- lifecycle stages ------------------------------------------------------------

    def _stages(self, as_of: datetime, program: ProgramSettings) -> Any:
        return (
            lifecycle_query(as_of, program)
            .where(CustomerRow.erased_at.is_(None), CustomerRow.merged_into_id.is_(None))
            .subquery("stages")
        )

    async def store_stage_baseline(
        self, as_of: datetime, program: ProgramSettings, at: datetime
    ) -> int:
        stages = self._stages(as_of, program)
        await self.session.execute(delete(CustomerStageRow))
        source = select(stages.c.customer_id, stages.c.lifecycle, literal(at, UtcDateTime())).where(
            stages.c.lifecycle != PROSPECT
        )
        await self.session.execute(
            insert(CustomerStageRow).from_select(["customer_id", "stage", "changed_at"], source)
        )
        counted_rows = await self.session.execute(
            select(func.count()).select_from(CustomerStageRow)
        )
        return int(counted_rows.scalar_one())

    async def stage_changes(self, as_of: datetime, program: ProgramSettings) -> list[StageChange]:
        stages = self._stages(as_of, program)
        stored = func.coalesce(CustomerStageRow.stage, PROSPECT)
        statement = (
            select(stages.c.customer_id, stored, stages.c.lifecycle, stages.c.last_order_at)
            .select_from(stages)
            .outerjoin(CustomerStageRow, CustomerStageRow.customer_id == stages.c.customer_id)
            .where(stored != stages.c.lifecycle)
            .order_by(stages.c.customer_id)
        )
        rows = await self.session.execute(statement)
        return [
            StageChange(customer_id, LifecycleStage(old), LifecycleStage(new), last_order_at)
            for customer_id, old, new, last_order_at in rows
        ]

    async def store_stages(self, changes: Sequence[StageChange], at: datetime) -> None:
        dialect = postgresql if is_postgresql(self.session) else sqlite
        for chunk in _chunks(changes):
            statement = dialect.insert(CustomerStageRow)
            statement = statement.on_conflict_do_update(
                index_elements=[CustomerStageRow.customer_id],
                set_={
                    "stage": statement.excluded.stage,
                    "changed_at": statement.excluded.changed_at,
                },
            )
            await self.session.execute(
                statement,
                [
                    {"customer_id": c.customer_id, "stage": c.to_stage.value, "changed_at": at}
                    for c in chunk
                ],
            )

    # ---- tracked segments ------------------------------------------------------------

    async def tracked_segments(self) -> list[Segment]:
        rows = await self.session.execute(
            select(SegmentRow).where(SegmentRow.tracked).order_by(SegmentRow.id)
        )
        return [to_domain(r) for r in rows.scalars()]

    def _members(self, rule: Rule, as_of: datetime, program: ProgramSettings) -> Any:
        ctx = rule_context(rule, as_of, program, dialect_name(self.session))
        return members_statement(rule, ctx, CustomerRow.id)

    async def store_membership_baseline(
        self, segment_id: int, rule: Rule, as_of: datetime, program: ProgramSettings
    ) -> int:
        await self.session.execute(
            delete(SegmentMemberRow).where(SegmentMemberRow.segment_id == segment_id)
        )
        members = self._members(rule, as_of, program).subquery("members")
        source = select(literal(segment_id, BigInteger()), members.c.id)
        await self.session.execute(
            insert(SegmentMemberRow).from_select(["segment_id", "customer_id"], source)
        )
        found = await self.session.execute(
            select(func.count()).where(SegmentMemberRow.segment_id == segment_id)
        )
        return int(found.scalar_one())

    async def membership_diff(
        self, segment_id: int, rule: Rule, as_of: datetime, program: ProgramSettings
    ) -> MembershipDiff:
        snapshot = select(SegmentMemberRow.customer_id).where(
            SegmentMemberRow.segment_id == segment_id
        )
        entered = self._members(rule, as_of, program).where(CustomerRow.id.not_in(snapshot))
        members = self._members(rule, as_of, program)
        exited = snapshot.where(SegmentMemberRow.customer_id.not_in(members))
        entered_ids = (await self.session.execute(entered.order_by(CustomerRow.id))).scalars()
        entered_list = list(entered_ids)
        exited_ids = await self.session.execute(exited.order_by(SegmentMemberRow.customer_id))
        return MembershipDiff(entered_list, list(exited_ids.scalars()))

    async def apply_membership_diff(self, segment_id: int, diff: MembershipDiff) -> None:
        for chunk in _chunks(diff.entered):
            await self.session.execute(
                insert(SegmentMemberRow),
                [{"segment_id": segment_id, "customer_id": c} for c in chunk],
            )
        for chunk in _chunks(diff.exited):
            await self.session.execute(
                delete(SegmentMemberRow).where(
                    SegmentMemberRow.segment_id == segment_id,
                    SegmentMemberRow.customer_id.in_(list(chunk)),
                )
            )

    async def mark_snapshot(self, segment_id: int, local_day: date) -> None:
        await self.session.execute(
            update(SegmentRow).where(SegmentRow.id == segment_id).values(snapshot_on=local_day)
        )


register(DAILY, lambda tx: SqlDailyRepository(tx.session))
