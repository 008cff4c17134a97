"""`customer` and `customers`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.customers.inputs import CustomerFilter, IdentityInput, identity_input_of
from api.customers.loaders import CUSTOMER, CUSTOMER_BY_EXTERNAL_ID, CUSTOMER_BY_IDENTITY
from api.customers.types import CustomerType
from api.errors import BadUserInput
from api.pagination import Connection, paginate
from api.protections.inputs import bounded_search
from domain import customers as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput, present
from domain.identities import identity_of
from persistence import customers as reads

CustomerSort = strawberry.enum(reads.CustomerSort, name="CustomerSort")


@query_fields(position=10)
@strawberry.type
class CustomerQuery:
    @strawberry.field(
        description="One customer by global ID, by the storefront's externalId, or by an "
        "identity another system knows them by (exactly one of the three).",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def customer(
        self,
        info: strawberry.Info,
        id: strawberry.ID | None = None,
        external_id: str | None = None,
        identity: IdentityInput | None = None,
    ) -> CustomerType | None:
        if sum(given is not None for given in (id, external_id, identity)) != 1:
            raise BadUserInput("Give exactly one of id, externalId and identity.")
        if id is not None:
            try:
                key = ids.decode(id, "Customer")
            except ValueError:
                return None
            customer = await info.context.loader(CUSTOMER).load(key)
        elif external_id is not None:
            customer = await info.context.loader(CUSTOMER_BY_EXTERNAL_ID).load(external_id)
            if customer is not None and customer.id is not None:
                info.context.loader(CUSTOMER).prime(customer.id, customer)  # as in `known`
        else:
            try:
                checked = identity_of(
                    identity_input_of(present(identity, "identity")), ("identity",)
                )
            except (DomainError, InvalidInput) as exc:
                raise BadUserInput(str(exc)) from None
            customer = await info.context.loader(CUSTOMER_BY_IDENTITY).load(checked)
        return CustomerType.from_domain(customer) if customer else None

    @strawberry.field(
        description="Customers, newest first unless sorted otherwise.",
        permission_classes=[requires(Scope.CUSTOMERS_READ)],
    )
    async def customers(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: CustomerFilter | None = None,
        # strawberry.enum registers the class itself: the annotation is the GraphQL enum.
        sort: reads.CustomerSort = reads.CustomerSort.CREATED_AT_DESC,
    ) -> Connection[CustomerType]:
        given = filter or CustomerFilter()
        criteria = reads.CustomerFilter(
            search=bounded_search(given.search, "filter.search"),
            tag=given.tag,
            created_after=given.created_after,
            created_before=given.created_before,
            include_erased=given.include_erased,
        )
        return await paginate(
            sort=sort.value,
            first=first,
            after=after,
            cursor_types=(datetime, int),
            read=lambda key, size: info.context.read(
                reads.list_customers, criteria, sort, key, size
            ),
            count=lambda: info.context.read(reads.count_customers, criteria),
            to_node=lambda customer: known(info, customer),
        )


def known(info: strawberry.Info, customer: domain.Customer) -> CustomerType:
    """The page's customer, also handed to the request's customer loader: the fields
    that read a customer by id (its tier, its tier progress) find it there."""
    if customer.id is not None:
        info.context.loader(CUSTOMER).prime(customer.id, customer)
    return CustomerType.from_domain(customer)
