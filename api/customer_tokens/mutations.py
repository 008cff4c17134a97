"""`customerTokenCreate`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.areas import mutation_fields
from api.auth import api_key_of, requires_api_key
from api.customer_tokens.inputs import CustomerTokenCreateInput
from api.customers.nodes import load_customer
from api.customers.types import CustomerType
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from domain.access import Scope
from domain.customer_tokens import CustomerTokenService


@strawberry.type
class CustomerTokenCreatePayload:
    token: str | None = strawberry.field(
        default=None,
        description="Send as Authorization: Bearer <token>; acts as this customer only.",
    )
    expires_at: datetime | None = None
    customer: CustomerType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=20)
@strawberry.type
class CustomerTokenMutation:
    @strawberry.mutation(
        description="A short-lived token for one shopper, for a mini-program or app to call "
        "`me`, `rewards`, `rewardRedeem` and `redemptionCancel` for itself.",
        permission_classes=[requires_api_key(Scope.CUSTOMER_TOKENS_CREATE)],
    )
    @refusals_as_user_errors(CustomerTokenCreatePayload)
    async def customer_token_create(
        self, info: strawberry.Info, input: CustomerTokenCreateInput
    ) -> CustomerTokenCreatePayload:
        context = info.context
        service = CustomerTokenService(context.uow, context.clock, context.settings.secret_key)
        customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
        issued = await service.create(
            customer_id, input.ttl_seconds, ids.stored_key(api_key_of(info).api_key.id)
        )
        return CustomerTokenCreatePayload(
            token=issued.token,
            expires_at=issued.claims.expires_at,
            customer=await load_customer(info, customer_id),
        )
