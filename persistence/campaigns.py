"""Campaigns, their frozen audiences, touchpoints and order attributions: the rows,
the repository, and the reads the API serves.

Set-based throughout:
- `freeze_audience` is one INSERT … SELECT over the segment's members, each row's
  arm computed in SQL by the same integer hash as `domain.campaigns.bucket_of`.
- `add_touchpoints` is one multi-row INSERT for a call's new touchpoints.
- `attribute_orders` is one INSERT … SELECT for a batch of new orders: the candidate
  campaigns of each order (unflagged SENTs of its customer at or before it, whose
  first SENT's window is still open), ranked by their latest SENT, the first kept.
- `funnel_counts` is two GROUP BY statements (steps and conversions; attributions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain import campaigns as domain
from domain.campaigns import (
    CAMPAIGNS,
    HOLDOUT,
    PRIME,
    ArmCounts,
    Campaign,
    Channel,
    Touchpoint,
    TouchpointEvent,
    TouchpointFlag,
    Variant,
)
from domain.program import ProgramSettings
from domain.segment_rules import RuleErrors, parse_rule
from persistence.base import Base
from persistence.coupons import CouponTemplateRow
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.pagination import Page, PageRequest, SortKey, keyset, page_of, pages_per_parent
from persistence.program import load_program
from persistence.repositories import register
from persistence.segments.compiler import members_statement, rule_context
from persistence.segments.rows import SegmentRow
from persistence.statements import dialect_name, one_of
from persistence.types import BigId, JsonDocument, UtcDateTime


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    # No foreign key: a segment deleted after the campaign started leaves the frozen
    # audience as it was; one deleted before the start is refused by campaignStart.
    segment_id: Mapped[int | None] = mapped_column(BigId)
    # [{name, weight, messageTemplate, couponTemplateId}], in order (the first is the
    # A/B baseline); read and written whole with the campaign.
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    holdout_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    attribution_days: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # started_at + attribution_days: the holdout's conversion window ends here.
    holdout_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignAudienceRow(Base):
    """The segment's members when the campaign started, with the arm of each."""

    __tablename__ = "campaign_audience"

    campaign_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    arm: Mapped[str] = mapped_column(String(50))  # a variant's name, or HOLDOUT


class TouchpointRow(Base):
    __tablename__ = "campaign_touchpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    variant: Mapped[str] = mapped_column(String(50))
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    flag: Mapped[str | None] = mapped_column(String(32))
    window_ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Attribution: a customer's SENTs by time; the funnel: a campaign's customers.
        Index("ix_campaign_touchpoints_customer_event_at", "customer_id", "event", "at"),
        Index("ix_campaign_touchpoints_campaign_customer", "campaign_id", "customer_id"),
        # 触达转化率 in the metrics: the SENTs of a period (persistence/metric_dimensions.py).
        Index("ix_campaign_touchpoints_event_at", "event", "at", "customer_id"),
    )


class OrderAttributionRow(Base):
    """The campaign (and arm) an order is attributed to, decided when it is recorded."""

    __tablename__ = "order_attributions"

    order_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("campaigns.id"), index=True)
    arm: Mapped[str] = mapped_column(String(50))


def _variants_of(data: Sequence[dict[str, Any]]) -> list[Variant]:
    return [
        Variant(d["name"], int(d["weight"]), d.get("messageTemplate"), d.get("couponTemplateId"))
        for d in data
    ]


def _variants_data(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    return [
        {
            "name": v.name,
            "weight": v.weight,
            "messageTemplate": v.message_template,
            "couponTemplateId": v.coupon_template_id,
        }
        for v in variants
    ]


def to_domain(row: CampaignRow) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        channel=Channel(row.channel),
        segment_id=row.segment_id,
        variants=_variants_of(row.variants),
        holdout_share=Decimal(row.holdout_share).quantize(Decimal("0.0001")),
        attribution_days=row.attribution_days,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        archived_at=row.archived_at,
    )


def _values(c: Campaign) -> dict[str, Any]:
    return {
        "name": c.name,
        "channel": c.channel.value,
        "segment_id": c.segment_id,
        "variants": _variants_data(c.variants),
        "holdout_share": c.holdout_share,
        "attribution_days": c.attribution_days,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "started_at": c.started_at,
        "holdout_ends_at": window[1] if (window := c.holdout_window()) else None,
        "archived_at": c.archived_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def touchpoint_to_domain(row: TouchpointRow) -> Touchpoint:
    return Touchpoint(
        id=row.id,
        campaign_id=row.campaign_id,
        customer_id=row.customer_id,
        variant=row.variant,
        event=TouchpointEvent(row.event),
        at=row.at,
        idempotency_key=row.idempotency_key,
        request_hash=row.request_hash,
        recorded_at=row.recorded_at,
        flag=TouchpointFlag(row.flag) if row.flag else None,
        window_ends_at=row.window_ends_at,
    )


def bucket_sql(campaign_id: int, customer_id: Any) -> ColumnElement[Any]:
    """`domain.campaigns.bucket_of` in SQL: the same integer arithmetic (BIGINT, each
    product below 2⁶²), so the database and Python agree on every customer."""
    a1, b1, a2, b2 = (literal(v, BigInteger()) for v in domain.salt(campaign_id))
    prime = literal(PRIME, BigInteger())
    first = (a1 * (customer_id % prime) + b1) % prime
    bucket: ColumnElement[Any] = ((a2 * first + b2) % prime) % literal(domain.BUCKETS, BigInteger())
    return bucket


def arm_sql(campaign: Campaign, bucket: Any) -> ColumnElement[Any]:
    bounds = campaign.thresholds()
    if len(bounds) == 1:
        return literal(bounds[0][1], String())
    return case(
        *[(bucket < upper, literal(arm, String())) for upper, arm in bounds[:-1]],
        else_=literal(bounds[-1][1], String()),
    )


class SqlCampaignRepository:
    def __init__(self, session: AsyncSession, defaults: ProgramSettings) -> None:
        self.session = session
        self.defaults = defaults

    async def get(self, campaign_id: int, *, for_update: bool = False) -> Campaign | None:
        statement = select(CampaignRow).where(CampaignRow.id == campaign_id)
        if for_update:
            statement = statement.with_for_update()
        statement = statement.execution_options(populate_existing=True)
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return to_domain(row) if row else None

    async def add(self, campaign: Campaign) -> Campaign:
        row = CampaignRow(**_values(campaign))
        self.session.add(row)
        await self.session.flush()
        campaign.id = row.id
        return campaign

    async def save(self, campaign: Campaign) -> None:
        await self.session.execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign.id)
            .values(**_values(campaign))
            .execution_options(synchronize_session=False)
        )

    async def segment_rule(self, segment_id: int) -> str | None:
        found = await self.session.execute(
            select(SegmentRow.rule).where(SegmentRow.id == segment_id)
        )
        rule: str | None = found.scalar_one_or_none()
        return rule

    async def missing_coupon_templates(self, template_ids: Sequence[int]) -> set[int]:
        found = await self.session.execute(
            select(CouponTemplateRow.id).where(CouponTemplateRow.id.in_(list(template_ids)))
        )
        return set(template_ids) - set(found.scalars())

    async def freeze_audience(self, campaign: Campaign, rule: str, as_of: datetime) -> int:
        try:
            parsed = parse_rule(rule)
        except RuleErrors:
            return 0  # a rule the language no longer reads matches nobody
        program = await load_program(self.session, self.defaults)
        ctx = rule_context(parsed, as_of, program, dialect_name(self.session))
        campaign_id = campaign.id
        if campaign_id is None:
            raise AssertionError("a started campaign has its id")
        members = members_statement(
            parsed,
            ctx,
            CustomerRow.id.label("customer_id"),
            bucket_sql(campaign_id, CustomerRow.id).label("bucket"),
        ).subquery("members")
        source = select(
            literal(campaign_id, BigId),
            members.c.customer_id,
            arm_sql(campaign, members.c.bucket),
        )
        await self.session.execute(
            insert(CampaignAudienceRow).from_select(["campaign_id", "customer_id", "arm"], source)
        )
        # Counted in the database: RETURNING would carry every member back to Python.
        size = await self.session.scalar(
            select(func.count()).where(CampaignAudienceRow.campaign_id == campaign_id)
        )
        return int(size or 0)

    async def many(self, campaign_ids: Sequence[int]) -> dict[int, Campaign]:
        if not campaign_ids:
            return {}
        rows = await self.session.execute(
            select(CampaignRow).where(CampaignRow.id.in_(list(campaign_ids)))
        )
        return {r.id: to_domain(r) for r in rows.scalars()}

    async def arms(self, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
        if not pairs:
            return {}
        rows = await self.session.execute(
            select(
                CampaignAudienceRow.campaign_id,
                CampaignAudienceRow.customer_id,
                CampaignAudienceRow.arm,
            ).where(
                tuple_(CampaignAudienceRow.campaign_id, CampaignAudienceRow.customer_id).in_(
                    sorted(set(pairs))
                )
            )
        )
        return {(c, k): arm for c, k, arm in rows.all()}

    async def touchpoints_by_keys(self, keys: Sequence[str]) -> dict[str, Touchpoint]:
        if not keys:
            return {}
        rows = await self.session.execute(
            select(TouchpointRow).where(TouchpointRow.idempotency_key.in_(list(set(keys))))
        )
        return {r.idempotency_key: touchpoint_to_domain(r) for r in rows.scalars()}

    async def add_touchpoints(self, touchpoints: Sequence[Touchpoint]) -> None:
        if not touchpoints:
            return
        # A plain multi-row INSERT (one executemany), then the ids by their keys:
        # RETURNING with the rows' order kept would cost a statement per row on SQLite.
        await self.session.execute(
            insert(TouchpointRow),
            [
                {
                    "campaign_id": t.campaign_id,
                    "customer_id": t.customer_id,
                    "variant": t.variant,
                    "event": t.event.value,
                    "at": t.at,
                    "idempotency_key": t.idempotency_key,
                    "request_hash": t.request_hash,
                    "recorded_at": t.recorded_at,
                    "flag": t.flag.value if t.flag else None,
                    "window_ends_at": t.window_ends_at,
                }
                for t in touchpoints
            ],
        )
        found = await self.session.execute(
            select(TouchpointRow.idempotency_key, TouchpointRow.id).where(
                TouchpointRow.idempotency_key.in_([t.idempotency_key for t in touchpoints])
            )
        )
        new_ids = {key: new_id for key, new_id in found.all()}
        for touchpoint in touchpoints:
            touchpoint.id = new_ids[touchpoint.idempotency_key]

    async def attribute_orders(self, order_ids: Sequence[int]) -> None:
        if not order_ids:
            return
        sent = TouchpointRow
        candidates = (
            select(
                OrderRow.id.label("order_id"),
                OrderRow.customer_id.label("customer_id"),
                sent.campaign_id.label("campaign_id"),
                func.max(sent.at).label("last_sent"),
            )
            .join(sent, sent.customer_id == OrderRow.customer_id)
            .where(
                one_of(self.session, OrderRow.id, order_ids),
                sent.event == TouchpointEvent.SENT.value,
                sent.flag.is_(None),
                sent.at <= OrderRow.placed_at,
            )
            .group_by(OrderRow.id, OrderRow.customer_id, OrderRow.placed_at, sent.campaign_id)
            # The first SENT's window (the earliest SENT has the earliest end).
            .having(func.min(sent.window_ends_at) > OrderRow.placed_at)
            .subquery("candidates")
        )
        ranked = select(
            candidates,
            func.row_number()
            .over(
                partition_by=candidates.c.order_id,
                order_by=(candidates.c.last_sent.desc(), candidates.c.campaign_id.desc()),
            )
            .label("rank"),
        ).subquery("ranked")
        source = (
            select(ranked.c.order_id, ranked.c.campaign_id, CampaignAudienceRow.arm)
            .join(
                CampaignAudienceRow,
                and_(
                    CampaignAudienceRow.campaign_id == ranked.c.campaign_id,
                    CampaignAudienceRow.customer_id == ranked.c.customer_id,
                ),
            )
            .where(ranked.c.rank == 1)
        )
        await self.session.execute(
            insert(OrderAttributionRow).from_select(["order_id", "campaign_id", "arm"], source)
        )


# ---- reads for the API -------------------------------------------------------------

CAMPAIGNS_SORT = SortKey((CampaignRow.id,), descending=True)
AUDIENCE_SORT = SortKey((CampaignAudienceRow.customer_id,))


@dataclass(frozen=True)
class CampaignFilter:
    include_archived: bool = False


async def list_campaigns(
    session: AsyncSession, criteria: CampaignFilter, after: Sequence[Any] | None, first: int
) -> Page[Campaign]:
    statement = select(CampaignRow)
    if not criteria.include_archived:
        statement = statement.where(CampaignRow.archived_at.is_(None))
    rows = (await session.execute(keyset(statement, CAMPAIGNS_SORT, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_campaigns(session: AsyncSession, criteria: CampaignFilter) -> int:
    statement = select(func.count()).select_from(CampaignRow)
    if not criteria.include_archived:
        statement = statement.where(CampaignRow.archived_at.is_(None))
    return int((await session.execute(statement)).scalar_one())


async def campaigns_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Campaign]:
    rows = await session.execute(select(CampaignRow).where(CampaignRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


@dataclass(frozen=True)
class Member:
    campaign_id: int
    customer_id: int
    arm: str


async def audience_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Member]]:
    """Campaigns' audience pages by customer id, for a page of campaigns in one query."""
    pages = await pages_per_parent(
        session,
        CampaignAudienceRow,
        CampaignAudienceRow.campaign_id,
        AUDIENCE_SORT,
        requests,
        lambda r: (r.customer_id,),
    )
    return {
        k: Page([Member(r.campaign_id, r.customer_id, r.arm) for r in p.items], p.keys, p.has_next)
        for k, p in pages.items()
    }


async def audience_counts(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(CampaignAudienceRow.campaign_id, func.count())
        .where(CampaignAudienceRow.campaign_id.in_(list(campaign_ids)))
        .group_by(CampaignAudienceRow.campaign_id)
    )
    found = dict.fromkeys(campaign_ids, 0)
    found.update({campaign_id: int(total) for campaign_id, total in rows.all()})
    return found


async def members(
    session: AsyncSession, pairs: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], str]:
    """The frozen arm of each (campaign id, customer id) in an audience."""
    return await SqlCampaignRepository(session, ProgramSettings()).arms(pairs)


async def attributions_of_orders(
    session: AsyncSession, order_ids: Sequence[int]
) -> dict[int, tuple[int, str]]:
    """The (campaign id, arm) each attributed order is attributed to."""
    rows = await session.execute(
        select(
            OrderAttributionRow.order_id, OrderAttributionRow.campaign_id, OrderAttributionRow.arm
        ).where(OrderAttributionRow.order_id.in_(list(order_ids)))
    )
    return {order_id: (campaign_id, arm) for order_id, campaign_id, arm in rows.all()}


def _counted() -> ColumnElement[bool]:
    return OrderRow.refunded_amount < OrderRow.amount


async def funnel_counts(
    session: AsyncSession, campaign_ids: Sequence[int]
) -> dict[int, list[ArmCounts]]:
    """Per started campaign, per arm in arm order (the variants, then HOLDOUT): the
    audience, the customers at each step (their unflagged touchpoints), those who
    converted, and the counted orders attributed with their net revenue. Two GROUP BY
    statements for any number of campaigns (the `Campaign.funnel` loader)."""
    campaigns = await campaigns_by_ids(session, campaign_ids)
    started = [cid for cid, c in campaigns.items() if c.started_at is not None]
    if not started:
        return {}
    flags = [
        func.max(case((TouchpointRow.event == step.value, 1), else_=0)).label(step.value)
        for step in domain.FUNNEL_STEPS
    ]
    touched = (
        select(
            TouchpointRow.campaign_id.label("campaign_id"),
            TouchpointRow.customer_id.label("customer_id"),
            *flags,
            func.min(
                case((TouchpointRow.event == TouchpointEvent.SENT.value, TouchpointRow.at))
            ).label("first_sent"),
            func.min(TouchpointRow.window_ends_at).label("window_ends"),
        )
        .where(TouchpointRow.campaign_id.in_(started), TouchpointRow.flag.is_(None))
        .group_by(TouchpointRow.campaign_id, TouchpointRow.customer_id)
        .subquery("touched")
    )
    audience = CampaignAudienceRow
    holdout = audience.arm == HOLDOUT
    converted = exists().where(
        OrderRow.customer_id == audience.customer_id,
        _counted(),
        or_(
            and_(
                holdout,
                OrderRow.placed_at >= CampaignRow.started_at,
                OrderRow.placed_at < CampaignRow.holdout_ends_at,
            ),
            and_(
                ~holdout,
                OrderRow.placed_at >= touched.c.first_sent,
                OrderRow.placed_at < touched.c.window_ends,
            ),
        ),
    )
    step_sums = [
        func.coalesce(func.sum(func.coalesce(touched.c[step.value], 0)), 0)
        for step in domain.FUNNEL_STEPS
    ]
    rows = await session.execute(
        select(
            audience.campaign_id,
            audience.arm,
            func.count(),
            *step_sums,
            func.coalesce(func.sum(case((converted, 1), else_=0)), 0),
        )
        .select_from(audience)
        .join(CampaignRow, CampaignRow.id == audience.campaign_id)
        .outerjoin(
            touched,
            and_(
                touched.c.campaign_id == audience.campaign_id,
                touched.c.customer_id == audience.customer_id,
            ),
        )
        .where(audience.campaign_id.in_(started))
        .group_by(audience.campaign_id, audience.arm)
    )
    figures = {(row[0], row[1]): [int(v) for v in row[2:]] for row in rows.all()}
    attributed = await session.execute(
        select(
            OrderAttributionRow.campaign_id,
            OrderAttributionRow.arm,
            func.count(),
            func.coalesce(func.sum(OrderRow.amount - OrderRow.refunded_amount), 0),
        )
        .join(OrderRow, OrderRow.id == OrderAttributionRow.order_id)
        .where(OrderAttributionRow.campaign_id.in_(started), _counted())
        .group_by(OrderAttributionRow.campaign_id, OrderAttributionRow.arm)
    )
    revenue = {(cid, arm): (int(n), Decimal(total)) for cid, arm, n, total in attributed.all()}
    found: dict[int, list[ArmCounts]] = {}
    for campaign_id in started:
        campaign = campaigns[campaign_id]
        arms = [v.name for v in campaign.variants]
        if campaign.holdout_share > 0:
            arms.append(HOLDOUT)
        found[campaign_id] = []
        for arm in arms:
            values = figures.get((campaign_id, arm), [0] * (2 + len(domain.FUNNEL_STEPS)))
            orders, money = revenue.get((campaign_id, arm), (0, Decimal(0)))
            found[campaign_id].append(
                ArmCounts(
                    arm=arm,
                    audience=values[0],
                    steps=dict(zip(domain.FUNNEL_STEPS, values[1:-1], strict=True)),
                    converted=values[-1],
                    attributed_orders=orders,
                    attributed_revenue=Decimal(money).quantize(Decimal("0.01")),
                )
            )
    return found


register(CAMPAIGNS, lambda tx: SqlCampaignRepository(tx.session, tx.program_defaults))
