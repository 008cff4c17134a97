"""The points ledger (append-only entries), the lots points live in, and which lots
each debit drew from (so a cancelled redemption can put points back where they were)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.errors import present
from domain.points import (
    POINTS,
    AuditFigures,
    Draw,
    EntryKind,
    LedgerEntry,
    Lot,
    LotState,
    PointsAccount,
)
from persistence.base import Base, table_of
from persistence.customers import CustomerRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    counts_per_parent,
    pages_per_parent,
)
from persistence.repositories import register
from persistence.statements import insert_returning_ids, update_rows
from persistence.types import BigId, UtcDateTime


class LedgerEntryRow(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(500))
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    # The redemption a REDEEM (and its REDEEM_CANCEL / EXPIRE) entry belongs to.
    redemption_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("redemptions.id"), index=True
    )
    lot_id: Mapped[int | None] = mapped_column(BigId)
    referral_id: Mapped[int | None] = mapped_column(BigId)
    # The earning rule that produced an EARN/BONUS entry (null: base points, others).
    rule_id: Mapped[int | None] = mapped_column(BigId)
    api_key_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_ledger_entries_customer_id_id", "customer_id", "id"),
        Index("ix_ledger_entries_kind_created_at", "kind", "created_at"),
    )


class LotRow(Base):
    __tablename__ = "point_lots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    available_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    referral_id: Mapped[int | None] = mapped_column(BigId, index=True)
    rule_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the customer was told these points expire soon (one notice per lot).
    expiry_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_point_lots_customer_id_state", "customer_id", "state"),
        Index("ix_point_lots_state_available_at", "state", "available_at"),
        Index("ix_point_lots_state_expires_at", "state", "expires_at"),
    )


class LotDrawRow(Base):
    """How many points one debit entry took from one lot."""

    __tablename__ = "point_lot_draws"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("ledger_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(BigId, ForeignKey("point_lots.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)


def lot_to_domain(row: LotRow) -> Lot:
    return Lot(
        id=row.id,
        customer_id=row.customer_id,
        kind=EntryKind(row.kind),
        points=row.points,
        remaining=row.remaining,
        state=LotState(row.state),
        available_at=row.available_at,
        expires_at=row.expires_at,
        order_id=row.order_id,
        created_at=row.created_at,
        referral_id=row.referral_id,
        rule_id=row.rule_id,
    )


def entry_to_domain(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(
        id=row.id,
        customer_id=row.customer_id,
        kind=EntryKind(row.kind),
        points=row.points,
        balance_after=row.balance_after,
        created_at=row.created_at,
        reason=row.reason,
        order_id=row.order_id,
        redemption_id=row.redemption_id,
        lot_id=row.lot_id,
        referral_id=row.referral_id,
        api_key_id=row.api_key_id,
        idempotency_key=row.idempotency_key,
        rule_id=row.rule_id,
    )


class SqlPointsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._loaded: dict[int, tuple[int, str]] = {}

    async def load_account(self, customer_id: int) -> PointsAccount:
        totals = (
            await self.session.execute(
                select(
                    CustomerRow.points_balance, CustomerRow.points_debt, CustomerRow.lifetime_earned
                ).where(CustomerRow.id == customer_id)
            )
        ).one()
        rows = await self.session.execute(
            select(LotRow)
            .where(
                LotRow.customer_id == customer_id,
                or_(
                    LotRow.state == LotState.PENDING.value,
                    and_(LotRow.state == LotState.AVAILABLE.value, LotRow.remaining > 0),
                ),
            )
            # Id order, explicitly: the FIFO tie-break and a refund's own-lot order must
            # not rest on the order rows happen to come back in.
            .order_by(LotRow.id)
        )
        lots = [lot_to_domain(r) for r in rows.scalars()]
        self._loaded.update(
            {present(lot.id, "lot id"): (lot.remaining, lot.state.value) for lot in lots}
        )
        return PointsAccount(
            customer_id=customer_id,
            balance=totals.points_balance,
            debt=totals.points_debt,
            lifetime_earned=totals.lifetime_earned,
            lots=lots,
        )

    async def load_lots(self, lot_ids: Sequence[int]) -> list[Lot]:
        """Lots by id whatever their state (expired ones included)."""
        rows = await self.session.execute(select(LotRow).where(LotRow.id.in_(list(lot_ids))))
        lots = [lot_to_domain(r) for r in rows.scalars()]
        self._loaded.update(
            {present(lot.id, "lot id"): (lot.remaining, lot.state.value) for lot in lots}
        )
        return lots

    async def save_account(self, account: PointsAccount, entries: list[LedgerEntry]) -> None:
        for lot in account.new_lots:
            row = LotRow(
                customer_id=lot.customer_id,
                kind=lot.kind.value,
                points=lot.points,
                remaining=lot.remaining,
                state=lot.state.value,
                available_at=lot.available_at,
                expires_at=lot.expires_at,
                order_id=lot.order_id,
                referral_id=lot.referral_id,
                rule_id=lot.rule_id,
                created_at=lot.created_at,
            )
            self.session.add(row)
            await self.session.flush()
            lot.id = row.id
            self._loaded[row.id] = (lot.remaining, lot.state.value)
        account.new_lots.clear()
        touched = {id(lot): lot for lot in account.lots}
        for entry in entries:
            for draw in entry.draws:
                touched[id(draw.lot)] = draw.lot
            if entry.lot is not None:
                touched[id(entry.lot)] = entry.lot
        for lot in touched.values():
            lot_id = present(lot.id, "lot id")  # new lots were flushed above
            if self._loaded.get(lot_id) != (lot.remaining, lot.state.value):
                await self.session.execute(
                    update(LotRow)
                    .where(LotRow.id == lot_id)
                    .values(remaining=lot.remaining, state=lot.state.value)
                )
                self._loaded[lot_id] = (lot.remaining, lot.state.value)
        for entry in entries:
            entry_row = LedgerEntryRow(
                customer_id=entry.customer_id,
                kind=entry.kind.value,
                points=entry.points,
                balance_after=entry.balance_after,
                reason=entry.reason,
                order_id=entry.order_id,
                redemption_id=entry.redemption_id,
                lot_id=entry.lot.id if entry.lot is not None else entry.lot_id,
                referral_id=entry.referral_id,
                rule_id=entry.rule_id,
                api_key_id=entry.api_key_id,
                idempotency_key=entry.idempotency_key,
                created_at=entry.created_at,
            )
            self.session.add(entry_row)
            await self.session.flush()
            entry.id = entry_row.id
            for draw in entry.draws:
                self.session.add(
                    LotDrawRow(
                        customer_id=entry.customer_id,
                        entry_id=entry_row.id,
                        lot_id=draw.lot.id,
                        points=draw.points,
                    )
                )
        await self.session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == account.customer_id)
            .values(
                points_balance=account.balance,
                points_debt=account.debt,
                lifetime_earned=account.lifetime_earned,
            )
        )
        await self.session.flush()

    async def save_credits(
        self,
        accounts: Sequence[PointsAccount],
        lots: Sequence[Lot],
        entries: Sequence[LedgerEntry],
    ) -> None:
        """Core statements, not ORM objects: a batch of a thousand orders writes
        thousands of rows, and per-object bookkeeping would grow with them."""
        if any(entry.draws for entry in entries):
            raise ValueError("save_credits takes credits only; a debit goes through save_account")
        new_lots = list(lots)
        if {id(lot) for lot in new_lots} != {id(x) for a in accounts for x in a.new_lots}:
            raise ValueError("save_credits takes exactly the accounts' new lots")
        if new_lots:
            table = table_of(LotRow)
            ids = await insert_returning_ids(
                self.session,
                table,
                [
                    {
                        "customer_id": lot.customer_id,
                        "kind": lot.kind.value,
                        "points": lot.points,
                        "remaining": lot.remaining,
                        "state": lot.state.value,
                        "available_at": lot.available_at,
                        "expires_at": lot.expires_at,
                        "order_id": lot.order_id,
                        "referral_id": lot.referral_id,
                        "rule_id": lot.rule_id,
                        "created_at": lot.created_at,
                    }
                    for lot in new_lots
                ],
            )
            for lot, lot_id in zip(new_lots, ids, strict=True):
                lot.id = lot_id
                self._loaded[lot_id] = (lot.remaining, lot.state.value)
        for account in accounts:
            account.new_lots.clear()
        if entries:
            # Numbered: the events written after them name each entry.
            entry_ids = await insert_returning_ids(
                self.session,
                table_of(LedgerEntryRow),
                [
                    {
                        "customer_id": entry.customer_id,
                        "kind": entry.kind.value,
                        "points": entry.points,
                        "balance_after": entry.balance_after,
                        "reason": entry.reason,
                        "order_id": entry.order_id,
                        "redemption_id": entry.redemption_id,
                        "lot_id": entry.lot.id if entry.lot is not None else entry.lot_id,
                        "referral_id": entry.referral_id,
                        "rule_id": entry.rule_id,
                        "api_key_id": entry.api_key_id,
                        "idempotency_key": entry.idempotency_key,
                        "created_at": entry.created_at,
                    }
                    for entry in entries
                ],
            )
            for entry, entry_id in zip(entries, entry_ids, strict=True):
                entry.id = entry_id
        if accounts:
            await update_rows(
                self.session,
                table_of(CustomerRow),
                "id",
                [
                    {
                        "id": account.customer_id,
                        "points_balance": account.balance,
                        "points_debt": account.debt,
                        "lifetime_earned": account.lifetime_earned,
                    }
                    for account in accounts
                ],
            )

    async def draws_of_entry(self, entry_id: int) -> list[Draw]:
        rows = (
            await self.session.execute(
                select(LotDrawRow.lot_id, LotDrawRow.points)
                .where(LotDrawRow.entry_id == entry_id)
                .order_by(LotDrawRow.id)
            )
        ).all()
        lots = {lot.id: lot for lot in await self.load_lots([lot_id for lot_id, _ in rows])}
        return [Draw(lots[lot_id], points) for lot_id, points in rows]

    async def customers_with_due_lots(self, as_of: datetime, limit: int) -> list[int]:
        """Customers with a pending lot due or an available lot past expiry."""
        due = or_(
            and_(LotRow.state == LotState.PENDING.value, LotRow.available_at <= as_of),
            and_(LotRow.state == LotState.AVAILABLE.value, LotRow.expires_at <= as_of),
        )
        rows = await self.session.execute(
            select(LotRow.customer_id)
            .where(due)
            .distinct()
            .order_by(LotRow.customer_id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def expiry_notices_due(
        self, as_of: datetime, horizon: datetime, limit: int
    ) -> list[tuple[int, int, datetime]]:
        """(customer, points, first expiry) for customers with available points
        expiring by `horizon` that nobody has been told about; marks those lots told."""
        due = and_(
            LotRow.state == LotState.AVAILABLE.value,
            LotRow.remaining > 0,
            LotRow.expires_at > as_of,
            LotRow.expires_at <= horizon,
            LotRow.expiry_notified_at.is_(None),
        )
        customers = (
            (
                await self.session.execute(
                    select(LotRow.customer_id)
                    .where(due)
                    .distinct()
                    .order_by(LotRow.customer_id)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        if not customers:
            return []
        in_batch = and_(due, LotRow.customer_id.in_(list(customers)))
        rows = (
            await self.session.execute(
                select(LotRow.customer_id, func.sum(LotRow.remaining), func.min(LotRow.expires_at))
                .where(in_batch)
                .group_by(LotRow.customer_id)
                .order_by(LotRow.customer_id)
            )
        ).all()
        await self.session.execute(update(LotRow).where(in_batch).values(expiry_notified_at=as_of))
        # Every lot of the batch is due with an expiry, so first is never NULL.
        return [
            (customer_id, int(points), present(first, "first expiry"))
            for customer_id, points, first in rows
        ]

    async def lots_due(self, customer_id: int, as_of: datetime) -> list[Lot]:
        """The customer's lots to activate or expire as of `as_of` (for the daily job)."""
        rows = await self.session.execute(
            select(LotRow)
            .where(
                LotRow.customer_id == customer_id,
                or_(
                    and_(LotRow.state == LotState.PENDING.value, LotRow.available_at <= as_of),
                    and_(LotRow.state == LotState.AVAILABLE.value, LotRow.expires_at <= as_of),
                ),
            )
            .order_by(LotRow.available_at, LotRow.id)
        )
        return [lot_to_domain(r) for r in rows.scalars()]


# ---- reads for the API -------------------------------------------------------------

LEDGER_SORT = SortKey((LedgerEntryRow.id,), descending=True)


async def pending_points(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(LotRow.customer_id, func.coalesce(func.sum(LotRow.remaining), 0))
        .where(LotRow.customer_id.in_(list(customer_ids)), LotRow.state == LotState.PENDING.value)
        .group_by(LotRow.customer_id)
    )
    found = dict.fromkeys(customer_ids, 0)
    found.update({cid: int(total) for cid, total in rows.all()})
    return found


async def expiring_lots(
    session: AsyncSession, keys: Sequence[tuple[int, datetime]]
) -> dict[tuple[int, datetime], list[tuple[datetime, int]]]:
    """For (customer, until) keys: available points by expiry instant up to `until`."""
    found: dict[tuple[int, datetime], list[tuple[datetime, int]]] = {k: [] for k in keys}
    if not keys:
        return found
    latest = max(until for _, until in keys)
    rows = await session.execute(
        select(LotRow.customer_id, LotRow.expires_at, func.sum(LotRow.remaining))
        .where(
            LotRow.customer_id.in_([cid for cid, _ in keys]),
            LotRow.state == LotState.AVAILABLE.value,
            LotRow.remaining > 0,
            LotRow.expires_at.is_not(None),
            LotRow.expires_at <= latest,
        )
        .group_by(LotRow.customer_id, LotRow.expires_at)
        .order_by(LotRow.customer_id, LotRow.expires_at)
    )
    for customer_id, expires_at, points in rows.all():
        expires_at = present(expires_at, "expires_at")  # filtered on IS NOT NULL
        for key in keys:
            if key[0] == customer_id and expires_at <= key[1]:
                found[key].append((expires_at, int(points)))
    return found


async def audit_figures(session: AsyncSession) -> list[AuditFigures]:
    """The invariants' inputs for every customer that has points activity,
    each aggregate computed on its own from the raw tables."""
    entries = (
        select(
            LedgerEntryRow.customer_id.label("customer_id"),
            func.sum(LedgerEntryRow.points).label("entries_sum"),
            func.max(LedgerEntryRow.id).label("last_id"),
        )
        .group_by(LedgerEntryRow.customer_id)
        .subquery()
    )
    lots = (
        select(
            LotRow.customer_id.label("customer_id"),
            func.sum(
                case((LotRow.state == LotState.AVAILABLE.value, LotRow.remaining), else_=0)
            ).label("available_remaining"),
            func.sum(
                case((or_(LotRow.remaining < 0, LotRow.remaining > LotRow.points), 1), else_=0)
            ).label("out_of_range"),
        )
        .group_by(LotRow.customer_id)
        .subquery()
    )
    last = LedgerEntryRow.__table__.alias("last_entry")
    statement = (
        select(
            CustomerRow.id,
            CustomerRow.points_balance,
            CustomerRow.points_debt,
            func.coalesce(entries.c.entries_sum, 0),
            last.c.balance_after,
            func.coalesce(lots.c.available_remaining, 0),
            func.coalesce(lots.c.out_of_range, 0),
        )
        .outerjoin(entries, entries.c.customer_id == CustomerRow.id)
        .outerjoin(last, last.c.id == entries.c.last_id)
        .outerjoin(lots, lots.c.customer_id == CustomerRow.id)
        .order_by(CustomerRow.id)
    )
    return [
        AuditFigures(
            customer_id=row[0],
            balance=row[1],
            debt=row[2],
            entries_sum=int(row[3]),
            last_balance_after=row[4],
            available_remaining=int(row[5]),
            lots_out_of_range=int(row[6]),
        )
        for row in (await session.execute(statement)).all()
    ]


async def entries_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, LedgerEntry]:
    rows = await session.execute(select(LedgerEntryRow).where(LedgerEntryRow.id.in_(list(ids))))
    return {r.id: entry_to_domain(r) for r in rows.scalars()}


async def ledger_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[LedgerEntry]]:
    """`Customer.ledger` for a page of customers: one query per distinct cursor."""
    pages = await pages_per_parent(
        session,
        LedgerEntryRow,
        LedgerEntryRow.customer_id,
        LEDGER_SORT,
        requests,
        lambda r: (r.id,),
    )
    return {
        k: Page([entry_to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()
    }


async def entry_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, LedgerEntryRow.customer_id, customer_ids)


# A customer's lots, newest first: the id is the credit order, unique per lot.
LOT_SORT = SortKey((LotRow.id,), descending=True)


async def lot_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Lot]]:
    """`CustomerPoints.lots` for a page of customers: one query per distinct cursor."""
    pages = await pages_per_parent(
        session, LotRow, LotRow.customer_id, LOT_SORT, requests, lambda r: (r.id,)
    )
    return {
        k: Page([lot_to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()
    }


async def lot_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, LotRow.customer_id, customer_ids)


register(POINTS, lambda tx: SqlPointsRepository(tx.session))
