"""`apiKeys`."""

from __future__ import annotations

import strawberry

from api.api_keys.types import ApiKeyType
from api.areas import query_fields
from api.auth import requires
from domain.access import Scope
from persistence import api_keys as reads


@query_fields(position=130)
@strawberry.type
class ApiKeyQuery:
    @strawberry.field(
        description="Every API key, revoked and expired ones included.",
        permission_classes=[requires(Scope.API_KEYS_MANAGE)],
    )
    async def api_keys(self, info: strawberry.Info) -> list[ApiKeyType]:
        return [ApiKeyType.from_domain(k) for k in await info.context.read(reads.list_keys)]
