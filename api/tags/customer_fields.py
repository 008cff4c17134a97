"""`Customer.tags`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.tags.loaders import TAGS_OF_CUSTOMER
from api.tags.types import TagType
from domain.access import Scope


@customer_fields(position=50)
@strawberry.type
class CustomerTagFields(CustomerFields):
    @strawberry.field(
        description="The customer's tags, by name.",
        # Internal labels: not for customer tokens (whose scopes lack customers:read).
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def tags(self, info: strawberry.Info) -> list[TagType]:
        tags = await info.context.loader(TAGS_OF_CUSTOMER).load(self.db_id)
        return [TagType.from_domain(tag) for tag in tags]
