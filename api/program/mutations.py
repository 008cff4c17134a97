"""`programUpdate`."""

from __future__ import annotations

from dataclasses import fields

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.errors import UserError
from api.payloads import refusals_as_user_errors
from api.program.inputs import ProgramUpdateInput
from api.program.types import ProgramType
from domain import program as domain
from domain.access import Scope


@strawberry.type
class ProgramUpdatePayload:
    program: ProgramType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=60)
@strawberry.type
class ProgramMutation:
    @strawberry.mutation(
        description="Changes settings; old ledger entries are never rewritten.",
        permission_classes=[requires(Scope.PROGRAM_WRITE)],
    )
    @refusals_as_user_errors(ProgramUpdatePayload)
    async def program_update(
        self, info: strawberry.Info, input: ProgramUpdateInput
    ) -> ProgramUpdatePayload:
        changes = {
            f.name: getattr(input, f.name)
            for f in fields(ProgramUpdateInput)
            if getattr(input, f.name) is not strawberry.UNSET
        }
        service = domain.ProgramService(info.context.uow, info.context.clock)
        settings = await service.update(changes)
        return ProgramUpdatePayload(program=ProgramType.from_domain(settings))
