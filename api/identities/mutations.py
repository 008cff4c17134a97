"""`customerIdentityAttach`, `customerIdentityDetach`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.customers.inputs import customer_ref_of, identity_input_of
from api.customers.types import CustomerType
from api.errors import UserError
from api.identities.inputs import CustomerIdentityAttachInput, CustomerIdentityDetachInput
from api.identities.types import CustomerIdentityType
from api.payloads import refusals_as_user_errors
from domain import identity_service as domain
from domain.access import Scope


@strawberry.type
class CustomerIdentityAttachPayload:
    customer: CustomerType | None = None
    identity: CustomerIdentityType | None = None
    attached: bool = strawberry.field(
        default=False,
        description="False when the customer already held the identity (nothing changed).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerIdentityDetachPayload:
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def identity_service(info: strawberry.Info) -> domain.IdentityService:
    context = info.context
    return domain.IdentityService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


@mutation_fields(position=15)
@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Attaches an identity to a customer. Already theirs: succeeds, changes "
        "nothing; another customer's: IDENTITY_TAKEN.",
        permission_classes=[requires(Scope.CUSTOMERS_WRITE)],
    )
    @refusals_as_user_errors(CustomerIdentityAttachPayload)
    async def customer_identity_attach(
        self, info: strawberry.Info, input: CustomerIdentityAttachInput
    ) -> CustomerIdentityAttachPayload:
        command = domain.AttachIdentity(
            customer_ref_of(input.customer, ("input", "customer")),
            identity_input_of(input.identity),
        )
        change = await identity_service(info).attach(command)
        return CustomerIdentityAttachPayload(
            customer=CustomerType.from_domain(change.customer),
            identity=CustomerIdentityType.of(change.held),
            attached=change.changed,
        )

    @strawberry.mutation(
        description="Detaches an identity the customer holds (NOT_FOUND otherwise).",
        permission_classes=[requires(Scope.CUSTOMERS_WRITE)],
    )
    @refusals_as_user_errors(CustomerIdentityDetachPayload)
    async def customer_identity_detach(
        self, info: strawberry.Info, input: CustomerIdentityDetachInput
    ) -> CustomerIdentityDetachPayload:
        command = domain.DetachIdentity(
            customer_ref_of(input.customer, ("input", "customer")),
            identity_input_of(input.identity),
        )
        change = await identity_service(info).detach(command)
        return CustomerIdentityDetachPayload(customer=CustomerType.from_domain(change.customer))
