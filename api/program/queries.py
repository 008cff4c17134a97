"""`program`."""

from __future__ import annotations

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.program.types import ProgramType
from domain.access import Scope


@query_fields(position=60)
@strawberry.type
class ProgramQuery:
    @strawberry.field(
        description="The program's current settings.",
        permission_classes=[requires(Scope.PROGRAM_READ)],
    )
    async def program(self, info: strawberry.Info) -> ProgramType:
        return ProgramType.from_domain(await info.context.program())
