"""`MemberCoupon`: a coupon as its holder sees it, with the terms of its template
(without the template's issue counts, which count every customer)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.conversion import from_domain
from api.coupons.loaders import COUPON_TEMPLATE
from api.coupons.types import CouponKind, CouponStatus
from domain import coupons as domain
from domain.redemptions import display_code


@strawberry.type(description="What a coupon gives, as a member sees it.")
class MemberCouponTemplate:
    id: strawberry.ID
    name: str
    description: str | None
    kind: CouponKind  # type: ignore[valid-type]
    amount_off: Decimal | None
    percent_off: Decimal | None
    max_discount: Decimal | None
    min_spend: Decimal
    product_sku: str | None
    stackable: bool

    @classmethod
    def from_domain(cls, template: domain.CouponTemplate) -> MemberCouponTemplate:
        return from_domain(
            cls, template, id=strawberry.ID(ids.encode("CouponTemplate", template.id))
        )


@strawberry.type(description="One of the member's coupons.")
class MemberCoupon:
    id: strawberry.ID
    code: str = strawberry.field(description="Shown at checkout, grouped as XXXX-XXXX-XXXXX.")
    valid_from: datetime
    valid_until: datetime = strawberry.field(description="Excluded: expired from this instant.")
    issued_at: datetime
    used_at: datetime | None
    model: strawberry.Private[domain.Coupon]

    @classmethod
    def from_domain(cls, coupon: domain.Coupon) -> MemberCoupon:
        return from_domain(
            cls,
            coupon,
            id=strawberry.ID(ids.encode("Coupon", coupon.id)),
            code=display_code(coupon.code),
            model=coupon,
        )

    @strawberry.field(description="As of now: an issued coupon past its end is EXPIRED.")
    def status(self, info: strawberry.Info) -> CouponStatus:  # type: ignore[valid-type]
        return self.model.status_at(info.context.now())

    @strawberry.field
    async def template(self, info: strawberry.Info) -> MemberCouponTemplate:
        found = await info.context.loader(COUPON_TEMPLATE).load(self.model.template_id)
        assert found is not None, "a coupon's template is archived, never deleted"
        return MemberCouponTemplate.from_domain(found)
