"""The `Customer` type: its own fields here, then every area's contributions.

`CustomerBase` holds what a customer is (profile and order statistics). Other areas
add their fields (tier, points, orders, segments…) in their own `customer_fields.py`
(see api/customers/base.py); `CustomerType` inherits from all of them, in their
declared positions, so this module imports no other area.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from api import areas, ids
from api.conversion import from_domain
from api.customers.base import CustomerFields
from api.customers.loaders import CUSTOMER
from api.money import Money, money
from api.node import Node, register
from domain import customers as domain
from domain.access import Scope

Gender = strawberry.enum(domain.Gender, name="Gender")


@strawberry.type(name="CustomerBase")
class CustomerBase(Node, CustomerFields):
    id: strawberry.ID
    external_id: str = strawberry.field(description="The storefront's own id for this customer.")
    email: str | None
    phone: str | None = strawberry.field(description="E.164 when the number could be parsed.")
    name: str | None
    birthday: date | None
    gender: Gender | None  # type: ignore[valid-type]
    city: str | None
    acquisition_channel: str | None
    attributes: JSON = strawberry.field(description="Free-form strings, numbers and booleans.")
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None = strawberry.field(
        description="When personal data was erased on request; null if it never was."
    )

    @classmethod
    def from_domain(cls, customer: domain.Customer) -> CustomerType:
        return from_domain(
            CustomerType,
            customer,
            id=strawberry.ID(ids.encode("Customer", customer.id)),
            db_id=customer.id,
            stats=customer.stats or domain.CustomerStats(),
        )

    @strawberry.field(description="Orders not refunded in full.")
    def orders_count(self) -> int:
        return self.stats.orders_count

    @strawberry.field(description="Net of refunds, over counted orders.")
    async def total_spent(self, info: strawberry.Info) -> Money:
        return money(self.stats.total_spent, (await info.context.program()).currency)

    @strawberry.field(description="totalSpent / ordersCount; null before the first order.")
    async def average_order_value(self, info: strawberry.Info) -> Money | None:
        value = self.stats.average_order_value
        if value is None:
            return None
        return money(value, (await info.context.program()).currency)

    @strawberry.field
    def first_order_at(self) -> datetime | None:
        return self.stats.first_order_at

    @strawberry.field
    def last_order_at(self) -> datetime | None:
        return self.stats.last_order_at


if TYPE_CHECKING:
    CustomerType = CustomerBase
else:
    CustomerType = strawberry.type(
        type("CustomerType", (CustomerBase, *areas.contributions(areas.CUSTOMER_FIELDS)), {}),
        name="Customer",
        description="A shopper, as every channel of the brand sees them.",
    )


@register("Customer", Scope.CUSTOMERS_READ, owner=lambda node: node.db_id)
async def fetch_customer(info: strawberry.Info, key: int) -> CustomerType | None:
    customer = await info.context.loader(CUSTOMER).load(key)
    return CustomerType.from_domain(customer) if customer else None
