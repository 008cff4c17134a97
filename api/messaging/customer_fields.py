"""`Customer.consents`, `Customer.messages`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.auth import requires
from api.customers.base import CustomerFields
from api.messaging.loaders import CONSENTS_OF_CUSTOMER, MESSAGE_COUNTS, MESSAGE_PAGES
from api.messaging.types import ConsentType, MessageType
from api.pagination import Connection, paginate_per_parent
from domain.access import Scope

MESSAGES_SORT = "NEWEST"


@customer_fields(position=97)
@strawberry.type
class CustomerMessagingFields(CustomerFields):
    @strawberry.field(
        description="The customer's consent per channel (no record: no marketing there).",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def consents(self, info: strawberry.Info) -> list[ConsentType]:
        found = await info.context.loader(CONSENTS_OF_CUSTOMER).load(self.db_id)
        return [ConsentType.from_domain(c) for c in found]

    @strawberry.field(
        description="Messages to the customer, newest first, with what became of each.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def messages(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[MessageType]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort=MESSAGES_SORT,
            first=first,
            after=after,
            pages=MESSAGE_PAGES,
            counts=MESSAGE_COUNTS,
            to_node=MessageType.from_domain,
        )
