"""Referral rows, the repository, and referral reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.errors import present
from domain.points import Lot
from domain.referrals import REFERRALS, Referral, ReferralStatus, new_code
from persistence.base import Base, table_of
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    counts_per_parent,
    keyset,
    page_of,
    pages_per_parent,
)
from persistence.points import LotRow, lot_to_domain
from persistence.repositories import register
from persistence.statements import one_of
from persistence.types import BigId, UtcDateTime


class ReferralRow(Base):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The referee owns the row (one referral per referee).
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), unique=True)
    referrer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    qualified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reversed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    qualifying_order_id: Mapped[int | None] = mapped_column(BigId)
    referrer_bonus: Mapped[int] = mapped_column(Integer, default=0)
    referee_bonus: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (
        Index("ix_referrals_referrer_id_qualified_at", "referrer_id", "qualified_at"),
        Index("ix_referrals_status_id", "status", "id"),
    )


def to_domain(row: ReferralRow) -> Referral:
    return Referral(
        id=row.id,
        referrer_id=row.referrer_id,
        referee_id=row.customer_id,
        code=row.code,
        status=ReferralStatus(row.status),
        recorded_at=row.recorded_at,
        qualified_at=row.qualified_at,
        reversed_at=row.reversed_at,
        qualifying_order_id=row.qualifying_order_id,
        referrer_bonus=row.referrer_bonus,
        referee_bonus=row.referee_bonus,
        idempotency_key=row.idempotency_key,
    )


class SqlReferralRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, referral_id: int) -> Referral | None:
        row = await self.session.get(ReferralRow, referral_id, populate_existing=True)
        return to_domain(row) if row else None

    async def by_referee(self, referee_id: int) -> Referral | None:
        row = (
            await self.session.execute(
                select(ReferralRow)
                .where(ReferralRow.customer_id == referee_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        return to_domain(row) if row else None

    async def add(self, referral: Referral) -> Referral:
        row = ReferralRow(
            customer_id=referral.referee_id,
            referrer_id=referral.referrer_id,
            code=referral.code,
            status=referral.status.value,
            recorded_at=referral.recorded_at,
            idempotency_key=referral.idempotency_key,
            referrer_bonus=0,
            referee_bonus=0,
        )
        self.session.add(row)
        await self.session.flush()
        referral.id = row.id
        return referral

    async def by_referees(self, referee_ids: Sequence[int]) -> dict[int, Referral]:
        if not referee_ids:
            return {}
        rows = await self.session.execute(
            select(ReferralRow)
            .where(one_of(self.session, ReferralRow.customer_id, sorted(set(referee_ids))))
            .execution_options(populate_existing=True)
        )
        return {r.customer_id: to_domain(r) for r in rows.scalars()}

    async def save_many(self, referrals: Sequence[Referral]) -> None:
        if not referrals:
            return
        table = table_of(ReferralRow)
        await self.session.execute(
            table.update()
            .where(table.c.id == bindparam("referral"))
            .values(
                status=bindparam("new_status"),
                qualified_at=bindparam("new_qualified_at"),
                reversed_at=bindparam("new_reversed_at"),
                qualifying_order_id=bindparam("new_order"),
                referrer_bonus=bindparam("new_referrer_bonus"),
                referee_bonus=bindparam("new_referee_bonus"),
            ),
            [
                {
                    "referral": r.id,
                    "new_status": r.status.value,
                    "new_qualified_at": r.qualified_at,
                    "new_reversed_at": r.reversed_at,
                    "new_order": r.qualifying_order_id,
                    "new_referrer_bonus": r.referrer_bonus,
                    "new_referee_bonus": r.referee_bonus,
                }
                for r in referrals
            ],
        )

    async def save(self, referral: Referral) -> None:
        await self.session.execute(
            update(ReferralRow)
            .where(ReferralRow.id == referral.id)
            .values(
                status=referral.status.value,
                qualified_at=referral.qualified_at,
                reversed_at=referral.reversed_at,
                qualifying_order_id=referral.qualifying_order_id,
                referrer_bonus=referral.referrer_bonus,
                referee_bonus=referral.referee_bonus,
            )
        )

    async def qualified_since(self, referrer_id: int, since: datetime) -> int:
        statement = select(func.count()).where(
            ReferralRow.referrer_id == referrer_id,
            ReferralRow.status == ReferralStatus.QUALIFIED.value,
            ReferralRow.qualified_at >= since,
        )
        return (await self.session.execute(statement)).scalar_one()

    async def customer_by_code(self, code: str) -> int | None:
        statement = select(CustomerRow.id).where(
            CustomerRow.referral_code == code, CustomerRow.erased_at.is_(None)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def ensure_code(self, customer_id: int) -> str:
        """The customer's code, made now if they have none. A conditional update, so
        two first asks at once agree on one code."""
        await self.session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id, CustomerRow.referral_code.is_(None))
            .values(referral_code=new_code())
        )
        statement = select(CustomerRow.referral_code).where(CustomerRow.id == customer_id)
        code = (await self.session.execute(statement)).scalar_one()
        return present(code, "referral code")  # set by the update above if it was NULL

    async def has_orders(self, customer_id: int) -> bool:
        statement = select(OrderRow.id).where(OrderRow.customer_id == customer_id).limit(1)
        return (await self.session.execute(statement)).first() is not None

    async def bonus_lots(self, referral_id: int) -> list[Lot]:
        rows = await self.session.execute(select(LotRow).where(LotRow.referral_id == referral_id))
        return [lot_to_domain(r) for r in rows.scalars()]


# ---- reads for the API -------------------------------------------------------------

REFERRAL_SORT = SortKey((ReferralRow.id,), descending=True)


async def list_referrals(
    session: AsyncSession,
    after: Sequence[Any] | None,
    first: int,
    *,
    status: str | None = None,
    referrer_id: int | None = None,
) -> Page[Referral]:
    statement = select(ReferralRow)
    if status is not None:
        statement = statement.where(ReferralRow.status == status)
    if referrer_id is not None:
        statement = statement.where(ReferralRow.referrer_id == referrer_id)
    rows = (await session.execute(keyset(statement, REFERRAL_SORT, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_referrals(
    session: AsyncSession, *, status: str | None = None, referrer_id: int | None = None
) -> int:
    conditions = []
    if status is not None:
        conditions.append(ReferralRow.status == status)
    if referrer_id is not None:
        conditions.append(ReferralRow.referrer_id == referrer_id)
    statement = select(func.count()).select_from(ReferralRow).where(and_(True, *conditions))
    return (await session.execute(statement)).scalar_one()


async def referrals_by_referee(
    session: AsyncSession, referee_ids: Sequence[int]
) -> dict[int, Referral]:
    rows = await session.execute(
        select(ReferralRow).where(one_of(session, ReferralRow.customer_id, referee_ids))
    )
    return {r.customer_id: to_domain(r) for r in rows.scalars()}


async def referral_codes(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, str]:
    """The codes of a batch of customers, in one query (Customer.referralCode)."""
    rows = await session.execute(
        select(CustomerRow.id, CustomerRow.referral_code).where(
            CustomerRow.id.in_(list(customer_ids)), CustomerRow.referral_code.is_not(None)
        )
    )
    return {customer_id: code for customer_id, code in rows.all() if code is not None}


async def referrals_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Referral]:
    rows = await session.execute(select(ReferralRow).where(ReferralRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


async def referral_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Referral]]:
    """`Customer.referrals` for a page of referrers: one query per distinct cursor."""
    pages = await pages_per_parent(
        session, ReferralRow, ReferralRow.referrer_id, REFERRAL_SORT, requests, lambda r: (r.id,)
    )
    return {k: Page([to_domain(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()}


async def referral_counts(session: AsyncSession, referrer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, ReferralRow.referrer_id, referrer_ids)


register(REFERRALS, lambda tx: SqlReferralRepository(tx.session))
