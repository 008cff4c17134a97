"""`Customer.orders`."""

from __future__ import annotations

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.orders.loaders import ORDER_COUNTS, ORDER_PAGES
from api.orders.types import OrderType
from api.pagination import Connection, paginate_per_parent


@customer_fields(position=30)
@strawberry.type
class CustomerOrderFields(CustomerFields):
    @strawberry.field(description="The customer's orders, most recently placed first.")
    async def orders(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[OrderType]:
        # Batched across the customers of a list, first pages and pages after a cursor
        # alike (a cursor is a sort key, valid for every customer).
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="PLACED_AT_DESC",
            first=first,
            after=after,
            pages=ORDER_PAGES,
            counts=ORDER_COUNTS,
            to_node=OrderType.from_domain,
        )
