"""Rewards, redemptions, their repositories, and the catalog reads the API serves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.points import EntryKind
from domain.redemptions import REDEMPTIONS, Redemption, RedemptionStatus
from domain.rewards import REWARDS, Reward, RewardKind
from persistence.base import Base
from persistence.customers import CustomerRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    counts_per_parent,
    keyset,
    page_of,
    pages_per_parent,
)
from persistence.repositories import register
from persistence.statements import rows_matched
from persistence.tiers import TierRow
from persistence.types import BigId, UtcDateTime


class RewardRow(Base):
    __tablename__ = "rewards"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    points_cost: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    stock: Mapped[int | None] = mapped_column(Integer)
    limit_per_customer: Mapped[int | None] = mapped_column(Integer)
    lowest_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    active_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    active_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    coupon_template_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("coupon_templates.id"))

    __table_args__ = (
        # The last line of defence against overselling, whatever the code does.
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        Index("ix_rewards_points_cost_id", "points_cost", "id"),
    )


class RedemptionRow(Base):
    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    reward_id: Mapped[int] = mapped_column(BigId, ForeignKey("rewards.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    points_spent: Mapped[int] = mapped_column(Integer)
    api_key_id: Mapped[int | None] = mapped_column(BigId)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_redemptions_customer_id_id", "customer_id", "id"),
        Index("ix_redemptions_customer_id_reward_id", "customer_id", "reward_id"),
    )


def reward_to_domain(row: RewardRow) -> Reward:
    return Reward(
        id=row.id,
        name=row.name,
        description=row.description,
        points_cost=row.points_cost,
        kind=RewardKind(row.kind),
        value=Decimal(row.value) if row.value is not None else None,
        stock=row.stock,
        limit_per_customer=row.limit_per_customer,
        lowest_tier_id=row.lowest_tier_id,
        active_from=row.active_from,
        active_until=row.active_until,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        coupon_template_id=row.coupon_template_id,
    )


def _reward_values(reward: Reward) -> dict[str, Any]:
    return {
        "name": reward.name,
        "description": reward.description,
        "points_cost": reward.points_cost,
        "kind": reward.kind.value,
        "value": reward.value,
        "stock": reward.stock,
        "limit_per_customer": reward.limit_per_customer,
        "lowest_tier_id": reward.lowest_tier_id,
        "active_from": reward.active_from,
        "active_until": reward.active_until,
        "archived_at": reward.archived_at,
        "created_at": reward.created_at,
        "updated_at": reward.updated_at,
        "coupon_template_id": reward.coupon_template_id,
    }


def redemption_to_domain(row: RedemptionRow) -> Redemption:
    return Redemption(
        id=row.id,
        customer_id=row.customer_id,
        reward_id=row.reward_id,
        code=row.code,
        status=RedemptionStatus(row.status),
        points_spent=row.points_spent,
        issued_at=row.issued_at,
        used_at=row.used_at,
        cancelled_at=row.cancelled_at,
        api_key_id=row.api_key_id,
    )


class SqlRewardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, reward_id: int, *, for_update: bool = False) -> Reward | None:
        statement = select(RewardRow).where(RewardRow.id == reward_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return reward_to_domain(row) if row else None

    async def add(self, reward: Reward) -> Reward:
        row = RewardRow(**_reward_values(reward))
        self.session.add(row)
        await self.session.flush()
        reward.id = row.id
        return reward

    async def save(self, reward: Reward) -> None:
        await self.session.execute(
            update(RewardRow).where(RewardRow.id == reward.id).values(**_reward_values(reward))
        )

    async def tier_rank(self, tier_id: int) -> int | None:
        statement = select(TierRow.rank).where(TierRow.id == tier_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def take_one(self, reward_id: int) -> bool:
        # One statement: PostgreSQL re-checks the WHERE on the row as the previous
        # taker committed it, so of N racing customers only `stock` of them match.
        result = await self.session.execute(
            update(RewardRow)
            .where(RewardRow.id == reward_id, or_(RewardRow.stock.is_(None), RewardRow.stock > 0))
            .values(stock=RewardRow.stock - 1)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result) == 1

    async def give_back_one(self, reward_id: int) -> None:
        await self.session.execute(
            update(RewardRow)
            .where(RewardRow.id == reward_id, RewardRow.stock.is_not(None))
            .values(stock=RewardRow.stock + 1)
            .execution_options(synchronize_session=False)
        )


class SqlRedemptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, redemption_id: int) -> Redemption | None:
        row = await self.session.get(RedemptionRow, redemption_id, populate_existing=True)
        return redemption_to_domain(row) if row else None

    async def by_code(self, code: str) -> Redemption | None:
        statement = select(RedemptionRow).where(RedemptionRow.code == code)
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return redemption_to_domain(row) if row else None

    async def add(self, redemption: Redemption) -> Redemption:
        row = RedemptionRow(
            customer_id=redemption.customer_id,
            reward_id=redemption.reward_id,
            code=redemption.code,
            status=redemption.status.value,
            points_spent=redemption.points_spent,
            api_key_id=redemption.api_key_id,
            issued_at=redemption.issued_at,
            used_at=redemption.used_at,
            cancelled_at=redemption.cancelled_at,
        )
        self.session.add(row)
        await self.session.flush()
        redemption.id = row.id
        return redemption

    async def count_held(self, customer_id: int, reward_id: int) -> int:
        statement = select(func.count()).where(
            RedemptionRow.customer_id == customer_id,
            RedemptionRow.reward_id == reward_id,
            RedemptionRow.status.in_([RedemptionStatus.ISSUED.value, RedemptionStatus.USED.value]),
        )
        return (await self.session.execute(statement)).scalar_one()

    async def change_status(self, redemption_id: int, to: RedemptionStatus, at: datetime) -> bool:
        stamp = {"used_at": at} if to is RedemptionStatus.USED else {"cancelled_at": at}
        result = await self.session.execute(
            update(RedemptionRow)
            .where(
                RedemptionRow.id == redemption_id,
                RedemptionRow.status == RedemptionStatus.ISSUED.value,
            )
            .values(status=to.value, **stamp)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result) == 1

    async def redeem_entry_id(self, redemption_id: int) -> int | None:
        from persistence.points import LedgerEntryRow

        statement = select(LedgerEntryRow.id).where(
            LedgerEntryRow.redemption_id == redemption_id,
            LedgerEntryRow.kind == EntryKind.REDEEM.value,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


# ---- reads for the API -------------------------------------------------------------

CATALOG_SORT = SortKey((RewardRow.points_cost, RewardRow.id))
REDEMPTIONS_SORT = SortKey((RedemptionRow.id,), descending=True)


@dataclass(frozen=True)
class RewardFilter:
    active_at: datetime | None = None  # only rewards redeemable at this instant
    affordable_for: int | None = None  # only rewards this customer's balance covers
    tier_id: int | None = None  # only rewards open to this tier
    include_archived: bool = False


def _filtered(
    statement: Select[*tuple[Any, ...]], criteria: RewardFilter
) -> Select[*tuple[Any, ...]]:
    if not criteria.include_archived or criteria.active_at is not None:
        statement = statement.where(RewardRow.archived_at.is_(None))
    if criteria.active_at is not None:
        at = criteria.active_at
        statement = statement.where(
            or_(RewardRow.active_from.is_(None), RewardRow.active_from <= at),
            or_(RewardRow.active_until.is_(None), RewardRow.active_until > at),
        )
    if criteria.affordable_for is not None:
        balance = (
            select(CustomerRow.points_balance)
            .where(CustomerRow.id == criteria.affordable_for)
            .scalar_subquery()
        )
        statement = statement.where(RewardRow.points_cost <= balance)
    if criteria.tier_id is not None:
        lowest = TierRow.__table__.alias("lowest_tier")
        rank = select(TierRow.rank).where(TierRow.id == criteria.tier_id).scalar_subquery()
        statement = statement.where(
            or_(
                RewardRow.lowest_tier_id.is_(None),
                RewardRow.lowest_tier_id.in_(select(lowest.c.id).where(lowest.c.rank <= rank)),
            )
        )
    return statement


async def list_rewards(
    session: AsyncSession, criteria: RewardFilter, after: Sequence[Any] | None, first: int
) -> Page[Reward]:
    statement = keyset(_filtered(select(RewardRow), criteria), CATALOG_SORT, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.points_cost, r.id))
    return Page([reward_to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_rewards(session: AsyncSession, criteria: RewardFilter) -> int:
    statement = _filtered(select(func.count()).select_from(RewardRow), criteria)
    return int((await session.execute(statement)).scalar_one())


async def rewards_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Reward]:
    rows = await session.execute(select(RewardRow).where(RewardRow.id.in_(list(ids))))
    return {r.id: reward_to_domain(r) for r in rows.scalars()}


async def redemptions_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Redemption]:
    rows = await session.execute(select(RedemptionRow).where(RedemptionRow.id.in_(list(ids))))
    return {r.id: redemption_to_domain(r) for r in rows.scalars()}


async def redemptions_by_codes(
    session: AsyncSession, codes: Sequence[str]
) -> dict[str, Redemption]:
    rows = await session.execute(select(RedemptionRow).where(RedemptionRow.code.in_(list(codes))))
    return {r.code: redemption_to_domain(r) for r in rows.scalars()}


async def redemption_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Redemption]]:
    """`Customer.redemptions` for a page of customers: one query per distinct cursor."""
    pages = await pages_per_parent(
        session,
        RedemptionRow,
        RedemptionRow.customer_id,
        REDEMPTIONS_SORT,
        requests,
        lambda r: (r.id,),
    )
    return {
        k: Page([redemption_to_domain(r) for r in p.items], p.keys, p.has_next)
        for k, p in pages.items()
    }


async def redemption_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    return await counts_per_parent(session, RedemptionRow.customer_id, customer_ids)


register(REWARDS, lambda tx: SqlRewardRepository(tx.session))
register(REDEMPTIONS, lambda tx: SqlRedemptionRepository(tx.session))
