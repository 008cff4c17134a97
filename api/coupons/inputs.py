"""Coupon inputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.conversion import unset_to_domain
from api.coupons.types import CouponAudience, CouponKind
from api.errors import decode_input_id
from domain import coupons as domain
from domain.errors import DomainError, ErrorCode
from domain.fields import MAX_LIST_ITEMS, optional_text, required_text
from domain.money import parse_money

SAVED_SEGMENT = "Segment"
BUILT_IN_SEGMENT = "BuiltInSegment"


@strawberry.input
class CouponTemplateFilter:
    include_archived: bool = False


@strawberry.input(
    description="Validity is either a fixed window (validUntil, optional validFrom) or "
    "validDays from issue."
)
class CouponTemplateCreateInput:
    name: str
    kind: CouponKind  # type: ignore[valid-type]
    description: str | None = None
    amount_off: Decimal | None = strawberry.field(default=None, description="AMOUNT_OFF only.")
    percent_off: Decimal | None = strawberry.field(
        default=None, description="PERCENT_OFF only: above 0, at most 100 (10 = 9折)."
    )
    max_discount: Decimal | None = strawberry.field(
        default=None, description="PERCENT_OFF only: the cap; null = none."
    )
    min_spend: Decimal | None = strawberry.field(
        default=None, description="Cart amount needed, the minimum included; null = 0."
    )
    product_sku: str | None = strawberry.field(default=None, description="FREE_PRODUCT only.")
    audience: CouponAudience = CouponAudience.ANY  # type: ignore[valid-type]
    audience_tier_id: strawberry.ID | None = None
    audience_segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved segment."
    )
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_customer_limit: int | None = strawberry.field(
        default=1, description="Coupons one customer may hold; null = no limit."
    )
    total_limit: int | None = strawberry.field(default=None, description="null = no limit.")
    stackable: bool = False


@strawberry.input(
    description="Fields to change; an omitted field is left as it is. The kind and the "
    "discount terms are fixed once created; issued coupons keep their validity."
)
class CouponTemplateUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    audience: CouponAudience | None = strawberry.UNSET  # type: ignore[valid-type]
    audience_tier_id: strawberry.ID | None = strawberry.UNSET
    audience_segment_id: strawberry.ID | None = strawberry.UNSET
    valid_from: datetime | None = strawberry.UNSET
    valid_until: datetime | None = strawberry.UNSET
    valid_days: int | None = strawberry.UNSET
    per_customer_limit: int | None = strawberry.UNSET
    total_limit: int | None = strawberry.UNSET
    stackable: bool | None = strawberry.UNSET


@strawberry.input
class CouponTemplateArchiveInput:
    id: strawberry.ID


@strawberry.input
class CouponIssueInput:
    template_id: strawberry.ID
    customer_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Retrying with the same key returns the first coupon (per customer)."
    )


@strawberry.input(description="customerIds or segmentId, not both.")
class CouponIssueBulkInput:
    template_id: strawberry.ID
    customer_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="At most 1000."
    )
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="A saved or built-in segment; its members as of now."
    )


@strawberry.input
class CartItemInput:
    sku: str
    quantity: int
    unit_price: Decimal


@strawberry.input
class CartInput:
    amount: Decimal = strawberry.field(description="The goods amount, in the program currency.")
    items: list[CartItemInput] | None = None
    channel: str | None = None


@strawberry.input
class CouponValidateInput:
    code: str
    cart: CartInput
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The shopper at checkout: another customer's coupon is NOT_ELIGIBLE.",
    )
    other_codes: list[str] | None = strawberry.field(
        default=None,
        description="Coupons already on the cart: NOT_STACKABLE unless all of them stack.",
    )


@strawberry.input
class CouponUseInput:
    code: str
    order_external_id: str


def _id_or_unset(value: object, expected: str, field: str) -> object:
    value = unset_to_domain(value)
    if isinstance(value, str):
        return decode_input_id(value, expected, ("input", field))
    return value


def template_fields(
    data: CouponTemplateCreateInput | CouponTemplateUpdateInput,
) -> domain.TemplateFields:
    terms = {}
    if isinstance(data, CouponTemplateCreateInput):
        terms = {
            "kind": data.kind,
            "amount_off": data.amount_off,
            "percent_off": data.percent_off,
            "max_discount": data.max_discount,
            "min_spend": data.min_spend,
            "product_sku": data.product_sku,
        }
    return domain.TemplateFields(
        name=unset_to_domain(data.name),
        description=unset_to_domain(data.description),
        audience=unset_to_domain(data.audience),
        audience_tier_id=_id_or_unset(data.audience_tier_id, "Tier", "audienceTierId"),
        audience_segment_id=_id_or_unset(
            data.audience_segment_id, SAVED_SEGMENT, "audienceSegmentId"
        ),
        valid_from=unset_to_domain(data.valid_from),
        valid_until=unset_to_domain(data.valid_until),
        valid_days=unset_to_domain(data.valid_days),
        per_customer_limit=unset_to_domain(data.per_customer_limit),
        total_limit=unset_to_domain(data.total_limit),
        stackable=unset_to_domain(data.stackable),
        **terms,
    )


def segment_target(global_id: str) -> tuple[int | None, int | None]:
    """(saved segment key, built-in segment key) of a segment's global ID."""
    field = ("segment_id",)
    try:
        kind, key = ids.decode_any(global_id)
    except ids.BadGlobalId:
        raise DomainError(ErrorCode.INVALID, field, "segmentId is not a valid ID.") from None
    if kind == SAVED_SEGMENT:
        return key, None
    if kind == BUILT_IN_SEGMENT:
        return None, key
    raise DomainError(ErrorCode.WRONG_TYPE, field, "segmentId is not a Segment ID.")


def cart_of(data: CartInput) -> domain.Cart:
    """The cart with its amounts parsed as money (a bad one names its field)."""
    items = []
    for i, line in enumerate(data.items or []):
        path = ("cart", "items", str(i))
        if line.quantity < 1:
            raise DomainError(
                ErrorCode.INVALID, (*path, "quantity"), "quantity must be at least 1."
            )
        items.append(
            domain.CartLine(
                sku=required_text(line.sku, (*path, "sku"), max_length=domain.MAX_SKU),
                quantity=line.quantity,
                unit_price=parse_money(line.unit_price, (*path, "unit_price")),
            )
        )
    if len(items) > MAX_LIST_ITEMS:
        raise DomainError(ErrorCode.TOO_MANY, ("cart", "items"), "The cart has too many lines.")
    return domain.Cart(
        amount=parse_money(data.amount, ("cart", "amount")),
        items=tuple(items),
        channel=optional_text(data.channel, ("cart", "channel"), max_length=64),
    )
