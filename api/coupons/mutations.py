"""Template upkeep, `couponIssue`, `couponIssueBulk`, `couponUse`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires_api_key
from api.coupons.inputs import (
    CouponIssueBulkInput,
    CouponIssueInput,
    CouponTemplateArchiveInput,
    CouponTemplateCreateInput,
    CouponTemplateUpdateInput,
    CouponUseInput,
    segment_target,
    template_fields,
)
from api.coupons.types import CouponTemplateType, CouponType
from api.errors import UserError, decode_input_id, decode_input_ids
from api.payloads import refusals_as_user_errors
from domain import coupons as domain
from domain.access import Scope


@strawberry.type
class CouponTemplatePayload:
    coupon_template: CouponTemplateType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CouponIssuePayload:
    coupon: CouponType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CouponIssueBulkPayload:
    requested: int = strawberry.field(default=0, description="Live customers targeted.")
    issued: int = strawberry.field(default=0, description="Coupons issued by this call.")
    skipped: int = strawberry.field(
        default=0,
        description="Targeted but not issued: they already hold one, are outside the "
        "template's audience, or the total limit ran out.",
    )
    limit_reached: bool = strawberry.field(
        default=False, description="The template's total limit stopped this issue short."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CouponUsePayload:
    coupon: CouponType | None = None
    replayed: bool = strawberry.field(
        default=False, description="The code was already used on this same order."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _templates(info: strawberry.Info) -> domain.CouponTemplateService:
    return domain.CouponTemplateService(info.context.uow, info.context.clock)


def _coupons(info: strawberry.Info) -> domain.CouponService:
    return domain.CouponService(info.context.uow, info.context.clock)


@mutation_fields(position=85)
@strawberry.type
class CouponMutation:
    @strawberry.mutation(
        description="Defines a coupon: kind and terms, audience, validity, limits, stacking.",
        permission_classes=[requires_api_key(Scope.COUPONS_WRITE)],
    )
    @refusals_as_user_errors(CouponTemplatePayload)
    async def coupon_template_create(
        self, info: strawberry.Info, input: CouponTemplateCreateInput
    ) -> CouponTemplatePayload:
        template = await _templates(info).create(template_fields(input))
        return CouponTemplatePayload(coupon_template=CouponTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Changes a template's name, audience, validity for future issues, limits "
        "or stacking; the discount terms are fixed (READ_ONLY).",
        permission_classes=[requires_api_key(Scope.COUPONS_WRITE)],
    )
    @refusals_as_user_errors(CouponTemplatePayload)
    async def coupon_template_update(
        self, info: strawberry.Info, input: CouponTemplateUpdateInput
    ) -> CouponTemplatePayload:
        key = decode_input_id(input.id, "CouponTemplate", ("input", "id"))
        template = await _templates(info).update(key, template_fields(input))
        return CouponTemplatePayload(coupon_template=CouponTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Stops issuing from a template; coupons already issued stay usable.",
        permission_classes=[requires_api_key(Scope.COUPONS_WRITE)],
    )
    @refusals_as_user_errors(CouponTemplatePayload)
    async def coupon_template_archive(
        self, info: strawberry.Info, input: CouponTemplateArchiveInput
    ) -> CouponTemplatePayload:
        key = decode_input_id(input.id, "CouponTemplate", ("input", "id"))
        template = await _templates(info).archive(key)
        return CouponTemplatePayload(coupon_template=CouponTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Issues one coupon to one customer. Refusals: NOT_FOUND, "
        "TEMPLATE_ARCHIVED, EXPIRED (the template's window ended), NOT_ELIGIBLE, "
        "LIMIT_REACHED (per customer), OUT_OF_STOCK (total limit). Idempotent on "
        "idempotencyKey.",
        permission_classes=[requires_api_key(Scope.COUPONS_WRITE)],
    )
    @refusals_as_user_errors(CouponIssuePayload)
    async def coupon_issue(
        self, info: strawberry.Info, input: CouponIssueInput
    ) -> CouponIssuePayload:
        template_id = decode_input_id(input.template_id, "CouponTemplate", ("input", "templateId"))
        customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
        result = await _coupons(info).issue(
            domain.IssueCoupon(template_id, customer_id, input.idempotency_key)
        )
        return CouponIssuePayload(
            coupon=CouponType.from_domain(result.coupon), replayed=result.replayed
        )

    @strawberry.mutation(
        description="Issues a coupon to each listed customer, or to each member of a segment "
        "as of now, who is in the template's audience and holds none of this template yet "
        "(so issuing again skips them), up to the total limit. One statement for all.",
        permission_classes=[requires_api_key(Scope.COUPONS_WRITE)],
    )
    @refusals_as_user_errors(CouponIssueBulkPayload)
    async def coupon_issue_bulk(
        self, info: strawberry.Info, input: CouponIssueBulkInput
    ) -> CouponIssueBulkPayload:
        template_id = decode_input_id(input.template_id, "CouponTemplate", ("input", "templateId"))
        customer_ids = decode_input_ids(
            input.customer_ids or [], "Customer", ("input", "customerIds")
        )
        saved, built_in = (None, None)
        if input.segment_id is not None:
            saved, built_in = segment_target(input.segment_id)
        outcome = await _coupons(info).issue_bulk(
            domain.IssueBulk(
                template_id,
                domain.BulkTarget(customer_ids=tuple(customer_ids)),
                segment_id=saved,
                built_in_segment_id=built_in,
            )
        )
        return CouponIssueBulkPayload(
            requested=outcome.requested,
            issued=outcome.issued,
            skipped=outcome.requested - outcome.issued,
            limit_reached=outcome.limit_reached,
        )

    @strawberry.mutation(
        description="Marks a coupon used on an order at checkout, exactly once: of concurrent "
        "uses one wins, the others are ALREADY_USED. Also refused: NOT_FOUND, EXPIRED, "
        "NOT_YET_VALID, NOT_ELIGIBLE, NOT_STACKABLE. The same code again on the same order "
        "answers the first use (replayed).",
        permission_classes=[requires_api_key(Scope.COUPONS_USE)],
    )
    @refusals_as_user_errors(CouponUsePayload)
    async def coupon_use(self, info: strawberry.Info, input: CouponUseInput) -> CouponUsePayload:
        result = await _coupons(info).use(input.code, input.order_external_id)
        return CouponUsePayload(
            coupon=CouponType.from_domain(result.coupon), replayed=result.replayed
        )
