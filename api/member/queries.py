"""`me`: the member a customer token acts for."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import CustomerPrincipal, caller_of, requires
from api.customers.loaders import CUSTOMER
from api.errors import Forbidden
from api.member.types import Member


@query_fields(position=20)
@strawberry.type
class MemberQuery:
    @strawberry.field(
        description="The member a customer token acts for (API keys ask for customer(id:)).",
        permission_classes=[requires()],
    )
    async def me(self, info: strawberry.Info) -> Member | None:
        caller = caller_of(info)
        if not isinstance(caller, CustomerPrincipal):
            raise Forbidden("me needs a customer token; API keys ask for customer(id:).")
        customer = await info.context.loader(CUSTOMER).load(caller.customer_id)
        if customer is None or customer.erased_at is not None:
            return None
        return Member.from_domain(customer)
