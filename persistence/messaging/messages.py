"""Queued messages and their outcomes: the repository behind domain MESSAGES.

Claiming works as for webhook deliveries (persistence/webhooks.py): due QUEUED rows
are selected ``FOR UPDATE SKIP LOCKED`` and stamped with a lease in one short
transaction; the send happens after it commits. A row another worker is claiming is
skipped (its lock) and one it holds is excluded by its lease, so two workers never
hold one message at once. SQLite has one writer at a time and FOR UPDATE is a no-op
there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messaging.messages import (
    MESSAGES,
    Message,
    MessageOutcome,
    MessageStatus,
    Outcome,
)
from persistence.base import table_of
from persistence.messaging.rows import MessageOutcomeRow, MessageRow
from persistence.repositories import register
from persistence.statements import insert_ignoring_duplicates, rows_matched


def message_of(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        customer_id=row.customer_id,
        dedupe_key=row.dedupe_key,
        template_ids=tuple(row.template_ids or ()),
        campaign_id=row.campaign_id,
        variant=row.variant,
        variables=dict(row.variables or {}),
        marketing=row.marketing,
        status=MessageStatus(row.status),
        template_index=row.template_index,
        attempts=row.attempts,
        channel=row.channel,
        template_id=row.template_id,
        provider_message_id=row.provider_message_id,
        reason=row.reason,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        sent_at=row.sent_at,
        finished_at=row.finished_at,
    )


def outcome_of(row: MessageOutcomeRow) -> MessageOutcome:
    return MessageOutcome(
        id=row.id,
        message_id=row.message_id,
        customer_id=row.customer_id,
        outcome=Outcome(row.outcome),
        marketing=row.marketing,
        channel=row.channel,
        template_id=row.template_id,
        reason=row.reason,
        at=row.at,
    )


def _state(message: Message) -> dict[str, object]:
    return {
        "status": message.status.value,
        "template_index": message.template_index,
        "attempts": message.attempts,
        "channel": message.channel,
        "template_id": message.template_id,
        "provider_message_id": message.provider_message_id,
        "reason": message.reason,
        "next_attempt_at": message.next_attempt_at,
        "sent_at": message.sent_at,
        "finished_at": message.finished_at,
    }


class SqlMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: Message) -> tuple[Message, bool]:
        row = {
            "customer_id": message.customer_id,
            "dedupe_key": message.dedupe_key,
            "template_ids": list(message.template_ids),
            "campaign_id": message.campaign_id,
            "variant": message.variant,
            "variables": dict(message.variables),
            "marketing": message.marketing,
            "created_at": message.created_at,
            **_state(message),
        }
        new = await insert_ignoring_duplicates(self.session, table_of(MessageRow), [row])
        stored = (
            await self.session.execute(
                select(MessageRow).where(MessageRow.dedupe_key == message.dedupe_key)
            )
        ).scalar_one()
        return message_of(stored), new == 0

    async def claim_due(
        self, now: datetime, lease_until: datetime, worker: str, limit: int
    ) -> list[Message]:
        M = MessageRow
        statement = (
            select(M)
            .where(
                M.status == MessageStatus.QUEUED.value,
                M.next_attempt_at <= now,
                or_(M.locked_until.is_(None), M.locked_until <= now),
            )
            .order_by(M.next_attempt_at, M.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = list((await self.session.execute(statement)).scalars())
        if not rows:
            return []
        await self.session.execute(
            update(M)
            .where(M.id.in_([r.id for r in rows]))
            .values(locked_until=lease_until, locked_by=worker)
        )
        return [message_of(r) for r in rows]

    async def get(self, message_id: int, *, for_update: bool = False) -> Message | None:
        statement = select(MessageRow).where(MessageRow.id == message_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return message_of(row) if row else None

    async def save(self, message: Message) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id == message.id)
            .values(**_state(message), locked_until=None, locked_by=None)
        )

    async def release(self, message_ids: Sequence[int], worker: str) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id.in_(list(message_ids)), MessageRow.locked_by == worker)
            .values(locked_until=None, locked_by=None)
        )

    async def add_outcomes(self, outcomes: Sequence[MessageOutcome]) -> None:
        if not outcomes:
            return
        await self.session.execute(
            insert(MessageOutcomeRow),
            [
                {
                    "message_id": o.message_id,
                    "customer_id": o.customer_id,
                    "outcome": o.outcome.value,
                    "marketing": o.marketing,
                    "channel": o.channel,
                    "template_id": o.template_id,
                    "reason": o.reason,
                    "at": o.at,
                }
                for o in outcomes
            ],
        )

    async def marketing_sent_since(self, customer_id: int, since: datetime) -> int:
        R = MessageOutcomeRow
        statement = select(func.count()).where(
            R.customer_id == customer_id,
            R.outcome == Outcome.SENT.value,
            R.at > since,
            R.marketing.is_(True),
        )
        return (await self.session.execute(statement)).scalar_one()

    async def sent_on_channel_since(self, channel: str, since: datetime) -> int:
        R = MessageOutcomeRow
        statement = select(func.count()).where(
            R.channel == channel, R.outcome == Outcome.SENT.value, R.at > since
        )
        return (await self.session.execute(statement)).scalar_one()

    async def by_provider_id(self, channel: str, provider_message_id: str) -> Message | None:
        row = (
            await self.session.execute(
                select(MessageRow)
                .where(
                    MessageRow.channel == channel,
                    MessageRow.provider_message_id == provider_message_id,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        return message_of(row) if row else None

    async def reown(self, from_customer: int, to_customer: int) -> int:
        moved = await self.session.execute(
            update(MessageRow)
            .where(MessageRow.customer_id == from_customer)
            .values(customer_id=to_customer)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(MessageOutcomeRow)
            .where(MessageOutcomeRow.customer_id == from_customer)
            .values(customer_id=to_customer)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(moved)


register(MESSAGES, lambda tx: SqlMessageRepository(tx.session))
