"""A customer as the GraphQL Customer, for other areas' resolvers (an order's
customer, a referral's referee…).

The Customer type is assembled from other areas' modules (api/customers/types.py), so
those modules cannot import it while it is being built: they call these functions,
which import it when first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from api.customers.loaders import CUSTOMER
from domain.customers import Customer

if TYPE_CHECKING:
    from api.customers.types import CustomerType


def customer_or_none(customer: Customer | None) -> CustomerType | None:
    from api.customers.types import CustomerType

    return CustomerType.from_domain(customer) if customer is not None else None


async def load_customer(info: strawberry.Info, key: int) -> CustomerType | None:
    return customer_or_none(await info.context.loader(CUSTOMER).load(key))
