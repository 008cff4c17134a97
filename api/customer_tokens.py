"""Customer tokens over GraphQL: `customerTokenCreate` (storefront) and `me`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.auth import CustomerPrincipal, api_key_only, require
from api.customers import CustomerType
from api.errors import Forbidden, UserError, decode_input_id, user_errors
from domain.access import Scope
from domain.customer_tokens import MAX_TTL_SECONDS, CustomerTokenService
from domain.errors import DomainError, InvalidInput


@strawberry.input
class CustomerTokenCreateInput:
    customer_id: strawberry.ID
    ttl_seconds: int = strawberry.field(
        default=3600, description=f"Lifetime in seconds, at most {MAX_TTL_SECONDS} (a day)."
    )


@strawberry.type
class CustomerTokenCreatePayload:
    token: str | None = strawberry.field(
        description="Send as Authorization: Bearer <token>; acts as this customer only."
    )
    expires_at: datetime | None
    customer: CustomerType | None
    user_errors: list[UserError]


@strawberry.type
class CustomerTokenQuery:
    @strawberry.field(description="The customer a customer token acts for.")
    async def me(self, info: strawberry.Info) -> CustomerType | None:
        caller = require(info)
        if not isinstance(caller, CustomerPrincipal):
            raise Forbidden("me needs a customer token; API keys ask for customer(id:).")
        customer = await info.context.loaders.customer.load(caller.customer_id)
        if customer is None or customer.erased_at is not None:
            return None
        return CustomerType.from_domain(customer)


@strawberry.type
class CustomerTokenMutation:
    @strawberry.mutation(
        description="A short-lived token for one shopper, for a mini-program or app to call "
        "`me`, `rewards`, `rewardRedeem` and `redemptionCancel` for itself."
    )
    async def customer_token_create(
        self, info: strawberry.Info, input: CustomerTokenCreateInput
    ) -> CustomerTokenCreatePayload:
        caller = api_key_only(info, Scope.CUSTOMER_TOKENS_CREATE)
        context = info.context
        service = CustomerTokenService(context.uow, context.clock, context.settings.secret_key)
        try:
            customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
            issued = await service.create(customer_id, input.ttl_seconds, caller.api_key.id)
        except (DomainError, InvalidInput) as exc:
            return CustomerTokenCreatePayload(
                token=None, expires_at=None, customer=None, user_errors=user_errors(exc)
            )
        customer = await context.loaders.customer.load(customer_id)
        return CustomerTokenCreatePayload(
            token=issued.token,
            expires_at=issued.claims.expires_at,
            customer=CustomerType.from_domain(customer),
            user_errors=[],
        )
