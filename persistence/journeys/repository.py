"""The journeys' repository: upkeep, the fan-out cursor, runs and their claims.

Claiming (several workers on PostgreSQL): `claim_due` selects one due WAITING run of
an ACTIVE journey `FOR UPDATE SKIP LOCKED`; the engine acts and marks it finished in
that same transaction, so a run another worker holds is skipped, and once committed
it is no longer WAITING. SQLite has one writer at a time (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import Event
from domain.journeys.model import Journey, JourneyStatus
from domain.journeys.ports import JOURNEYS
from domain.journeys.runs import JourneyRun, NewRun, RunStatus
from domain.program import ProgramSettings
from domain.segment_rules import parse_rule
from persistence import events as outbox
from persistence.base import table_of
from persistence.campaigns import CampaignAudienceRow
from persistence.coupons import CouponTemplateRow
from persistence.customers import CustomerRow
from persistence.earning_rules import EarningRuleRow
from persistence.journeys.mapping import journey_of, journey_values, run_of
from persistence.journeys.rows import JourneyCursorRow, JourneyRow, JourneyRunRow
from persistence.messaging.rows import MessageTemplateRow
from persistence.program import load_program
from persistence.repositories import register
from persistence.segments.compiler import members_statement, rule_context
from persistence.segments.rows import SegmentRow
from persistence.statements import dialect_name, insert_ignoring_duplicates

CURSOR_ID = 1


class SqlJourneyRepository:
    def __init__(self, session: AsyncSession, defaults: ProgramSettings) -> None:
        self.session = session
        self.defaults = defaults

    # ---- upkeep

    async def add(self, journey: Journey) -> Journey:
        row = JourneyRow(**journey_values(journey))
        self.session.add(row)
        await self.session.flush()
        journey.id = row.id
        return journey

    async def get(self, journey_id: int, *, for_update: bool = False) -> Journey | None:
        statement = select(JourneyRow).where(JourneyRow.id == journey_id)
        if for_update:
            statement = statement.with_for_update()
        statement = statement.execution_options(populate_existing=True)
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return journey_of(row) if row else None

    async def save(self, journey: Journey) -> None:
        await self.session.execute(
            update(JourneyRow)
            .where(JourneyRow.id == journey.id)
            .values(**journey_values(journey))
            .execution_options(synchronize_session=False)
        )

    async def existing(self, kind: str, ids: Sequence[int]) -> set[int]:
        wanted = list(ids)
        statement: Any
        if kind == "coupon_templates":
            statement = select(CouponTemplateRow.id).where(
                CouponTemplateRow.id.in_(wanted), CouponTemplateRow.archived_at.is_(None)
            )
        elif kind == "earning_rules":
            statement = select(EarningRuleRow.id).where(
                EarningRuleRow.id.in_(wanted), EarningRuleRow.archived_at.is_(None)
            )
        elif kind == "segments":
            statement = select(SegmentRow.id).where(SegmentRow.id.in_(wanted))
        elif kind == "message_templates":
            statement = select(MessageTemplateRow.id).where(
                MessageTemplateRow.id.in_(wanted), MessageTemplateRow.archived_at.is_(None)
            )
        else:
            raise ValueError(f"unknown reference kind {kind!r}")
        return set((await self.session.execute(statement)).scalars())

    async def skip_waiting(self, journey_id: int, reason: str, now: datetime) -> int:
        result = await self.session.execute(
            update(JourneyRunRow)
            .where(
                JourneyRunRow.journey_id == journey_id,
                JourneyRunRow.status == RunStatus.WAITING.value,
            )
            .values(status=RunStatus.SKIPPED.value, reason=reason, finished_at=now)
            .returning(JourneyRunRow.id)
        )
        return len(result.all())

    # ---- fan-out

    async def lock_cursor(self) -> tuple[bool, tuple[int, ...] | None]:
        statement = (
            select(JourneyCursorRow)
            .where(JourneyCursorRow.id == CURSOR_ID)
            .with_for_update(skip_locked=True)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        if row is None:
            return False, None
        return True, outbox.read_position(self.session, row.txid, row.event_id)

    async def events_after(
        self, cursor: tuple[int, ...] | None, limit: int
    ) -> list[tuple[Event, tuple[int, ...]]]:
        return await outbox.keyed_events_after(self.session, cursor, limit)

    async def save_cursor(self, cursor: tuple[int, ...]) -> None:
        await self.session.execute(
            update(JourneyCursorRow)
            .where(JourneyCursorRow.id == CURSOR_ID)
            .values(outbox.stored_position(self.session, cursor))
        )

    async def active(self) -> list[Journey]:
        rows = await self.session.execute(
            select(JourneyRow)
            .where(JourneyRow.status == JourneyStatus.ACTIVE.value)
            .order_by(JourneyRow.id)
        )
        return [journey_of(r) for r in rows.scalars()]

    async def matching(self, rule: str, customer_ids: Sequence[int], as_of: datetime) -> set[int]:
        checked = parse_rule(rule)
        program = await load_program(self.session, self.defaults)
        ctx = rule_context(checked, as_of, program, dialect_name(self.session))
        statement = members_statement(checked, ctx, CustomerRow.id).where(
            CustomerRow.id.in_(list(customer_ids))
        )
        return set((await self.session.execute(statement)).scalars())

    async def add_runs(self, runs: Sequence[NewRun], now: datetime) -> int:
        rows: list[dict[str, Any]] = [
            {
                "journey_id": r.journey_id,
                "customer_id": r.customer_id,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "arm": r.arm,
                "status": r.status.value,
                "reason": r.reason,
                "steps": [],
                "attempts": 0,
                "due_at": r.due_at,
                "created_at": now,
                "finished_at": None if r.status is RunStatus.WAITING else now,
            }
            for r in runs
        ]
        return await insert_ignoring_duplicates(self.session, table_of(JourneyRunRow), rows)

    # ---- acting

    async def claim_due(self, now: datetime) -> JourneyRun | None:
        R = JourneyRunRow
        active = select(JourneyRow.id).where(
            JourneyRow.id == R.journey_id, JourneyRow.status == JourneyStatus.ACTIVE.value
        )
        statement = (
            select(R)
            .where(R.status == RunStatus.WAITING.value, R.due_at <= now, active.exists())
            .order_by(R.due_at, R.id)
            .limit(1)
            .with_for_update(of=R, skip_locked=True)
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return run_of(row) if row else None

    async def save_run(self, run: JourneyRun) -> None:
        await self.session.execute(
            update(JourneyRunRow)
            .where(JourneyRunRow.id == run.id)
            .values(
                status=run.status.value,
                reason=run.reason,
                steps=[s.to_json() for s in run.steps],
                attempts=run.attempts,
                due_at=run.due_at,
                finished_at=run.finished_at,
            )
            .execution_options(synchronize_session=False)
        )

    async def run(self, run_id: int) -> JourneyRun | None:
        statement = (
            select(JourneyRunRow)
            .where(JourneyRunRow.id == run_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return run_of(row) if row else None

    async def customer_live(self, customer_id: int) -> bool:
        statement = select(CustomerRow.id).where(
            CustomerRow.id == customer_id,
            CustomerRow.erased_at.is_(None),
            CustomerRow.merged_into_id.is_(None),
        )
        return (await self.session.execute(statement)).first() is not None

    async def reown_runs(self, from_customer: int, to_customer: int) -> None:
        # (journey, customer, event) stays unique: an event is about one customer, so
        # the two customers' runs never share one.
        await self.session.execute(
            update(JourneyRunRow)
            .where(JourneyRunRow.customer_id == from_customer)
            .values(customer_id=to_customer)
            .execution_options(synchronize_session=False)
        )

    async def join_audience(self, campaign_id: int, customer_id: int, arm: str) -> None:
        await insert_ignoring_duplicates(
            self.session,
            table_of(CampaignAudienceRow),
            [{"campaign_id": campaign_id, "customer_id": customer_id, "arm": arm}],
        )


register(JOURNEYS, lambda tx: SqlJourneyRepository(tx.session, tx.program_defaults))
