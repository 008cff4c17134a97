"""`Customer.redemptions`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.pagination import Connection, paginate
from api.rewards.types import RedemptionType
from domain.access import Scope
from persistence import rewards as reads

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
            read=lambda key, size: info.context.read(
                reads.redemptions_of_customer, self.db_id, key, size
            ),
            count=lambda: info.context.read(reads.count_redemptions_of_customer, self.db_id),
            to_node=RedemptionType.from_domain,
        )
