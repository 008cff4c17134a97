"""API keys over GraphQL: list, create (the secret is shown once) and revoke."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.auth import require
from api.errors import UserError, decode_input_id, user_errors
from api.node import Node, register
from domain import access as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput
from persistence import api_keys as reads

Role = strawberry.enum(domain.Role, name="Role", description="A named set of scopes.")


@strawberry.type(name="ApiKey", description="A credential for one calling system.")
class ApiKeyType(Node):
    id: strawberry.ID
    name: str
    role: Role  # type: ignore[valid-type]
    scopes: list[str]
    prefix: str = strawberry.field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, key: domain.ApiKey) -> ApiKeyType:
        return cls(
            id=strawberry.ID(ids.encode("ApiKey", key.id)),
            name=key.name,
            role=key.role,
            scopes=sorted(s.value for s in key.scopes),
            prefix=key.prefix,
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


@register("ApiKey", Scope.API_KEYS_MANAGE)
async def fetch_api_key(info: strawberry.Info, key: int) -> ApiKeyType | None:
    found = await info.context.read(reads.key_by_id, key)
    return ApiKeyType.from_domain(found) if found else None


@strawberry.input
class ApiKeyCreateInput:
    name: str
    role: Role  # type: ignore[valid-type]
    expires_at: datetime | None = None


@strawberry.input
class ApiKeyRevokeInput:
    id: strawberry.ID


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKeyType | None
    secret: str | None = strawberry.field(
        description="The key itself. Shown this once: only its hash is stored."
    )
    user_errors: list[UserError]


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKeyType | None
    user_errors: list[UserError]


def api_key_service(info: strawberry.Info) -> domain.ApiKeyService:
    return domain.ApiKeyService(info.context.uow, info.context.clock)


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="Every API key, revoked and expired ones included.")
    async def api_keys(self, info: strawberry.Info) -> list[ApiKeyType]:
        require(info, Scope.API_KEYS_MANAGE)
        return [ApiKeyType.from_domain(k) for k in await info.context.read(reads.list_keys)]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation
    async def api_key_create(
        self, info: strawberry.Info, input: ApiKeyCreateInput
    ) -> ApiKeyCreatePayload:
        require(info, Scope.API_KEYS_MANAGE)
        try:
            issued = await api_key_service(info).create(
                domain.CreateApiKey(input.name, input.role, input.expires_at)
            )
        except (DomainError, InvalidInput) as exc:
            return ApiKeyCreatePayload(api_key=None, secret=None, user_errors=user_errors(exc))
        return ApiKeyCreatePayload(
            api_key=ApiKeyType.from_domain(issued.key), secret=issued.secret, user_errors=[]
        )

    @strawberry.mutation(description="Revokes a key at once; requests with it are refused.")
    async def api_key_revoke(
        self, info: strawberry.Info, input: ApiKeyRevokeInput
    ) -> ApiKeyRevokePayload:
        require(info, Scope.API_KEYS_MANAGE)
        try:
            key_id = decode_input_id(input.id, "ApiKey", ("input", "id"))
            key = await api_key_service(info).revoke(key_id)
        except (DomainError, InvalidInput) as exc:
            return ApiKeyRevokePayload(api_key=None, user_errors=user_errors(exc))
        return ApiKeyRevokePayload(api_key=ApiKeyType.from_domain(key), user_errors=[])
