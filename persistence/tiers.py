"""Tiers and each customer's tier history: rows, the repository, and tier reads.

The qualifying value (a customer's orders in the window, summed the way the program's
tier basis says) is computed here, in the database, for many customers at once; the
decisions about it are in domain/tiers.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    ScalarSelect,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.errors import DomainError, ErrorCode
from domain.program import TierBasis
from domain.tiers import (
    TIERS,
    Standing,
    Tier,
    TierChange,
    TierHistoryEntry,
    Window,
    plain,
)
from persistence.base import Base, table_of
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.repositories import register
from persistence.statements import is_postgresql, one_of
from persistence.types import BigId, UtcDateTime

CENT = Decimal("0.01")


class TierRow(Base):
    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    rank: Mapped[int] = mapped_column(Integer, unique=True)
    threshold: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    earn_multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    benefits: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TierChangeRow(Base):
    __tablename__ = "tier_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    from_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    to_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_tier_history_customer_id_id", "customer_id", "id"),)


def to_domain(row: TierRow) -> Tier:
    return Tier(
        id=row.id,
        name=row.name,
        rank=row.rank,
        threshold=plain(Decimal(row.threshold)),
        earn_multiplier=plain(Decimal(row.earn_multiplier)),
        benefits=row.benefits,
        created_at=row.created_at,
    )


def _values(tier: Tier) -> dict[str, Any]:
    return {
        "name": tier.name,
        "name_key": tier.key,
        "rank": tier.rank,
        "threshold": tier.threshold,
        "earn_multiplier": tier.earn_multiplier,
        "benefits": tier.benefits,
    }


# ---- the qualifying value --------------------------------------------------------------


def _order_value(basis: TierBasis) -> ColumnElement[Any]:
    """What one order contributes: net points, or net amount (0 once fully refunded)."""
    if basis is TierBasis.SPEND:
        return OrderRow.amount - OrderRow.refunded_amount
    return OrderRow.points_earned - OrderRow.points_reversed


def _in_window(window: Window) -> ColumnElement[bool]:
    return and_(OrderRow.placed_at > window.start, OrderRow.placed_at <= window.end)


def _as_value(raw: Decimal | float | int | None, basis: TierBasis) -> Decimal:
    """SQLite sums NUMERIC as floating point: bring money back to cents, points to
    whole numbers, so both databases give the same Decimal."""
    if raw is None:
        return Decimal(0)
    if basis is TierBasis.SPEND:
        return plain(Decimal(str(raw)).quantize(CENT))
    return Decimal(int(raw))


async def qualifying_values(
    session: AsyncSession, customer_ids: Sequence[int], basis: TierBasis, window: Window
) -> dict[int, Decimal]:
    """Every listed customer's qualifying value, in one grouped statement (0 when a
    customer has no order in the window)."""
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(OrderRow.customer_id, func.sum(_order_value(basis)))
        .where(one_of(session, OrderRow.customer_id, ids), _in_window(window))
        .group_by(OrderRow.customer_id)
    )
    values = dict.fromkeys(ids, Decimal(0))
    values.update({cid: _as_value(raw, basis) for cid, raw in rows.all()})
    return values


def _value_of_customer(basis: TierBasis, window: Window) -> ScalarSelect[Any]:
    """The qualifying value of the outer query's customer (a correlated subquery)."""
    return (
        select(func.coalesce(func.sum(_order_value(basis)), 0))
        .where(OrderRow.customer_id == CustomerRow.id, _in_window(window))
        .correlate(CustomerRow)
        .scalar_subquery()
    )


# ---- the repository --------------------------------------------------------------------


class SqlTierRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Tier]:
        rows = await self.session.execute(select(TierRow).order_by(TierRow.rank))
        return [to_domain(r) for r in rows.scalars()]

    async def get(self, tier_id: int) -> Tier | None:
        row = (
            await self.session.execute(select(TierRow).where(TierRow.id == tier_id))
        ).scalar_one_or_none()
        return to_domain(row) if row else None

    async def lock_for_changes(self) -> None:
        """Serializes tier administration. On PostgreSQL a SHARE ROW EXCLUSIVE lock:
        admin writers wait for each other, while reads, the order flow and the daily
        job (which only read tiers) carry on. SQLite's BEGIN IMMEDIATE already
        serializes every writer."""
        if is_postgresql(self.session):
            await self.session.execute(text("LOCK TABLE tiers IN SHARE ROW EXCLUSIVE MODE"))

    async def add(self, tier: Tier) -> Tier:
        row = TierRow(created_at=tier.created_at, **_values(tier))
        self.session.add(row)
        await self.session.flush()
        tier.id = row.id
        return tier

    async def save(self, tier: Tier) -> None:
        await self.session.execute(
            update(TierRow).where(TierRow.id == tier.id).values(**_values(tier))
        )

    async def delete(self, tier_id: int) -> None:
        """Deletes the tier; history rows keep their reason and time, not the link.
        A customer who reached the tier after the holder check makes the foreign key
        refuse the delete, which is reported as IN_USE."""
        try:
            await self.session.execute(
                update(TierChangeRow)
                .where(TierChangeRow.from_tier_id == tier_id)
                .values(from_tier_id=None)
            )
            await self.session.execute(
                update(TierChangeRow)
                .where(TierChangeRow.to_tier_id == tier_id)
                .values(to_tier_id=None)
            )
            await self.session.execute(delete(TierRow).where(TierRow.id == tier_id))
        except IntegrityError:
            raise DomainError(
                ErrorCode.IN_USE, ("input", "id"), "Customers hold this tier; it was not deleted."
            ) from None

    async def holder_count(self, tier_id: int) -> int:
        statement = (
            select(func.count()).select_from(CustomerRow).where(CustomerRow.tier_id == tier_id)
        )
        return (await self.session.execute(statement)).scalar_one()

    async def multiplier_of(self, customer_id: int) -> Decimal | None:
        found = (
            await self.session.execute(
                select(TierRow.earn_multiplier)
                .join(CustomerRow, CustomerRow.tier_id == TierRow.id)
                .where(CustomerRow.id == customer_id)
            )
        ).scalar_one_or_none()
        return plain(Decimal(found)) if found is not None else None

    async def standing(self, customer_id: int, *, for_update: bool = False) -> Standing | None:
        statement = select(CustomerRow.id, CustomerRow.tier_id, CustomerRow.tier_since).where(
            CustomerRow.id == customer_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).one_or_none()
        return Standing(row.id, row.tier_id, row.tier_since) if row else None

    async def lock_downgrade_candidates(
        self,
        held_since_at_most: datetime,
        basis: TierBasis,
        window: Window,
        after_customer_id: int,
        limit: int,
    ) -> list[Standing]:
        """The next `limit` customers (by id, after `after_customer_id`) who have held
        their tier since `held_since_at_most` or earlier and whose qualifying value is
        below its threshold, locked FOR UPDATE (customer rows only).

        The value here only narrows the batch: the caller recomputes it after the
        lock, when any order that was in flight for these customers has committed.
        """
        statement = (
            select(CustomerRow.id, CustomerRow.tier_id, CustomerRow.tier_since)
            .join(TierRow, TierRow.id == CustomerRow.tier_id)
            .where(
                CustomerRow.id > after_customer_id,
                CustomerRow.tier_since <= held_since_at_most,
                _value_of_customer(basis, window) < TierRow.threshold,
            )
            .order_by(CustomerRow.id)
            .limit(limit)
            .with_for_update(of=CustomerRow)
        )
        rows = await self.session.execute(statement)
        return [Standing(r.id, r.tier_id, r.tier_since) for r in rows.all()]

    async def qualifying_values(
        self, customer_ids: Sequence[int], basis: TierBasis, window: Window
    ) -> dict[int, Decimal]:
        # The session does not autoflush: an order the caller added in this same
        # transaction must reach the database before it can be summed.
        await self.session.flush()
        return await qualifying_values(self.session, customer_ids, basis, window)

    async def move(self, changes: Sequence[TierChange]) -> None:
        """Moves many customers at once: one executemany UPDATE and one multi-row
        INSERT into the history, as Core statements (the daily job writes hundreds
        per batch, and ORM bookkeeping per row would grow with the batch)."""
        if not changes:
            return
        customers = table_of(CustomerRow)
        await self.session.execute(
            customers.update()
            .where(customers.c.id == bindparam("customer"))
            .values(tier_id=bindparam("tier"), tier_since=bindparam("since")),
            [
                {
                    "customer": c.customer_id,
                    "tier": c.to_tier.id if c.to_tier else None,
                    "since": c.at if c.to_tier else None,
                }
                for c in changes
            ],
        )
        await self.session.execute(
            insert(table_of(TierChangeRow)),
            [
                {
                    "customer_id": c.customer_id,
                    "from_tier_id": c.from_tier.id if c.from_tier else None,
                    "to_tier_id": c.to_tier.id if c.to_tier else None,
                    "reason": c.reason,
                    "created_at": c.at,
                }
                for c in changes
            ],
        )


# ---- reads for the API -------------------------------------------------------------------


async def list_tiers(session: AsyncSession) -> list[Tier]:
    rows = await session.execute(select(TierRow).order_by(TierRow.rank))
    return [to_domain(r) for r in rows.scalars()]


async def tiers_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Tier]:
    rows = await session.execute(select(TierRow).where(TierRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


async def holder_counts(session: AsyncSession, tier_ids: Sequence[int]) -> dict[int, int]:
    """Customers holding each tier now, erased ones included (their records stay, and
    they keep a tier from being deleted)."""
    rows = await session.execute(
        select(CustomerRow.tier_id, func.count())
        .where(CustomerRow.tier_id.in_(list(tier_ids)))
        .group_by(CustomerRow.tier_id)
    )
    counts = dict.fromkeys(tier_ids, 0)
    counts.update({tier_id: n for tier_id, n in rows.all() if tier_id is not None})
    return counts


async def tier_history_of_customers(
    session: AsyncSession, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[TierHistoryEntry]]:
    """The newest entries of many customers' tier histories in one statement.

    Keys are (customer id, how many); a window function numbers each customer's
    entries newest first so one query serves every customer of the page.
    """
    if not keys:
        return {}
    most = max(limit for _, limit in keys)
    customer_ids = list({cid for cid, _ in keys})
    numbered = (
        select(
            TierChangeRow,
            func.row_number()
            .over(partition_by=TierChangeRow.customer_id, order_by=TierChangeRow.id.desc())
            .label("position"),
        )
        .where(TierChangeRow.customer_id.in_(customer_ids))
        .subquery()
    )
    rows = await session.execute(
        select(numbered)
        .where(numbered.c.position <= most)
        .order_by(numbered.c.customer_id, numbered.c.id.desc())
    )
    by_customer: dict[int, list[TierHistoryEntry]] = {cid: [] for cid in customer_ids}
    for row in rows.all():
        by_customer[row.customer_id].append(
            TierHistoryEntry(
                row.id,
                row.customer_id,
                row.from_tier_id,
                row.to_tier_id,
                row.reason,
                row.created_at,
            )
        )
    return {(cid, limit): by_customer[cid][:limit] for cid, limit in keys}


register(TIERS, lambda tx: SqlTierRepository(tx.session))
