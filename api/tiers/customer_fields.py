"""The tier fields of Customer: `tier`, `tierProgress`, `tierHistory`."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.errors import BadUserInput
from api.tiers.loaders import TIER_HISTORY, TIER_OF_CUSTOMER, TIER_PROGRESS
from api.tiers.types import TierChangeType, TierProgressType, TierType, tier_or_none
from domain import tiers as domain

MAX_HISTORY = 100


@customer_fields(position=90)
@strawberry.type
class CustomerTierFields(CustomerFields):
    @strawberry.field(description="The tier the customer holds; null when none.")
    async def tier(self, info: strawberry.Info) -> TierType | None:
        return tier_or_none(await info.context.loader(TIER_OF_CUSTOMER).load(self.db_id))

    @strawberry.field(description="Tier held, the next one, and the qualifying value as of now.")
    async def tier_progress(self, info: strawberry.Info) -> TierProgressType:
        found = await info.context.loader(TIER_PROGRESS).load(self.db_id)
        if found is None:  # the customer row vanished between the page and this batch
            found = domain.TierProgress(None, None, Decimal(0), None)
        return TierProgressType.from_domain(found)

    @strawberry.field(description="The customer's tier moves, newest first (first ≤ 100).")
    async def tier_history(self, info: strawberry.Info, first: int = 20) -> list[TierChangeType]:
        if not 0 <= first <= MAX_HISTORY:
            raise BadUserInput(f"first must be between 0 and {MAX_HISTORY}.")
        entries = await info.context.loader(TIER_HISTORY).load((self.db_id, first))
        return [TierChangeType.from_domain(e) for e in entries]
