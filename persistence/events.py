"""The outbox: domain events written in the same transaction as their change, and
the reader that pages through them with a cursor a consumer can resume from.

Why the reader is not simply ``ORDER BY id``
--------------------------------------------
A consumer remembers the position of the last event it handled and asks for what
comes after it. That is only safe if nothing can later appear *behind* a position
already handed out.

- PostgreSQL: ids come from a sequence when the row is inserted, not when its
  transaction commits. Transaction A takes id 1 and stays open; B takes id 2 and
  commits; a reader ordered by id returns 2 and its cursor moves past 1; A commits
  and event 1 is never delivered. So rows carry their transaction's id (``txid``,
  ``pg_current_xact_id()``), the reader orders by ``(txid, id)`` and returns only
  rows whose ``txid`` is below ``xmin`` of its snapshot: every transaction with a
  smaller id has finished (committed or rolled back), and every transaction that
  takes its id later gets a larger one, so no row can ever appear below that
  horizon again. (A transaction takes its id at its first write; the writer asks
  for it when it appends.) Rows of a transaction still open, and of every
  transaction that took its id after it, wait until it ends: delayed, never
  skipped. Within one transaction the sequence ids follow the order of the
  appends. The order is therefore "by transaction id, then append", not the exact
  commit order, but every reader sees the same order and a resumed cursor never
  misses nor repeats an event. The price: a writing transaction left open anywhere
  on the server (any database: transaction ids are cluster-wide) holds back
  delivery until it ends; read-only queries take no id and hold nothing back. A
  row with a null txid (written around SqlEventRepository) is never shown here.
- SQLite: a writer holds the database's single write lock from its first write
  (``BEGIN IMMEDIATE`` in the unit of work) until it commits, and the rowid is
  taken under that lock, so ids are handed out in commit order and a reader's
  snapshot always holds a prefix of them. ``txid`` stays null and the cursor is
  the id alone.

The cursor is the sort key of the last row: ``(txid, id)`` on PostgreSQL, ``(id,)``
on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnClause,
    Index,
    Select,
    String,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.events import EVENTS, Event, EventType
from persistence.base import Base, table_of
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.repositories import register
from persistence.statements import COMPUTED, insert_rows, is_postgresql
from persistence.types import BigId, JsonDocument, UtcDateTime


class EventRow(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # PostgreSQL: the writing transaction's id (pg_current_xact_id), so readers can
    # stop before transactions that are still open. SQLite: null (writers are serial).
    txid: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_events_txid_id", "txid", "id"),
        Index("ix_events_customer_id_id", "customer_id", "id"),
        Index("ix_events_type_id", "type", "id"),
    )


# The writing transaction's id, cast as the readers compare it (SNAPSHOT_XMIN below).
CURRENT_TXID: ColumnClause[int] = literal_column("pg_current_xact_id()::text::bigint", BigInteger())
COMPUTED["txid"] = CURRENT_TXID


class SqlEventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._txid: int | None = None

    async def append(self, event: Event) -> None:
        self.session.add(
            EventRow(
                type=event.type.value,
                customer_id=event.customer_id,
                payload=event.payload,
                occurred_at=event.occurred_at,
                txid=await self._transaction_id(),
            )
        )

    async def append_many(self, events: Sequence[Event]) -> None:
        """Many events in one statement (batched multi-VALUES inserts), in this order:
        what an order batch and the daily pass write. Same transaction rules."""
        if not events:
            return
        # Rows added through `append` still pending go first, to keep the append order.
        await self.session.flush()
        # PostgreSQL: the transaction's id computed by the INSERT itself, no round trip.
        await insert_rows(
            self.session,
            table_of(EventRow),
            [
                {
                    "type": event.type.value,
                    "customer_id": event.customer_id,
                    "payload": event.payload,
                    "occurred_at": event.occurred_at,
                }
                for event in events
            ],
            computed=("txid",) if is_postgresql(self.session) else (),
        )

    async def _transaction_id(self) -> int | None:
        if not is_postgresql(self.session):
            return None
        if self._txid is None:
            result = await self.session.execute(select(CURRENT_TXID))
            self._txid = result.scalar_one()
        return self._txid


# ---- reads for consumers -------------------------------------------------------------

# The oldest transaction still running when this statement's snapshot was taken;
# every transaction id below it has finished. Cast like the writer casts its txid.
SNAPSHOT_XMIN: ColumnClause[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
)

POSTGRESQL_ORDER = SortKey((EventRow.txid, EventRow.id))
SQLITE_ORDER = SortKey((EventRow.id,))


class BadEventCursor(ValueError):
    """A cursor that is not a position in this database's event order."""


def _order(session: AsyncSession) -> SortKey:
    return POSTGRESQL_ORDER if is_postgresql(session) else SQLITE_ORDER


def _visible(
    statement: Select[*tuple[Any, ...]], session: AsyncSession
) -> Select[*tuple[Any, ...]]:
    """Only rows no unfinished transaction can still precede (see the module doc)."""
    if is_postgresql(session):
        return statement.where(EventRow.txid < SNAPSHOT_XMIN)
    return statement


def _filtered(
    statement: Select[*tuple[Any, ...]], types: Sequence[str] | None, customer_id: int | None
) -> Select[*tuple[Any, ...]]:
    if types is not None:
        statement = statement.where(EventRow.type.in_(list(types)))
    if customer_id is not None:
        statement = statement.where(EventRow.customer_id == customer_id)
    return statement


def _checked_cursor(cursor: Sequence[Any], order: SortKey) -> tuple[int, ...]:
    if len(cursor) != len(order.columns) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in cursor
    ):
        raise BadEventCursor(f"an event cursor here is {len(order.columns)} integer(s)")
    return tuple(cursor)


def to_domain(row: EventRow) -> Event:
    return Event(
        type=EventType(row.type),
        customer_id=row.customer_id,
        occurred_at=row.occurred_at,
        payload=dict(row.payload or {}),
        id=row.id,
    )


async def events_after(
    session: AsyncSession,
    cursor: Sequence[Any] | None,
    first: int,
    types: Sequence[str] | None = None,
    customer_id: int | None = None,
) -> Page[Event]:
    """Up to `first` events after `cursor` (None: from the start), in the order a
    consumer can resume from. ``types=None`` means every type; an empty list matches
    nothing. Raises BadEventCursor for a cursor of another shape."""
    order = _order(session)
    statement = _visible(_filtered(select(EventRow), types, customer_id), session)
    if cursor is not None:
        # One row comparison, not the spelled-out OR of persistence.pagination: PostgreSQL
        # turns it into an index range, so a consumer at the tail of millions of events
        # does not walk the index from the start on every poll.
        after = _checked_cursor(cursor, order)
        statement = statement.where(tuple_(*order.columns) > tuple_(*after))
    rows = (await session.execute(keyset(statement, order, None, first))).scalars().all()
    if order is POSTGRESQL_ORDER:
        page = page_of(rows, first, lambda r: (r.txid, r.id))
    else:
        page = page_of(rows, first, lambda r: (r.id,))
    return Page([to_domain(r) for r in page.items], page.keys, page.has_next)


async def keyed_events_after(
    session: AsyncSession, cursor: tuple[int, ...] | None, limit: int
) -> list[tuple[Event, tuple[int, ...]]]:
    """For the outbox's own readers (the webhook fan-out, the journeys): the `events`
    API's order and horizon, so no reader skips an event whose transaction commits
    late; each event with the position to resume after it."""
    page = await events_after(session, cursor, limit)
    return [(e, tuple(k)) for e, k in zip(page.items, page.keys, strict=True)]


def stored_position(session: AsyncSession, cursor: tuple[int, ...]) -> dict[str, int | None]:
    """A reader's position as its cursor row stores it (`txid`, `event_id`)."""
    if _order(session) is POSTGRESQL_ORDER:
        return {"txid": cursor[0], "event_id": cursor[1]}
    return {"txid": None, "event_id": cursor[0]}


def read_position(
    session: AsyncSession, txid: int | None, event_id: int | None
) -> tuple[int, ...] | None:
    """The cursor a stored position (`stored_position`) stands for; None: the start."""
    if event_id is None:
        return None
    if _order(session) is POSTGRESQL_ORDER:
        return (txid or 0, event_id)
    return (event_id,)


async def count_events(
    session: AsyncSession, types: Sequence[str] | None = None, customer_id: int | None = None
) -> int:
    """How many events a reader starting now could page through."""
    statement = select(func.count()).select_from(EventRow)
    statement = _visible(_filtered(statement, types, customer_id), session)
    return (await session.execute(statement)).scalar_one()


async def events_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Event]:
    rows = await session.execute(select(EventRow).where(EventRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


register(EVENTS, lambda tx: SqlEventRepository(tx.session))
