"""`Customer.identities`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.identities.loaders import IDENTITIES_OF_CUSTOMER
from api.identities.types import CustomerIdentityType
from domain.access import Scope


@customer_fields(position=55)
@strawberry.type
class CustomerIdentityFields(CustomerFields):
    @strawberry.field(
        description="The ids other systems know the customer by, oldest first (at most "
        "a few per system, so a list, not a connection).",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def identities(self, info: strawberry.Info) -> list[CustomerIdentityType]:
        held = await info.context.loader(IDENTITIES_OF_CUSTOMER).load(self.db_id)
        return [CustomerIdentityType.of(h) for h in held]
