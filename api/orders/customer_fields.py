"""`Customer.orders`."""

from __future__ import annotations

from typing import Any

import strawberry

from api.areas import customer_fields
from api.customers.base import CustomerFields
from api.orders.loaders import FIRST_ORDERS, ORDER_COUNTS, ORDER_PAGES
from api.orders.types import OrderType
from api.pagination import Connection, paginate
from persistence.pagination import Page


@customer_fields(position=30)
@strawberry.type
class CustomerOrderFields(CustomerFields):
    @strawberry.field(description="The customer's orders, most recently placed first.")
    async def orders(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[OrderType]:
        async def read(key: tuple[Any, ...] | None, size: int) -> Page[Any]:
            if key is None:  # the first page: batched across the customers of a list
                page: Page[Any] = await info.context.loader(FIRST_ORDERS).load((self.db_id, size))
                return page
            # A cursor is a sort key, valid for every customer: batched too.
            later: Page[Any] = await info.context.loader(ORDER_PAGES).load((self.db_id, key, size))
            return later

        return await paginate(
            sort="PLACED_AT_DESC",
            first=first,
            after=after,
            read=read,
            count=lambda: info.context.loader(ORDER_COUNTS).load(self.db_id),
            to_node=OrderType.from_domain,
        )
