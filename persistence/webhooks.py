"""Webhook subscriptions, deliveries, the fan-out cursor and the worker's day claims.

Claiming (several workers on PostgreSQL)
----------------------------------------
`claim_due` selects due deliveries ``FOR UPDATE SKIP LOCKED`` and stamps a lease
(`locked_until`, `locked_by`) in the same short transaction; the send happens after
it commits, outside any transaction. A row another worker is claiming is skipped
(its lock), and one it has claimed is excluded by the lease; PostgreSQL re-checks a
row's lease when it acquires its lock, so two workers never claim the same delivery
while a lease runs. Recording an outcome (`save_delivery`) ends the lease. The
lease outlives any send (its timeout is far shorter), so only a worker that died
mid-send lets a delivery be sent again, after its lease ends: at least once.

A delivery is due only if no earlier delivery (lower id) of the same subscription
and customer is still PENDING: per customer, one at a time and in outbox order.
Deliveries without a customer are not held back by anything.

SQLite has one writer at a time (``BEGIN IMMEDIATE``), `FOR UPDATE` is a no-op
there, and the README says to run one worker on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.daily import DAY_CLAIMS
from domain.events import Event
from domain.webhooks import (
    WEBHOOKS,
    Claimed,
    Delivery,
    DeliveryStatus,
    NewDelivery,
    Subscription,
)
from persistence import events as outbox
from persistence.base import Base, BigId, UtcDateTime, table_of
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.repositories import register
from persistence.statements import insert_ignoring_duplicates, is_postgresql, rows_matched
from persistence.types import JsonDocument

FANOUT_CURSOR_ID = 1


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JsonDocument)
    active: Mapped[bool] = mapped_column(Boolean)
    # Sealed (encrypted) with a key derived from LOYALTY_SECRET_KEY: domain/webhooks.py.
    secret_sealed: Mapped[str] = mapped_column(Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(BigId, ForeignKey("events.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_response_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index(
            "ix_webhook_deliveries_subscription_customer",
            "subscription_id",
            "customer_id",
            "status",
            "id",
        ),
        Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )


class WebhookCursorRow(Base):
    """The fan-out's position in the outbox: one row (id 1), made by the migration."""

    __tablename__ = "webhook_fanout_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    txid: Mapped[int | None] = mapped_column(BigInteger)
    event_id: Mapped[int | None] = mapped_column(BigInteger)


class WorkerDayRow(Base):
    """A program-local day whose daily pass a worker has claimed (and maybe finished)."""

    __tablename__ = "worker_days"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    worker: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


def subscription_of(row: WebhookSubscriptionRow) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=tuple(row.event_types or ()),
        active=row.active,
        secret_sealed=row.secret_sealed,
        previous_secret_sealed=row.previous_secret_sealed,
        previous_secret_expires_at=row.previous_secret_expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def delivery_of(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        customer_id=row.customer_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_response_code=row.last_response_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


class SqlWebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- subscriptions

    async def add_subscription(self, subscription: Subscription) -> Subscription:
        row = WebhookSubscriptionRow(
            url=subscription.url,
            description=subscription.description,
            event_types=list(subscription.event_types),
            active=subscription.active,
            secret_sealed=subscription.secret_sealed,
            previous_secret_sealed=subscription.previous_secret_sealed,
            previous_secret_expires_at=subscription.previous_secret_expires_at,
            created_at=subscription.created_at,
            updated_at=subscription.updated_at,
        )
        self.session.add(row)
        await self.session.flush()
        return subscription_of(row)

    async def subscription(
        self, subscription_id: int, *, for_update: bool = False
    ) -> Subscription | None:
        statement = select(WebhookSubscriptionRow).where(
            WebhookSubscriptionRow.id == subscription_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return subscription_of(row) if row else None

    async def save_subscription(self, subscription: Subscription) -> None:
        await self.session.execute(
            update(WebhookSubscriptionRow)
            .where(WebhookSubscriptionRow.id == subscription.id)
            .values(
                url=subscription.url,
                description=subscription.description,
                event_types=list(subscription.event_types),
                active=subscription.active,
                secret_sealed=subscription.secret_sealed,
                previous_secret_sealed=subscription.previous_secret_sealed,
                previous_secret_expires_at=subscription.previous_secret_expires_at,
                updated_at=subscription.updated_at,
            )
        )

    async def delete_subscription(self, subscription_id: int) -> None:
        # Deliveries first: SQLite enforces ON DELETE CASCADE only with foreign keys on,
        # which every connection here has, but say it plainly.
        await self.session.execute(
            delete(WebhookDeliveryRow).where(WebhookDeliveryRow.subscription_id == subscription_id)
        )
        await self.session.execute(
            delete(WebhookSubscriptionRow).where(WebhookSubscriptionRow.id == subscription_id)
        )

    async def active_subscriptions(self) -> list[Subscription]:
        rows = await self.session.execute(
            select(WebhookSubscriptionRow)
            .where(WebhookSubscriptionRow.active.is_(True))
            .order_by(WebhookSubscriptionRow.id)
        )
        return [subscription_of(r) for r in rows.scalars()]

    # ---- fan-out

    async def lock_fanout_cursor(self) -> tuple[bool, tuple[int, ...] | None]:
        statement = (
            select(WebhookCursorRow)
            .where(WebhookCursorRow.id == FANOUT_CURSOR_ID)
            .with_for_update(skip_locked=True)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        if row is None:
            return False, None
        return True, outbox.read_position(self.session, row.txid, row.event_id)

    async def events_after(
        self, cursor: tuple[int, ...] | None, limit: int
    ) -> list[tuple[Event, tuple[int, ...]]]:
        # The `events` API's own reader: the same order and the same horizon, so the
        # fan-out never skips an event whose transaction commits late.
        return await outbox.keyed_events_after(self.session, cursor, limit)

    async def save_fanout_cursor(self, cursor: tuple[int, ...]) -> None:
        await self.session.execute(
            update(WebhookCursorRow)
            .where(WebhookCursorRow.id == FANOUT_CURSOR_ID)
            .values(outbox.stored_position(self.session, cursor))
        )

    async def add_deliveries(self, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        if not deliveries:
            return 0
        await self.session.execute(
            insert(WebhookDeliveryRow),
            [
                {
                    "subscription_id": d.subscription_id,
                    "event_id": d.event_id,
                    "event_type": d.event_type,
                    "customer_id": d.customer_id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "failures": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for d in deliveries
            ],
        )
        return len(deliveries)

    async def replay(
        self, subscription: Subscription, since: datetime, now: datetime, limit: int
    ) -> int:
        cursor_row = (
            await self.session.execute(
                select(WebhookCursorRow).where(WebhookCursorRow.id == FANOUT_CURSOR_ID)
            )
        ).scalar_one()
        postgresql = is_postgresql(self.session)
        key = outbox.read_position(self.session, cursor_row.txid, cursor_row.event_id)
        if key is None:
            return 0
        E = outbox.EventRow
        statement = select(E.id, E.type, E.customer_id).where(
            E.occurred_at >= since, E.type.in_(list(subscription.event_types))
        )
        if postgresql:
            statement = statement.where(
                or_(E.txid < key[0], and_(E.txid == key[0], E.id <= key[1]))
            ).order_by(E.txid, E.id)
        else:
            statement = statement.where(E.id <= key[0]).order_by(E.id)
        rows = (await self.session.execute(statement.limit(limit))).all()
        if subscription.id is None:
            return 0
        return await self.add_deliveries(
            [NewDelivery(subscription.id, r.id, r.type, r.customer_id) for r in rows], now
        )

    # ---- sending

    async def claim_due(
        self, now: datetime, lease_until: datetime, worker: str, limit: int
    ) -> list[Claimed]:
        D = WebhookDeliveryRow
        earlier = aliased(WebhookDeliveryRow)
        S = WebhookSubscriptionRow
        blocked = exists().where(
            earlier.subscription_id == D.subscription_id,
            earlier.customer_id == D.customer_id,
            earlier.status == DeliveryStatus.PENDING.value,
            earlier.id < D.id,
        )
        active = exists().where(S.id == D.subscription_id, S.active.is_(True))
        statement = (
            select(D)
            .where(
                D.status == DeliveryStatus.PENDING.value,
                D.next_attempt_at <= now,
                or_(D.locked_until.is_(None), D.locked_until <= now),
                active,
                ~blocked,
            )
            .order_by(D.next_attempt_at, D.id)
            .limit(limit)
            .with_for_update(of=D, skip_locked=True)
        )
        rows = list((await self.session.execute(statement)).scalars())
        if not rows:
            return []
        ids = [r.id for r in rows]
        await self.session.execute(
            update(D).where(D.id.in_(ids)).values(locked_until=lease_until, locked_by=worker)
        )
        subscriptions = {
            r.id: subscription_of(r)
            for r in (
                await self.session.execute(
                    select(S).where(S.id.in_({r.subscription_id for r in rows}))
                )
            ).scalars()
        }
        events = await outbox.events_by_ids(self.session, [r.event_id for r in rows])
        return [
            Claimed(delivery_of(r), subscriptions[r.subscription_id], events[r.event_id])
            for r in rows
        ]

    async def delivery(self, delivery_id: int, *, for_update: bool = False) -> Delivery | None:
        statement = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return delivery_of(row) if row else None

    async def save_delivery(self, delivery: Delivery) -> None:
        await self.session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.id == delivery.id)
            .values(
                status=delivery.status.value,
                attempts=delivery.attempts,
                failures=delivery.failures,
                next_attempt_at=delivery.next_attempt_at,
                last_attempt_at=delivery.last_attempt_at,
                last_response_code=delivery.last_response_code,
                last_error=delivery.last_error,
                delivered_at=delivery.delivered_at,
                locked_until=None,
                locked_by=None,
            )
        )

    async def release(self, delivery_ids: Sequence[int], worker: str) -> None:
        await self.session.execute(
            update(WebhookDeliveryRow)
            .where(
                WebhookDeliveryRow.id.in_(list(delivery_ids)),
                WebhookDeliveryRow.locked_by == worker,
            )
            .values(locked_until=None, locked_by=None)
        )


class SqlDayClaimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, day: date, worker: str, now: datetime, stale_before: datetime) -> bool:
        key = day.isoformat()
        row = {"day": key, "worker": worker, "claimed_at": now, "finished_at": None}
        if await insert_ignoring_duplicates(self.session, table_of(WorkerDayRow), [row]):
            return True
        taken = await self.session.execute(
            update(WorkerDayRow)
            .where(
                WorkerDayRow.day == key,
                WorkerDayRow.finished_at.is_(None),
                WorkerDayRow.claimed_at < stale_before,
            )
            .values(worker=worker, claimed_at=now)
        )
        return rows_matched(taken) == 1

    async def finish(self, day: date, worker: str, now: datetime) -> None:
        await self.session.execute(
            update(WorkerDayRow).where(WorkerDayRow.day == day.isoformat()).values(finished_at=now)
        )


# ---- reads for the API -------------------------------------------------------------

SUBSCRIPTION_ORDER = SortKey((WebhookSubscriptionRow.id,))
DELIVERY_ORDER = SortKey((WebhookDeliveryRow.id,), descending=True)


async def subscriptions_page(
    session: AsyncSession, after: Sequence[Any] | None, first: int
) -> Page[Subscription]:
    statement = keyset(select(WebhookSubscriptionRow), SUBSCRIPTION_ORDER, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([subscription_of(r) for r in page.items], page.keys, page.has_next)


async def count_subscriptions(session: AsyncSession) -> int:
    return (
        await session.execute(select(func.count()).select_from(WebhookSubscriptionRow))
    ).scalar_one()


async def subscriptions_by_ids(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, Subscription]:
    rows = await session.execute(
        select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.id.in_(list(ids)))
    )
    return {r.id: subscription_of(r) for r in rows.scalars()}


def _delivery_filter(subscription_id: int | None, status: DeliveryStatus | None) -> list[Any]:
    where: list[Any] = []
    if subscription_id is not None:
        where.append(WebhookDeliveryRow.subscription_id == subscription_id)
    if status is not None:
        where.append(WebhookDeliveryRow.status == status.value)
    return where or [literal(True)]


async def deliveries_page(
    session: AsyncSession,
    subscription_id: int | None,
    status: DeliveryStatus | None,
    after: Sequence[Any] | None,
    first: int,
) -> Page[Delivery]:
    """Newest first."""
    statement = select(WebhookDeliveryRow).where(*_delivery_filter(subscription_id, status))
    rows = (await session.execute(keyset(statement, DELIVERY_ORDER, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([delivery_of(r) for r in page.items], page.keys, page.has_next)


async def count_deliveries(
    session: AsyncSession, subscription_id: int | None, status: DeliveryStatus | None
) -> int:
    statement = (
        select(func.count())
        .select_from(WebhookDeliveryRow)
        .where(*_delivery_filter(subscription_id, status))
    )
    return (await session.execute(statement)).scalar_one()


async def deliveries_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Delivery]:
    rows = await session.execute(
        select(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(list(ids)))
    )
    return {r.id: delivery_of(r) for r in rows.scalars()}


register(WEBHOOKS, lambda tx: SqlWebhookRepository(tx.session))
register(DAY_CLAIMS, lambda tx: SqlDayClaimRepository(tx.session))
