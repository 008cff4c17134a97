"""Coupon templates and coupons: their rows, the repository, and the reads the API serves.

A bulk issue is one INSERT … SELECT over the target customers (a list, or a
segment's rule compiled to SQL), so a segment of a hundred thousand costs the same
few statements as one of ten. Its unguessable codes are drawn in Python and handed
to the statement as one string: row n takes characters (n − 1) × 13 + 1 … n × 13.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.coupons import (
    COUPONS,
    BulkOutcome,
    BulkTarget,
    Coupon,
    CouponAudience,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    ExpiryNotice,
)
from domain.program import ProgramSettings
from domain.redemptions import CODE_LENGTH
from domain.segment_rules import RuleErrors, parse_rule
from persistence.base import Base
from persistence.classification import classification_query
from persistence.customers import CustomerRow
from persistence.pagination import (
    Page,
    PageRequest,
    SortKey,
    keyset,
    page_of,
    pages_per_parent,
)
from persistence.program import load_program
from persistence.repositories import register
from persistence.segments.compiler import RuleContext, rule_clause
from persistence.segments.rows import SegmentRow
from persistence.statements import dialect_name, rows_matched
from persistence.tiers import TierRow
from persistence.types import BigId, UtcDateTime


class CouponTemplateRow(Base):
    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(32))
    amount_off: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    max_discount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    min_spend: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    product_sku: Mapped[str | None] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(16))
    audience_tier_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tiers.id"))
    # No foreign key: a deleted segment leaves an audience that matches nobody.
    audience_segment_id: Mapped[int | None] = mapped_column(BigId)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    total_limit: Mapped[int | None] = mapped_column(Integer)
    issued_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stackable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        # The last line of defence against over-issuing, whatever the code does.
        CheckConstraint(
            "total_limit IS NULL OR issued_count <= total_limit", name="issued_within_limit"
        ),
    )


class CouponRow(Base):
    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    template_id: Mapped[int] = mapped_column(BigId, ForeignKey("coupon_templates.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    order_external_id: Mapped[str | None] = mapped_column(String(128))
    redemption_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("redemptions.id"), index=True
    )
    expiry_notice_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_coupons_customer_id_id", "customer_id", "id"),
        Index("ix_coupons_template_id_customer_id", "template_id", "customer_id"),
        Index("ix_coupons_status_valid_until", "status", "valid_until"),
        Index("ix_coupons_order_external_id", "order_external_id"),
        Index("ix_coupons_template_id_issued_at", "template_id", "issued_at"),
    )


def template_to_domain(row: CouponTemplateRow) -> CouponTemplate:
    def money(value: Decimal | None) -> Decimal | None:
        return Decimal(value) if value is not None else None

    return CouponTemplate(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=CouponKind(row.kind),
        amount_off=money(row.amount_off),
        percent_off=money(row.percent_off),
        max_discount=money(row.max_discount),
        min_spend=Decimal(row.min_spend),
        product_sku=row.product_sku,
        audience=CouponAudience(row.audience),
        audience_tier_id=row.audience_tier_id,
        audience_segment_id=row.audience_segment_id,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        valid_days=row.valid_days,
        per_customer_limit=row.per_customer_limit,
        total_limit=row.total_limit,
        issued_count=row.issued_count,
        stackable=row.stackable,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _template_values(t: CouponTemplate) -> dict[str, Any]:
    """Everything but issued_count, which only the issuing statements change."""
    return {
        "name": t.name,
        "description": t.description,
        "kind": t.kind.value,
        "amount_off": t.amount_off,
        "percent_off": t.percent_off,
        "max_discount": t.max_discount,
        "min_spend": t.min_spend,
        "product_sku": t.product_sku,
        "audience": t.audience.value,
        "audience_tier_id": t.audience_tier_id,
        "audience_segment_id": t.audience_segment_id,
        "valid_from": t.valid_from,
        "valid_until": t.valid_until,
        "valid_days": t.valid_days,
        "per_customer_limit": t.per_customer_limit,
        "total_limit": t.total_limit,
        "stackable": t.stackable,
        "archived_at": t.archived_at,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def coupon_to_domain(row: CouponRow) -> Coupon:
    return Coupon(
        id=row.id,
        customer_id=row.customer_id,
        template_id=row.template_id,
        code=row.code,
        status=CouponStatus(row.status),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        issued_at=row.issued_at,
        used_at=row.used_at,
        order_external_id=row.order_external_id,
        redemption_id=row.redemption_id,
    )


async def _audience_clause(
    session: AsyncSession, template: CouponTemplate, as_of: datetime, program: ProgramSettings
) -> tuple[ColumnElement[bool], Any]:
    """The template's audience as a condition on `customers`, and the classification
    subquery to outer-join when the segment's rule needs order figures (else None)."""
    if template.audience is CouponAudience.TIER:
        rank = select(TierRow.rank).where(TierRow.id == template.audience_tier_id).scalar_subquery()
        return CustomerRow.tier_id.in_(select(TierRow.id).where(TierRow.rank >= rank)), None
    if template.audience is CouponAudience.SEGMENT:
        segment = await session.get(SegmentRow, template.audience_segment_id)
        if segment is None:
            return false(), None
        try:
            rule = parse_rule(segment.rule)
        except RuleErrors:
            return false(), None
        classification = None
        if rule.uses_orders:
            classification = classification_query(as_of, program).subquery("audience_cls")
        ctx = RuleContext(as_of, program, dialect_name(session), classification)
        return rule_clause(rule, ctx), classification
    return true(), None


def _joined(statement: Select[Any], classification: Any) -> Select[Any]:
    if classification is None:
        return statement
    return statement.outerjoin(classification, classification.c.customer_id == CustomerRow.id)


class SqlCouponRepository:
    def __init__(self, session: AsyncSession, defaults: ProgramSettings) -> None:
        self.session = session
        self.defaults = defaults

    # ---- templates --------------------------------------------------------------

    async def get_template(
        self, template_id: int, *, for_update: bool = False
    ) -> CouponTemplate | None:
        statement = select(CouponTemplateRow).where(CouponTemplateRow.id == template_id)
        if for_update:
            statement = statement.with_for_update()
        statement = statement.execution_options(populate_existing=True)
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return template_to_domain(row) if row else None

    async def add_template(self, template: CouponTemplate) -> CouponTemplate:
        row = CouponTemplateRow(**_template_values(template), issued_count=0)
        self.session.add(row)
        await self.session.flush()
        template.id = row.id
        return template

    async def save_template(self, template: CouponTemplate) -> None:
        await self.session.execute(
            update(CouponTemplateRow)
            .where(CouponTemplateRow.id == template.id)
            .values(**_template_values(template))
            .execution_options(synchronize_session=False)
        )

    async def eligible(self, template: CouponTemplate, customer_id: int, as_of: datetime) -> bool:
        if template.audience is CouponAudience.ANY:
            return True
        program = await load_program(self.session, self.defaults)
        clause, classification = await _audience_clause(self.session, template, as_of, program)
        statement = _joined(select(CustomerRow.id).select_from(CustomerRow), classification)
        statement = statement.where(CustomerRow.id == customer_id, clause)
        return (await self.session.execute(statement)).first() is not None

    # ---- issuing ----------------------------------------------------------------

    async def count_held(self, template_id: int, customer_id: int) -> int:
        statement = select(func.count()).where(
            CouponRow.template_id == template_id,
            CouponRow.customer_id == customer_id,
            CouponRow.status != CouponStatus.REVOKED.value,  # a withdrawn one gives the right back
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def add(self, coupon: Coupon) -> Coupon:
        row = CouponRow(
            customer_id=coupon.customer_id,
            template_id=coupon.template_id,
            code=coupon.code,
            status=coupon.status.value,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            issued_at=coupon.issued_at,
            redemption_id=coupon.redemption_id,
        )
        self.session.add(row)
        await self.session.flush()
        coupon.id = row.id
        return coupon

    async def count_issued_one(self, template_id: int) -> None:
        await self.session.execute(
            update(CouponTemplateRow)
            .where(CouponTemplateRow.id == template_id)
            .values(issued_count=CouponTemplateRow.issued_count + 1)
            .execution_options(synchronize_session=False)
        )

    async def issue_bulk(
        self,
        template: CouponTemplate,
        target: BulkTarget,
        now: datetime,
        program: ProgramSettings,
        window: tuple[datetime, datetime],
        make_codes: Callable[[int], list[str]],
    ) -> BulkOutcome:
        dialect = dialect_name(self.session)
        template_id = template.id
        # Whom the call is for: the listed customers, or the segment's members now.
        if target.segment_rule is not None:
            try:
                rule = parse_rule(target.segment_rule)
            except RuleErrors:
                return BulkOutcome(0, 0, False)
            target_cls = None
            if rule.uses_orders:
                target_cls = classification_query(now, program).subquery("target_cls")
            ctx = RuleContext(now, program, dialect, target_cls)
            targeted = _joined(select(CustomerRow.id).select_from(CustomerRow), target_cls).where(
                rule_clause(rule, ctx)
            )
        else:
            target_cls = None
            targeted = select(CustomerRow.id).where(
                CustomerRow.id.in_(list(dict.fromkeys(target.customer_ids)))
            )
        targeted = targeted.where(
            CustomerRow.erased_at.is_(None), CustomerRow.merged_into_id.is_(None)
        )
        requested = int(
            (
                await self.session.execute(select(func.count()).select_from(targeted.subquery()))
            ).scalar_one()
        )
        # Of those: in the audience, and without a coupon of this template yet.
        audience, audience_cls = await _audience_clause(self.session, template, now, program)
        candidates = _joined(targeted, audience_cls).where(
            audience,
            ~exists().where(
                CouponRow.template_id == template_id,
                CouponRow.customer_id == CustomerRow.id,
                CouponRow.status != CouponStatus.REVOKED.value,
            ),
        )
        ranked = candidates.add_columns(
            func.row_number().over(order_by=CustomerRow.id).label("rn")
        ).subquery("ranked")
        count = int(
            (await self.session.execute(select(func.count()).select_from(ranked))).scalar_one()
        )
        room = count
        if template.total_limit is not None:
            room = min(count, template.total_limit - template.issued_count)
        if room <= 0:
            return BulkOutcome(requested, 0, count > 0)
        codes = "".join(make_codes(room))
        start = cast((ranked.c.rn - 1) * CODE_LENGTH + 1, Integer)
        source = select(
            ranked.c.id,
            literal(template_id, BigId),
            func.substr(literal(codes, String()), start, CODE_LENGTH),
            literal(CouponStatus.ISSUED.value, String()),
            literal(window[0], UtcDateTime()),
            literal(window[1], UtcDateTime()),
            literal(now, UtcDateTime()),
        ).where(ranked.c.rn <= room)
        # RETURNING counts the rows on both databases (a driver may report no rowcount).
        result = await self.session.execute(
            insert(CouponRow)
            .from_select(
                [
                    "customer_id",
                    "template_id",
                    "code",
                    "status",
                    "valid_from",
                    "valid_until",
                    "issued_at",
                ],
                source,
            )
            .returning(CouponRow.id)
        )
        issued = len(result.all())
        await self.session.execute(
            update(CouponTemplateRow)
            .where(CouponTemplateRow.id == template_id)
            .values(issued_count=CouponTemplateRow.issued_count + issued)
            .execution_options(synchronize_session=False)
        )
        return BulkOutcome(requested, issued, room < count)

    # ---- checkout ---------------------------------------------------------------

    async def get(self, coupon_id: int) -> Coupon | None:
        row = await self.session.get(CouponRow, coupon_id, populate_existing=True)
        return coupon_to_domain(row) if row else None

    async def by_code(self, code: str) -> Coupon | None:
        statement = select(CouponRow).where(CouponRow.code == code)
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return coupon_to_domain(row) if row else None

    async def by_codes(self, codes: Sequence[str]) -> list[Coupon]:
        statement = select(CouponRow).where(CouponRow.code.in_(list(codes)))
        return [coupon_to_domain(r) for r in (await self.session.execute(statement)).scalars()]

    async def on_order(self, order_external_id: str) -> list[Coupon]:
        statement = select(CouponRow).where(
            CouponRow.order_external_id == order_external_id,
            CouponRow.status == CouponStatus.USED.value,
        )
        return [coupon_to_domain(r) for r in (await self.session.execute(statement)).scalars()]

    async def mark_used(self, coupon_id: int, order_external_id: str, at: datetime) -> bool:
        # One statement: PostgreSQL re-checks the WHERE on the row as the previous
        # user committed it, so of N racing uses exactly one matches.
        result = await self.session.execute(
            update(CouponRow)
            .where(CouponRow.id == coupon_id, CouponRow.status == CouponStatus.ISSUED.value)
            .values(status=CouponStatus.USED.value, used_at=at, order_external_id=order_external_id)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result) == 1

    async def revoke_for_redemption(self, redemption_id: int) -> CouponStatus | None:
        statement = (
            select(CouponRow).where(CouponRow.redemption_id == redemption_id).with_for_update()
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        if row is None:
            return None
        before = CouponStatus(row.status)
        if before is CouponStatus.ISSUED:
            await self.session.execute(
                update(CouponRow)
                .where(CouponRow.id == row.id, CouponRow.status == CouponStatus.ISSUED.value)
                .values(status=CouponStatus.REVOKED.value)
                .execution_options(synchronize_session=False)
            )
        return before

    async def restore_for_order(self, customer_id: int, order_external_id: str) -> int:
        result = await self.session.execute(
            update(CouponRow)
            .where(
                CouponRow.customer_id == customer_id,
                CouponRow.order_external_id == order_external_id,
                CouponRow.status == CouponStatus.USED.value,
            )
            .values(status=CouponStatus.ISSUED.value, used_at=None, order_external_id=None)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result)

    # ---- the daily pass ---------------------------------------------------------

    async def expire_due(self, as_of: datetime) -> int:
        result = await self.session.execute(
            update(CouponRow)
            .where(CouponRow.status == CouponStatus.ISSUED.value, CouponRow.valid_until <= as_of)
            .values(status=CouponStatus.EXPIRED.value)
            .execution_options(synchronize_session=False)
        )
        return rows_matched(result)

    async def expiry_notices_due(
        self, as_of: datetime, horizon: datetime, limit: int
    ) -> list[ExpiryNotice]:
        statement = (
            select(
                CouponRow.id, CouponRow.customer_id, CouponRow.template_id, CouponRow.valid_until
            )
            .where(
                CouponRow.status == CouponStatus.ISSUED.value,
                CouponRow.expiry_notice_at.is_(None),
                CouponRow.valid_until > as_of,
                CouponRow.valid_until <= horizon,
            )
            .order_by(CouponRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = (await self.session.execute(statement)).all()
        if not rows:
            return []
        await self.session.execute(
            update(CouponRow)
            .where(CouponRow.id.in_([r.id for r in rows]))
            .values(expiry_notice_at=as_of)
            .execution_options(synchronize_session=False)
        )
        return [ExpiryNotice(r.id, r.customer_id, r.template_id, r.valid_until) for r in rows]


# ---- reads for the API -------------------------------------------------------------

TEMPLATES_SORT = SortKey((CouponTemplateRow.id,), descending=True)
COUPONS_SORT = SortKey((CouponRow.id,), descending=True)


@dataclass(frozen=True)
class TemplateFilter:
    include_archived: bool = False


async def list_templates(
    session: AsyncSession, criteria: TemplateFilter, after: Sequence[Any] | None, first: int
) -> Page[CouponTemplate]:
    statement = select(CouponTemplateRow)
    if not criteria.include_archived:
        statement = statement.where(CouponTemplateRow.archived_at.is_(None))
    rows = (await session.execute(keyset(statement, TEMPLATES_SORT, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([template_to_domain(r) for r in page.items], page.keys, page.has_next)


async def count_templates(session: AsyncSession, criteria: TemplateFilter) -> int:
    statement = select(func.count()).select_from(CouponTemplateRow)
    if not criteria.include_archived:
        statement = statement.where(CouponTemplateRow.archived_at.is_(None))
    return int((await session.execute(statement)).scalar_one())


async def templates_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, CouponTemplate]:
    rows = await session.execute(
        select(CouponTemplateRow).where(CouponTemplateRow.id.in_(list(ids)))
    )
    return {r.id: template_to_domain(r) for r in rows.scalars()}


async def coupons_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Coupon]:
    rows = await session.execute(select(CouponRow).where(CouponRow.id.in_(list(ids))))
    return {r.id: coupon_to_domain(r) for r in rows.scalars()}


async def coupons_of_redemptions(
    session: AsyncSession, redemption_ids: Sequence[int]
) -> dict[int, Coupon]:
    """The coupon each COUPON-reward redemption bought (others have none)."""
    rows = await session.execute(
        select(CouponRow).where(CouponRow.redemption_id.in_(list(redemption_ids)))
    )
    return {r.redemption_id: coupon_to_domain(r) for r in rows.scalars() if r.redemption_id}


def status_clause(status: CouponStatus | None, now: datetime) -> ColumnElement[bool]:
    """The status a shopper sees as of `now` (an issued coupon past its end is
    expired before the daily pass writes it down)."""
    issued = CouponRow.status == CouponStatus.ISSUED.value
    if status is CouponStatus.ISSUED:
        return and_(issued, CouponRow.valid_until > now)
    if status is CouponStatus.EXPIRED:
        return or_(
            CouponRow.status == CouponStatus.EXPIRED.value,
            and_(issued, CouponRow.valid_until <= now),
        )
    if status is not None:
        return CouponRow.status == status.value
    return true()


async def coupon_pages(
    session: AsyncSession,
    requests: Sequence[PageRequest],
    *,
    status: CouponStatus | None = None,
    now: datetime | None = None,
) -> dict[PageRequest, Page[Coupon]]:
    """A customer's coupons, newest first, for a page of customers in one query."""
    clause = status_clause(status, now) if now is not None else true()
    pages = await pages_per_parent(
        session,
        CouponRow,
        CouponRow.customer_id,
        COUPONS_SORT,
        requests,
        lambda r: (r.id,),
        narrow=lambda statement: statement.where(clause),
    )
    return {
        k: Page([coupon_to_domain(r) for r in p.items], p.keys, p.has_next)
        for k, p in pages.items()
    }


async def coupon_counts(
    session: AsyncSession,
    customer_ids: Sequence[int],
    *,
    status: CouponStatus | None = None,
    now: datetime | None = None,
) -> dict[int, int]:
    clause = status_clause(status, now) if now is not None else true()
    rows = await session.execute(
        select(CouponRow.customer_id, func.count())
        .where(CouponRow.customer_id.in_(list(customer_ids)), clause)
        .group_by(CouponRow.customer_id)
    )
    found = dict.fromkeys(customer_ids, 0)
    found.update({customer_id: int(total) for customer_id, total in rows.all()})
    return found


@dataclass(frozen=True)
class TemplateUsage:
    template: CouponTemplate
    issued: int  # issued in the period
    used: int  # of those, used in the period


async def coupon_usage(
    session: AsyncSession, start: datetime, end: datetime
) -> list[TemplateUsage]:
    """Per template with an issue in [start, end): coupons issued in the period and,
    of those, used in the period; one GROUP BY in the database."""
    in_period = and_(CouponRow.issued_at >= start, CouponRow.issued_at < end)
    used = and_(
        CouponRow.status == CouponStatus.USED.value,
        CouponRow.used_at >= start,
        CouponRow.used_at < end,
    )
    figures = (
        select(
            CouponRow.template_id.label("template_id"),
            func.count().label("issued"),
            func.coalesce(func.sum(case((used, 1), else_=0)), 0).label("used"),
        )
        .where(in_period)
        .group_by(CouponRow.template_id)
        .subquery()
    )
    rows = await session.execute(
        select(CouponTemplateRow, figures.c.issued, figures.c.used)
        .join(figures, figures.c.template_id == CouponTemplateRow.id)
        .order_by(CouponTemplateRow.id)
    )
    return [
        TemplateUsage(template_to_domain(row), int(issued), int(used))
        for row, issued, used in rows.all()
    ]


register(COUPONS, lambda tx: SqlCouponRepository(tx.session, tx.program_defaults))
