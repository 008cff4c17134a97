"""`Customer.orders`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.orders.loaders import ORDER_COUNTS, ORDER_PAGES
from api.orders.types import OrderType
from api.pagination import Connection, paginate


@customer_fields(position=30)
@strawberry.type
class CustomerOrderFields(CustomerFields):
    @strawberry.field(description="The customer's orders, most recently placed first.")
    async def orders(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[OrderType]:
        # Batched across the customers of a list, first pages and pages after a cursor
        # alike (a cursor is a sort key, valid for every customer).
        return await paginate(
            sort="PLACED_AT_DESC",
            first=first,
            after=after,
            read=lambda key, size: info.context.loader(ORDER_PAGES).load((self.db_id, key, size)),
            count=lambda: info.context.loader(ORDER_COUNTS).load(self.db_id),
            to_node=OrderType.from_domain,
        )
