"""`me`: the customer a customer token acts for."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import CustomerPrincipal, caller_of, requires
from api.customers.loaders import CUSTOMER
from api.customers.types import CustomerType
from api.errors import Forbidden


@query_fields(position=20)
@strawberry.type
class CustomerTokenQuery:
    @strawberry.field(
        description="The customer a customer token acts for.", permission_classes=[requires()]
    )
    async def me(self, info: strawberry.Info) -> CustomerType | None:
        caller = caller_of(info)
        if not isinstance(caller, CustomerPrincipal):
            raise Forbidden("me needs a customer token; API keys ask for customer(id:).")
        customer = await info.context.loader(CUSTOMER).load(caller.customer_id)
        if customer is None or customer.erased_at is not None:
            return None
        return CustomerType.from_domain(customer)
