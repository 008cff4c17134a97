"""`tiers`."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.tiers.types import TierType
from domain.access import Scope
from persistence import tiers as reads


@query_fields(position=40)
@strawberry.type
class TierQuery:
    @strawberry.field(
        description="Every tier of the program, lowest rank first.",
        permission_classes=[requires(Scope.PROGRAM_READ)],
    )
    async def tiers(self, info: strawberry.Info) -> list[TierType]:
        return [TierType.from_domain(t) for t in await info.context.read(reads.list_tiers)]
