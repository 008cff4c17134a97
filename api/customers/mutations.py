"""The profile mutations: `customerUpsert`, `customerUpdate`, `customerErase`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.customers.inputs import (
    CustomerEraseInput,
    CustomerUpdateInput,
    CustomerUpsertInput,
    identity_input_of,
    profile_of,
)
from api.customers.types import CustomerType
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from domain import customers as domain
from domain.access import Scope


@strawberry.type
class CustomerUpsertPayload:
    customer: CustomerType | None = None
    created: bool = strawberry.field(
        default=False, description="True when this call created the customer."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerUpdatePayload:
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerErasePayload:
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def customer_service(info: strawberry.Info) -> domain.CustomerService:
    context = info.context
    return domain.CustomerService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


@mutation_fields(position=10)
@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        description="Creates the customer with this externalId, or updates it (and attaches "
        "the identities given).",
        permission_classes=[requires(Scope.CUSTOMERS_WRITE)],
    )
    @refusals_as_user_errors(CustomerUpsertPayload)
    async def customer_upsert(
        self, info: strawberry.Info, input: CustomerUpsertInput
    ) -> CustomerUpsertPayload:
        command = domain.UpsertCustomer(
            input.external_id,
            profile_of(input),
            [identity_input_of(i) for i in input.identities or []],
        )
        result = await customer_service(info).upsert(command)
        return CustomerUpsertPayload(
            customer=CustomerType.from_domain(result.customer), created=result.created
        )

    @strawberry.mutation(
        description="Changes profile fields of an existing customer.",
        permission_classes=[requires(Scope.CUSTOMERS_WRITE)],
    )
    @refusals_as_user_errors(CustomerUpdatePayload)
    async def customer_update(
        self, info: strawberry.Info, input: CustomerUpdateInput
    ) -> CustomerUpdatePayload:
        key = decode_input_id(input.id, "Customer", ("input", "id"))
        customer = await customer_service(info).update(
            domain.UpdateCustomer(key, profile_of(input))
        )
        return CustomerUpdatePayload(customer=CustomerType.from_domain(customer))

    @strawberry.mutation(
        description="Erases a customer's personal data (PIPL/GDPR request). The record and "
        "its ledger stay for accounting; the old email, phone and externalId no longer find it.",
        permission_classes=[requires(Scope.CUSTOMERS_ERASE)],
    )
    @refusals_as_user_errors(CustomerErasePayload)
    async def customer_erase(
        self, info: strawberry.Info, input: CustomerEraseInput
    ) -> CustomerErasePayload:
        key = decode_input_id(input.id, "Customer", ("input", "id"))
        customer = await customer_service(info).erase(key)
        return CustomerErasePayload(customer=CustomerType.from_domain(customer))
