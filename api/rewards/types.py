"""The Reward and Redemption types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.conversion import from_domain
from api.coupons.loaders import COUPON_OF_REDEMPTION
from api.coupons.types import CouponType
from api.customers.nodes import load_customer
from api.node import Node, register
from api.rewards.loaders import REDEMPTION, REWARD
from api.tiers.loaders import TIER
from api.tiers.types import TierType, tier_or_none
from domain import redemptions as redeeming
from domain import rewards as domain
from domain.access import Scope

if TYPE_CHECKING:
    from api.customers.types import CustomerType

RewardKind = strawberry.enum(domain.RewardKind, name="RewardKind")
RedemptionStatus = strawberry.enum(redeeming.RedemptionStatus, name="RedemptionStatus")


@strawberry.type(name="Reward", description="Something points can buy.")
class RewardType(Node):
    id: strawberry.ID
    name: str
    description: str | None
    points_cost: int
    kind: RewardKind  # type: ignore[valid-type]
    value: Decimal | None = strawberry.field(
        description="Percent off (DISCOUNT_PERCENT), amount off in the program currency "
        "(DISCOUNT_AMOUNT); optional for FREE_PRODUCT and CUSTOM."
    )
    stock: int | None = strawberry.field(description="Left to redeem; null = unlimited.")
    limit_per_customer: int | None = strawberry.field(
        description="Issued and used redemptions a customer may hold; null = no limit."
    )
    active_from: datetime | None
    active_until: datetime | None = strawberry.field(description="Exclusive; null = open-ended.")
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[int]
    model: strawberry.Private[domain.Reward]

    @classmethod
    def from_domain(cls, reward: domain.Reward) -> RewardType:
        return from_domain(
            cls,
            reward,
            id=strawberry.ID(ids.encode("Reward", reward.id)),
            db_id=reward.id,
            model=reward,
        )

    @strawberry.field(description="The lowest tier that may redeem it; null = every customer.")
    async def lowest_tier(self, info: strawberry.Info) -> TierType | None:
        if self.model.lowest_tier_id is None:
            return None
        return tier_or_none(await info.context.loader(TIER).load(self.model.lowest_tier_id))

    @strawberry.field(description="Inside its active window and not archived, right now.")
    def active(self, info: strawberry.Info) -> bool:
        return self.model.is_active(info.context.clock.now())

    @strawberry.field(description="COUPON rewards: the template of the coupon redeeming issues.")
    def coupon_template_id(self) -> strawberry.ID | None:
        key = self.model.coupon_template_id
        return strawberry.ID(ids.encode("CouponTemplate", key)) if key is not None else None


async def load_reward(info: strawberry.Info, key: int) -> RewardType | None:
    reward = await info.context.loader(REWARD).load(key)
    return RewardType.from_domain(reward) if reward else None


@register("Reward", Scope.REWARDS_READ)
async def fetch_reward(info: strawberry.Info, key: int) -> RewardType | None:
    return await load_reward(info, key)


@strawberry.type(name="Redemption", description="A reward a customer bought with points.")
class RedemptionType(Node):
    id: strawberry.ID
    code: str = strawberry.field(
        description="Shown to the shopper and typed or scanned at checkout, grouped as "
        "XXXX-XXXX-XXXXX; case, dashes and spaces do not matter when it is looked up."
    )
    status: RedemptionStatus  # type: ignore[valid-type]
    points_spent: int
    issued_at: datetime
    used_at: datetime | None
    cancelled_at: datetime | None
    db_id: strawberry.Private[int]
    customer_key: strawberry.Private[int]
    reward_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, redemption: redeeming.Redemption) -> RedemptionType:
        return from_domain(
            cls,
            redemption,
            id=strawberry.ID(ids.encode("Redemption", redemption.id)),
            code=redeeming.display_code(redemption.code),
            db_id=redemption.id,
            customer_key=redemption.customer_id,
            reward_key=redemption.reward_id,
        )

    @strawberry.field
    async def reward(self, info: strawberry.Info) -> RewardType:
        found = await load_reward(info, self.reward_key)
        assert found is not None, "a redeemed reward is archived, never deleted"
        return found

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")]:
        found = await load_customer(info, self.customer_key)
        assert found is not None, "a redemption's customer is never deleted"
        return found

    @strawberry.field(description="COUPON rewards: the coupon this redemption bought.")
    async def coupon(self, info: strawberry.Info) -> CouponType | None:
        found = await info.context.loader(COUPON_OF_REDEMPTION).load(self.db_id)
        return CouponType.from_domain(found) if found else None


async def load_redemption(info: strawberry.Info, key: int) -> RedemptionType | None:
    redemption = await info.context.loader(REDEMPTION).load(key)
    return RedemptionType.from_domain(redemption) if redemption else None


@register("Redemption", Scope.REWARDS_READ, owner=lambda node: node.customer_key)
async def fetch_redemption(info: strawberry.Info, key: int) -> RedemptionType | None:
    return await load_redemption(info, key)
