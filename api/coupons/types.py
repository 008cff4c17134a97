"""The CouponTemplate and Coupon types, and a validation's answer."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.conversion import from_domain
from api.coupons.loaders import COUPON, COUPON_TEMPLATE
from api.customers.nodes import load_customer
from api.money import Money, money
from api.node import Node, register
from api.tiers.loaders import TIER
from api.tiers.types import TierType, tier_or_none
from domain import coupons as domain
from domain.access import Scope
from domain.redemptions import display_code

if TYPE_CHECKING:
    from api.customers.types import CustomerType

CouponKind = strawberry.enum(domain.CouponKind, name="CouponKind")
CouponAudience = strawberry.enum(domain.CouponAudience, name="CouponAudience")
CouponStatus = strawberry.enum(domain.CouponStatus, name="CouponStatus")
CouponRefusal = strawberry.enum(domain.CouponRefusal, name="CouponRefusal")


@strawberry.type(name="CouponTemplate", description="What every coupon issued from it gives.")
class CouponTemplateType(Node):
    id: strawberry.ID
    name: str
    description: str | None
    kind: CouponKind  # type: ignore[valid-type]
    amount_off: Decimal | None = strawberry.field(
        description="AMOUNT_OFF: the amount off, in the program currency."
    )
    percent_off: Decimal | None = strawberry.field(description="PERCENT_OFF: e.g. 10 for 9折.")
    max_discount: Decimal | None = strawberry.field(
        description="PERCENT_OFF: the most it takes off; null = no cap."
    )
    min_spend: Decimal = strawberry.field(
        description="The cart amount needed (at least, the minimum itself included); 0 = any."
    )
    product_sku: str | None = strawberry.field(description="FREE_PRODUCT: the SKU given.")
    audience: CouponAudience  # type: ignore[valid-type]
    valid_from: datetime | None = strawberry.field(
        description="Fixed window: first instant (null = from issue)."
    )
    valid_until: datetime | None = strawberry.field(
        description="Fixed window: excluded end; null when validDays is set."
    )
    valid_days: int | None = strawberry.field(
        description="Days from issue; the coupon ends at the next local midnight after."
    )
    per_customer_limit: int | None = strawberry.field(
        description="Coupons of this template one customer may hold; null = no limit."
    )
    total_limit: int | None = strawberry.field(description="Coupons ever issued; null = no limit.")
    issued_count: int
    stackable: bool = strawberry.field(
        description="May be used on one order with other coupons that stack too."
    )
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[domain.CouponTemplate]

    @classmethod
    def from_domain(cls, template: domain.CouponTemplate) -> CouponTemplateType:
        return from_domain(
            cls,
            template,
            id=strawberry.ID(ids.encode("CouponTemplate", template.id)),
            model=template,
        )

    @strawberry.field(description="TIER audience: the lowest tier that may hold and use it.")
    async def audience_tier(self, info: strawberry.Info) -> TierType | None:
        if self.model.audience_tier_id is None:
            return None
        return tier_or_none(await info.context.loader(TIER).load(self.model.audience_tier_id))

    @strawberry.field(description="SEGMENT audience: the saved segment (its Segment global ID).")
    def audience_segment_id(self) -> strawberry.ID | None:
        key = self.model.audience_segment_id
        return strawberry.ID(ids.encode("Segment", key)) if key is not None else None


async def load_template(info: strawberry.Info, key: int) -> CouponTemplateType | None:
    template = await info.context.loader(COUPON_TEMPLATE).load(key)
    return CouponTemplateType.from_domain(template) if template else None


@register("CouponTemplate", Scope.COUPONS_READ)
async def fetch_template(info: strawberry.Info, key: int) -> CouponTemplateType | None:
    return await load_template(info, key)


@strawberry.type(name="Coupon", description="A coupon issued to one customer.")
class CouponType(Node):
    id: strawberry.ID
    code: str = strawberry.field(
        description="Typed or scanned at checkout, grouped as XXXX-XXXX-XXXXX; case, dashes "
        "and spaces do not matter."
    )
    valid_from: datetime
    valid_until: datetime = strawberry.field(description="Excluded: expired from this instant.")
    issued_at: datetime
    used_at: datetime | None
    order_external_id: str | None = strawberry.field(description="The order it was used on.")
    model: strawberry.Private[domain.Coupon]

    @classmethod
    def from_domain(cls, coupon: domain.Coupon) -> CouponType:
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
    async def template(self, info: strawberry.Info) -> CouponTemplateType:
        found = await load_template(info, self.model.template_id)
        assert found is not None, "a coupon's template is archived, never deleted"
        return found

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")]:
        found = await load_customer(info, self.model.customer_id)
        assert found is not None, "a coupon's customer is never deleted"
        return found


async def load_coupon(info: strawberry.Info, key: int) -> CouponType | None:
    coupon = await info.context.loader(COUPON).load(key)
    return CouponType.from_domain(coupon) if coupon else None


@register("Coupon", Scope.COUPONS_READ, owner=lambda node: node.model.customer_id)
async def fetch_coupon(info: strawberry.Info, key: int) -> CouponType | None:
    return await load_coupon(info, key)


@strawberry.type(description="Whether a coupon applies to a cart, and what it takes off.")
class CouponValidation:
    applies: bool
    reason: CouponRefusal | None = strawberry.field(  # type: ignore[valid-type]
        description="Why not, when it does not apply."
    )
    message: str | None
    discount: Money | None = strawberry.field(
        description="The amount off the cart (never above it); 0 for FREE_SHIPPING, and for "
        "FREE_PRODUCT when the SKU is not in the cart (the storefront adds it as a gift)."
    )
    free_shipping: bool
    free_product_sku: str | None
    coupon: CouponType | None

    @classmethod
    def of(cls, result: domain.Validation, currency: str) -> CouponValidation:
        discount = result.discount
        return cls(
            applies=result.applies,
            reason=result.refusal,
            message=result.message,
            discount=money(discount.amount, currency) if discount else None,
            free_shipping=bool(discount and discount.free_shipping),
            free_product_sku=discount.free_product_sku if discount else None,
            coupon=CouponType.from_domain(result.coupon) if result.coupon else None,
        )
