"""Customers by id and by external id, batched per request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from api.loaders import loader
from domain.customers import Customer
from persistence import customers as reads

if TYPE_CHECKING:
    from api.customers.types import CustomerType

CUSTOMER = loader("customer", reads.customers_by_ids, missing=None)
CUSTOMER_BY_EXTERNAL_ID = loader(
    "customer_by_external_id", reads.customers_by_external_ids, missing=None
)


def customer_or_none(customer: Customer | None) -> CustomerType | None:
    """The GraphQL Customer of a domain customer. Imported here, not at the top: the
    Customer type is assembled from other areas' modules, which use this."""
    from api.customers.types import CustomerType

    return CustomerType.from_domain(customer) if customer is not None else None


async def load_customer(info: strawberry.Info, key: int) -> CustomerType | None:
    return customer_or_none(await info.context.loader(CUSTOMER).load(key))
