"""`apiKeyCreate` and `apiKeyRevoke`."""

from __future__ import annotations

import strawberry

from api.api_keys.inputs import ApiKeyCreateInput, ApiKeyRevokeInput
from api.api_keys.types import ApiKeyType
from api.areas import mutation_fields
from api.auth import requires
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from domain import access as domain
from domain.access import Scope


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKeyType | None = None
    secret: str | None = strawberry.field(
        default=None, description="The key itself. Shown this once: only its hash is stored."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKeyType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def api_key_service(info: strawberry.Info) -> domain.ApiKeyService:
    return domain.ApiKeyService(info.context.uow, info.context.clock)


@mutation_fields(position=130)
@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(permission_classes=[requires(Scope.API_KEYS_MANAGE)])
    @refusals_as_user_errors(ApiKeyCreatePayload)
    async def api_key_create(
        self, info: strawberry.Info, input: ApiKeyCreateInput
    ) -> ApiKeyCreatePayload:
        issued = await api_key_service(info).create(
            domain.CreateApiKey(input.name, input.role, input.expires_at)
        )
        return ApiKeyCreatePayload(api_key=ApiKeyType.from_domain(issued.key), secret=issued.secret)

    @strawberry.mutation(
        description="Revokes a key at once; requests with it are refused.",
        permission_classes=[requires(Scope.API_KEYS_MANAGE)],
    )
    @refusals_as_user_errors(ApiKeyRevokePayload)
    async def api_key_revoke(
        self, info: strawberry.Info, input: ApiKeyRevokeInput
    ) -> ApiKeyRevokePayload:
        key_id = decode_input_id(input.id, "ApiKey", ("input", "id"))
        key = await api_key_service(info).revoke(key_id)
        if info.context.keys is not None:
            info.context.keys.forget(key.id)  # refused from the next request on
        return ApiKeyRevokePayload(api_key=ApiKeyType.from_domain(key))
