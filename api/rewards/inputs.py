"""Reward and redemption inputs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.conversion import unset_to_domain
from api.errors import decode_input_id
from api.rewards.types import RewardKind
from domain import rewards as domain


@strawberry.input
class RewardFilter:
    active_only: bool = strawberry.field(
        default=False, description="Only rewards redeemable now (in their window, not archived)."
    )
    affordable_for: strawberry.ID | None = strawberry.field(
        default=None, description="Only rewards this customer's available points cover."
    )
    tier: strawberry.ID | None = strawberry.field(
        default=None, description="Only rewards open to this tier (its rank or lower)."
    )
    include_archived: bool = False


@strawberry.input
class RewardCreateInput:
    name: str
    points_cost: int
    kind: RewardKind  # type: ignore[valid-type]
    value: Decimal | None = None
    description: str | None = None
    stock: int | None = strawberry.field(default=None, description="null = unlimited.")
    limit_per_customer: int | None = None
    lowest_tier_id: strawberry.ID | None = None
    active_from: datetime | None = None
    active_until: datetime | None = None
    coupon_template_id: strawberry.ID | None = strawberry.field(
        default=None, description="COUPON rewards: the template of the coupon it issues."
    )


@strawberry.input(description="Fields to change; an omitted field is left as it is.")
class RewardUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    points_cost: int | None = strawberry.UNSET
    kind: RewardKind | None = strawberry.UNSET  # type: ignore[valid-type]
    value: Decimal | None = strawberry.UNSET
    stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Sets the stock left; null = unlimited."
    )
    limit_per_customer: int | None = strawberry.UNSET
    lowest_tier_id: strawberry.ID | None = strawberry.UNSET
    active_from: datetime | None = strawberry.UNSET
    active_until: datetime | None = strawberry.UNSET
    coupon_template_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class RewardArchiveInput:
    id: strawberry.ID


@strawberry.input
class RewardRedeemInput:
    customer_id: strawberry.ID
    reward_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Retrying with the same key returns the first redemption (per customer)."
    )


@strawberry.input
class RedemptionUseInput:
    code: str


@strawberry.input
class RedemptionCancelInput:
    id: strawberry.ID
    idempotency_key: str


def reward_fields(data: RewardCreateInput | RewardUpdateInput) -> domain.RewardFields:
    tier = unset_to_domain(data.lowest_tier_id)
    if isinstance(tier, str):
        tier = decode_input_id(tier, "Tier", ("input", "lowestTierId"))
    template = unset_to_domain(data.coupon_template_id)
    if isinstance(template, str):
        template = decode_input_id(template, "CouponTemplate", ("input", "couponTemplateId"))
    return domain.RewardFields(
        name=unset_to_domain(data.name),
        description=unset_to_domain(data.description),
        points_cost=unset_to_domain(data.points_cost),
        kind=unset_to_domain(data.kind),
        value=unset_to_domain(data.value),
        stock=unset_to_domain(data.stock),
        limit_per_customer=unset_to_domain(data.limit_per_customer),
        lowest_tier_id=tier,
        active_from=unset_to_domain(data.active_from),
        active_until=unset_to_domain(data.active_until),
        coupon_template_id=template,
    )
