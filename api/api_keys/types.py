"""The ApiKey type."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.node import Node, register
from domain import access as domain
from domain.access import Scope
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
