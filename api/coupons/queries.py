"""`couponTemplates`, `couponTemplate`, `couponValidate`, `couponMetrics`."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires, requires_api_key
from api.coupons.inputs import CouponTemplateFilter, CouponValidateInput, cart_of
from api.coupons.types import CouponTemplateType, CouponValidation, load_template
from api.errors import BadUserInput
from api.metrics.inputs import PeriodInput
from api.pagination import Connection, paginate
from domain import coupons as domain
from domain.access import Scope
from domain.errors import DomainError
from domain.metrics import Period
from persistence import coupons as reads

TEMPLATES_SORT = "NEWEST"


@strawberry.type(description="Coupons of one template issued in a period, and how many were used.")
class CouponTemplateMetrics:
    template: CouponTemplateType
    issued: int = strawberry.field(description="Coupons issued in the period.")
    used: int = strawberry.field(description="Of those, used in the period.")
    usage_rate: Decimal | None = strawberry.field(
        description="used / issued, 4 decimals; null when none was issued."
    )


def _rate(used: int, issued: int) -> Decimal | None:
    if issued == 0:
        return None
    return (Decimal(used) / Decimal(issued)).quantize(Decimal("0.0001"))


@query_fields(position=85)
@strawberry.type
class CouponQuery:
    @strawberry.field(
        description="Coupon templates, newest first.",
        permission_classes=[requires(Scope.COUPONS_READ)],
    )
    async def coupon_templates(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: CouponTemplateFilter | None = None,
    ) -> Connection[CouponTemplateType]:
        criteria = reads.TemplateFilter(
            include_archived=(filter or CouponTemplateFilter()).include_archived
        )
        return await paginate(
            sort=TEMPLATES_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.read(reads.list_templates, criteria, key, size),
            count=lambda: info.context.read(reads.count_templates, criteria),
            to_node=CouponTemplateType.from_domain,
        )

    @strawberry.field(
        description="One coupon template by global ID.",
        permission_classes=[requires(Scope.COUPONS_READ)],
    )
    async def coupon_template(
        self, info: strawberry.Info, id: strawberry.ID
    ) -> CouponTemplateType | None:
        try:
            key = ids.decode(id, "CouponTemplate")
        except ValueError:
            return None
        return await load_template(info, key)

    @strawberry.field(
        description="Whether a coupon applies to a cart and its discount, writing nothing: "
        "what a checkout shows before couponUse. When it does not apply, `reason` says why: "
        "NOT_FOUND, ALREADY_USED, EXPIRED, NOT_YET_VALID, NOT_ELIGIBLE, MIN_SPEND_NOT_MET, "
        "NOT_STACKABLE.",
        permission_classes=[requires_api_key(Scope.COUPONS_USE)],
    )
    async def coupon_validate(
        self, info: strawberry.Info, input: CouponValidateInput
    ) -> CouponValidation:
        customer_id = None
        if input.customer_id is not None:
            try:
                customer_id = ids.decode(input.customer_id, "Customer")
            except ValueError:
                raise BadUserInput("customerId is not a Customer ID.") from None
        try:
            cart = cart_of(input.cart)
            service = domain.CouponService(info.context.uow, info.context.clock)
            result = await service.validate(
                input.code, cart, customer_id, tuple(input.other_codes or ())
            )
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        return CouponValidation.of(result, (await info.context.program()).currency)

    @strawberry.field(
        description="Per template with coupons issued in the period [from, to): coupons "
        "issued, those of them used in the period, and the usage rate.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def coupon_metrics(
        self, info: strawberry.Info, period: PeriodInput
    ) -> list[CouponTemplateMetrics]:
        try:
            measured = Period.of(period.from_, period.to, ("period",))
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        rows = await info.context.read(reads.coupon_usage, measured.start, measured.end)
        return [
            CouponTemplateMetrics(
                template=CouponTemplateType.from_domain(row.template),
                issued=row.issued,
                used=row.used,
                usage_rate=_rate(row.used, row.issued),
            )
            for row in rows
        ]
