"""`Customer.redemptions`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate
from api.rewards.loaders import REDEMPTION_COUNTS, REDEMPTION_PAGES
from api.rewards.types import RedemptionType
from domain.access import Scope

REDEMPTIONS_SORT = "NEWEST"


@customer_fields(position=40)
@strawberry.type
class CustomerRewardFields(CustomerFields):
    @strawberry.field(
        description="Rewards the customer redeemed, newest first.",
        permission_classes=[requires(Scope.REWARDS_READ)],
    )
    async def redemptions(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[RedemptionType]:
        return await paginate(
            sort=REDEMPTIONS_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.loader(REDEMPTION_PAGES).load(
                (self.db_id, key, size)
            ),
            count=lambda: info.context.loader(REDEMPTION_COUNTS).load(self.db_id),
            to_node=RedemptionType.from_domain,
        )
