"""The Tier, TierProgress and TierChange types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.auth import requires_api_key
from api.conversion import from_domain
from api.node import Node, register
from api.tiers.loaders import TIER, TIER_CUSTOMER_COUNT
from domain import tiers as domain
from domain.access import Scope


@strawberry.type(
    name="Tier",
    description="A level of the loyalty program. A customer qualifies for the highest-ranked "
    "tier whose threshold their qualifying value reaches (program setting tierBasis, over "
    "tierWindowDays).",
)
class TierType(Node):
    id: strawberry.ID
    name: str
    rank: int = strawberry.field(description="Higher ranks are better tiers; unique.")
    threshold: Decimal = strawberry.field(
        description="The qualifying value (points or spend, per tierBasis) that reaches it."
    )
    earn_multiplier: Decimal = strawberry.field(
        description="Points of an order are multiplied by this while the tier is held."
    )
    benefits: str | None = strawberry.field(description="What the tier offers, for people.")
    created_at: datetime
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, tier: domain.Tier) -> TierType:
        return from_domain(cls, tier, id=strawberry.ID(ids.encode("Tier", tier.id)), db_id=tier.id)

    @strawberry.field(
        description="How many customers hold this tier now (erased ones included). "
        "API keys only: a customer token is refused (it reads tiers through `me`).",
        # An aggregate over other customers; a token reaches Tier through `rewards`.
        permission_classes=[requires_api_key()],
    )
    async def customer_count(self, info: strawberry.Info) -> int:
        return await info.context.loader(TIER_CUSTOMER_COUNT).load(self.db_id)


def tier_or_none(tier: domain.Tier | None) -> TierType | None:
    return TierType.from_domain(tier) if tier is not None else None


@register("Tier", Scope.PROGRAM_READ)
async def fetch_tier(info: strawberry.Info, key: int) -> TierType | None:
    return tier_or_none(await info.context.loader(TIER).load(key))


@strawberry.type(name="TierProgress", description="Where a customer stands in the tier ladder.")
class TierProgressType:
    current: TierType | None = strawberry.field(description="The tier held now.")
    next: TierType | None = strawberry.field(
        description="The tier ranked just above the one held; null at the top."
    )
    qualifying_value: Decimal = strawberry.field(
        description="Net points earned (or net spend) over the tier window, as of now."
    )
    remaining_to_next: Decimal | None = strawberry.field(
        description="How much more qualifying value reaches `next` (0 if reached: the "
        "move happens on the next order); null when there is no next tier."
    )

    @classmethod
    def from_domain(cls, found: domain.TierProgress) -> TierProgressType:
        return from_domain(
            cls, found, current=tier_or_none(found.current), next=tier_or_none(found.next)
        )


@strawberry.type(name="TierChange", description="One move in a customer's tier history.")
class TierChangeType:
    reason: str = strawberry.field(
        description='Why: "order" for a move up, the daily review\'s reason for a move down.'
    )
    at: datetime
    from_tier_id: strawberry.Private[int | None]
    to_tier_id: strawberry.Private[int | None]

    @strawberry.field(name="from", description="The tier left; null when none was held.")
    async def from_(self, info: strawberry.Info) -> TierType | None:
        if self.from_tier_id is None:
            return None
        return tier_or_none(await info.context.loader(TIER).load(self.from_tier_id))

    @strawberry.field(description="The tier reached; null when the customer now holds none.")
    async def to(self, info: strawberry.Info) -> TierType | None:
        if self.to_tier_id is None:
            return None
        return tier_or_none(await info.context.loader(TIER).load(self.to_tier_id))

    @classmethod
    def from_domain(cls, entry: domain.TierHistoryEntry) -> TierChangeType:
        return from_domain(cls, entry)
