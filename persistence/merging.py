"""Merges (`customer_merges`, the audit record), the row moves of a merge, and the
duplicate-candidate pairs (one SQL self-join per shared key, keyset-paginated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.idempotency import fingerprint
from domain.merging import (
    MAX_SHARING,
    MERGES,
    REASON_WEIGHTS,
    DuplicatePair,
    DuplicateReason,
    MergeCounts,
    MergeRecord,
    MovedRows,
)
from persistence.activities import ActivityRow
from persistence.base import Base, table_of
from persistence.campaigns import CampaignAudienceRow, TouchpointRow
from persistence.coupons import CouponRow
from persistence.customers import CustomerRow
from persistence.daily import RepurchaseReminderRow
from persistence.earning_rules import OrderPointsLineRow
from persistence.feedback import FeedbackRow
from persistence.identities import CustomerIdentityRow
from persistence.orders import OrderItemRow, OrderRow, RefundRow
from persistence.pagination import Page, SortKey, after_clause, page_of
from persistence.points import LotRow
from persistence.referrals import ReferralRow
from persistence.repositories import register
from persistence.rewards import RedemptionRow
from persistence.statements import rows_matched
from persistence.tags import CustomerTagRow
from persistence.types import BigId, JsonDocument, UtcDateTime


class CustomerMergeRow(Base):
    """One merge: who was merged into whom, when, by which key, and what moved."""

    __tablename__ = "customer_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    merged_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), unique=True)
    # MergeCounts as a JSON object (orders, lots, points, pendingPoints, tags, …).
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDocument)
    api_key_id: Mapped[int | None] = mapped_column(BigId)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_customer_merges_created_at", "created_at"),)


def to_domain(row: CustomerMergeRow) -> MergeRecord:
    return MergeRecord(
        id=row.id,
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        counts=MergeCounts(**row.counts),
        created_at=row.created_at,
        api_key_id=row.api_key_id,
        idempotency_key=row.idempotency_key,
    )


class SqlMergeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def orders_of(self, customer_id: int) -> list[tuple[int, datetime]]:
        rows = await self.session.execute(
            select(OrderRow.id, OrderRow.placed_at)
            .where(OrderRow.customer_id == customer_id)
            .order_by(OrderRow.id)
        )
        return [(r[0], r[1]) for r in rows.all()]

    async def _reown(self, row_class: Any, survivor_id: int, merged_id: int) -> int:
        result = await self.session.execute(
            update(row_class)
            .where(row_class.customer_id == merged_id)
            .values(customer_id=survivor_id)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result)

    async def move_rows(self, survivor_id: int, merged_id: int) -> MovedRows:
        a, b = survivor_id, merged_id
        # An order's replay check hashes its customer: the moved orders hash A's id, so
        # a storefront retrying an order it sent for B is recognised as a replay.
        moved_orders = (
            await self.session.execute(
                select(OrderRow.id, OrderRow.amount, OrderRow.request_hash).where(
                    OrderRow.customer_id == b
                )
            )
        ).all()
        orders = await self._reown(OrderRow, a, b)
        rehashed = [
            {"order": oid, "hash": fingerprint(a, str(amount))}
            for oid, amount, hashed in moved_orders
            if hashed == fingerprint(b, str(amount))
        ]
        if rehashed:
            table = table_of(OrderRow)
            await self.session.execute(
                table.update()
                .where(table.c.id == bindparam("order"))
                .values(request_hash=bindparam("hash")),
                rehashed,
            )
        for row_class in (OrderItemRow, RefundRow, OrderPointsLineRow, RepurchaseReminderRow):
            await self._reown(row_class, a, b)
        lots = await self._reown(LotRow, a, b)
        redemptions = await self._reown(RedemptionRow, a, b)
        feedback = await self._reown(FeedbackRow, a, b)
        coupons = await self._reown(CouponRow, a, b)
        activities = await self._reown(ActivityRow, a, b)
        identities = await self._reown(CustomerIdentityRow, a, b)
        await self._move_campaign_rows(a, b)
        as_referee = await self._reown(ReferralRow, a, b)
        as_referrer = rows_matched(
            await self.session.execute(
                update(ReferralRow)
                .where(ReferralRow.referrer_id == b)
                .values(referrer_id=a)
                .execution_options(synchronize_session=False)
            )
        )
        tags = await self._union_tags(a, b)
        # Customers merged into B earlier now resolve to A directly (one hop, always).
        await self.session.execute(
            update(CustomerRow)
            .where(CustomerRow.merged_into_id == b)
            .values(merged_into_id=a)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == b)
            .values(merged_into_id=a, tier_id=None, tier_since=None)
            .execution_options(synchronize_session=False)
        )
        return MovedRows(
            orders=orders,
            lots=lots,
            tags=tags,
            redemptions=redemptions,
            referrals=as_referee + as_referrer,
            feedback=feedback,
            coupons=coupons,
            activities=activities,
            identities=identities,
        )

    async def _move_campaign_rows(self, a: int, b: int) -> None:
        """B's touchpoints move to A (their orders' attributions went with the orders);
        B's place in a campaign's frozen audience moves to A where A had none in that
        campaign, and is dropped where A had one (A keeps its own arm)."""
        await self._reown(TouchpointRow, a, b)
        audience = table_of(CampaignAudienceRow)
        held_by_a = select(audience.c.campaign_id).where(audience.c.customer_id == a)
        await self.session.execute(
            audience.update()
            .where(audience.c.customer_id == b, audience.c.campaign_id.not_in(held_by_a))
            .values(customer_id=a)
        )
        await self.session.execute(audience.delete().where(audience.c.customer_id == b))

    async def _union_tags(self, a: int, b: int) -> int:
        links = table_of(CustomerTagRow)
        held = select(links.c.tag_id).where(links.c.customer_id == a)
        new = select(literal(a, BigId), links.c.tag_id).where(
            links.c.customer_id == b, links.c.tag_id.not_in(held)
        )
        added = (
            await self.session.execute(select(func.count()).select_from(new.subquery()))
        ).scalar_one()
        await self.session.execute(insert(links).from_select(["customer_id", "tag_id"], new))
        await self.session.execute(delete(links).where(links.c.customer_id == b))
        return int(added)

    async def add(self, record: MergeRecord) -> MergeRecord:
        row = CustomerMergeRow(
            survivor_id=record.survivor_id,
            merged_id=record.merged_id,
            counts=asdict(record.counts),
            api_key_id=record.api_key_id,
            idempotency_key=record.idempotency_key,
            created_at=record.created_at,
        )
        self.session.add(row)
        await self.session.flush()
        return to_domain(row)

    async def get(self, merge_id: int) -> MergeRecord | None:
        row = await self.session.get(CustomerMergeRow, merge_id)
        return to_domain(row) if row else None


register(MERGES, lambda tx: SqlMergeRepository(tx.session))


# ---- duplicate candidates ------------------------------------------------------------


def _live(customer: Any) -> ColumnElement[bool]:
    return and_(customer.erased_at.is_(None), customer.merged_into_id.is_(None))


def _pairs_sharing(column: str, reason: DuplicateReason) -> Any:
    """(first id, second id, reason) of every two live customers with the same value,
    among the values at most MAX_SHARING live customers have (domain/merging.py)."""
    one, two, any_ = aliased(CustomerRow), aliased(CustomerRow), aliased(CustomerRow)
    value = getattr(any_, column)
    few = (
        select(value)
        .where(value.is_not(None), _live(any_))
        .group_by(value)
        .having(func.count() <= MAX_SHARING)
    )
    return (
        select(
            one.id.label("first_id"),
            two.id.label("second_id"),
            literal(reason.value, String(16)).label("reason"),
        )
        .join(two, and_(getattr(two, column) == getattr(one, column), two.id > one.id))
        .where(getattr(one, column).in_(few), _live(one), _live(two))
    )


def _pairs_by_wechat_id() -> Any:
    """Two live customers holding the same WeChat id value (any WeChat type and app)."""
    one, two = aliased(CustomerIdentityRow), aliased(CustomerIdentityRow)
    c1, c2 = aliased(CustomerRow), aliased(CustomerRow)
    any_ = aliased(CustomerIdentityRow)
    few = (
        select(any_.value)
        .where(any_.type.like("WECHAT%"))
        .group_by(any_.value)
        .having(func.count(func.distinct(any_.customer_id)) <= MAX_SHARING)
    )
    return (
        select(
            one.customer_id.label("first_id"),
            two.customer_id.label("second_id"),
            literal(DuplicateReason.IDENTITY.value, String(16)).label("reason"),
        )
        .join(two, and_(two.value == one.value, two.customer_id > one.customer_id))
        .join(c1, c1.id == one.customer_id)
        .join(c2, c2.id == two.customer_id)
        .where(
            one.type.like("WECHAT%"),
            two.type.like("WECHAT%"),
            one.value.in_(few),
            _live(c1),
            _live(c2),
        )
    )


def _candidates() -> Any:
    """One row per pair: its ids, a 0/1 flag per reason and the score, as SQL."""
    shared = union_all(
        _pairs_by_wechat_id(),
        _pairs_sharing("phone", DuplicateReason.PHONE),
        _pairs_sharing("email", DuplicateReason.EMAIL),
    ).subquery("shared")
    flags = {
        reason: func.max(case((shared.c.reason == reason.value, 1), else_=0))
        for reason in DuplicateReason
    }
    # score = 100 − 100 × Π(100 − weight of each shared reason) / 100^n: every reason
    # multiplies in (100 − weight) when shared and 100 when not (domain.merging).
    product: Any = literal(100, Integer)
    for reason, flag in flags.items():
        product = product * case((flag == 1, 100 - REASON_WEIGHTS[reason]), else_=100)
    rank = product / (100 ** len(flags))  # 100 − score, the ascending sort key
    return (
        select(
            shared.c.first_id,
            shared.c.second_id,
            *(flag.label(reason.value.lower()) for reason, flag in flags.items()),
            rank.label("rank"),
        )
        .group_by(shared.c.first_id, shared.c.second_id)
        .subquery("candidates")
    )


async def duplicate_pairs(
    session: AsyncSession, after: Sequence[Any] | None, first: int
) -> Page[DuplicatePair]:
    """Pairs by score (highest first), then by their ids; the cursor is (100 − score,
    first id, second id)."""
    c = _candidates()
    statement = select(c)
    if after is not None:
        statement = statement.where(
            after_clause(SortKey((c.c.rank, c.c.first_id, c.c.second_id)), after)
        )
    statement = statement.order_by(c.c.rank, c.c.first_id, c.c.second_id).limit(first + 1)
    rows = (await session.execute(statement)).all()
    pairs = [
        DuplicatePair(
            first_id=row.first_id,
            second_id=row.second_id,
            reasons=tuple(r for r in DuplicateReason if getattr(row, r.value.lower())),
            score=100 - int(row.rank),
        )
        for row in rows
    ]
    page = page_of(pairs, first, lambda p: (100 - p.score, p.first_id, p.second_id))
    return page


async def count_duplicate_pairs(session: AsyncSession) -> int:
    return int(
        (await session.execute(select(func.count()).select_from(_candidates()))).scalar_one()
    )
