"""Tier administration: `tierCreate`, `tierUpdate`, `tierDelete`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.conversion import unset_to_domain
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from api.tiers.inputs import TierCreateInput, TierDeleteInput, TierUpdateInput
from api.tiers.types import TierType
from domain import tiers as domain
from domain.access import Scope


@strawberry.type
class TierPayload:
    tier: TierType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TierDeletePayload:
    deleted_tier_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def tier_service(info: strawberry.Info) -> domain.TierService:
    return domain.TierService(info.context.uow, info.context.clock)


@mutation_fields(position=40)
@strawberry.type
class TierMutation:
    @strawberry.mutation(
        description="Adds a tier. Customers move into it on their next order (up) or at "
        "the next daily review (down), never at once.",
        permission_classes=[requires(Scope.PROGRAM_WRITE)],
    )
    @refusals_as_user_errors(TierPayload)
    async def tier_create(self, info: strawberry.Info, input: TierCreateInput) -> TierPayload:
        command = domain.CreateTier(
            input.name, input.rank, input.threshold, input.earn_multiplier, input.benefits
        )
        return TierPayload(tier=TierType.from_domain(await tier_service(info).create(command)))

    @strawberry.mutation(
        description="Changes a tier; holders keep it until the rules move them.",
        permission_classes=[requires(Scope.PROGRAM_WRITE)],
    )
    @refusals_as_user_errors(TierPayload)
    async def tier_update(self, info: strawberry.Info, input: TierUpdateInput) -> TierPayload:
        key = decode_input_id(input.id, "Tier", ("input", "id"))
        tier = await tier_service(info).update(
            domain.UpdateTier(
                key,
                name=unset_to_domain(input.name),
                rank=unset_to_domain(input.rank),
                threshold=unset_to_domain(input.threshold),
                earn_multiplier=unset_to_domain(input.earn_multiplier),
                benefits=unset_to_domain(input.benefits),
            )
        )
        return TierPayload(tier=TierType.from_domain(tier))

    @strawberry.mutation(
        description="Deletes a tier nobody holds (refused with IN_USE otherwise). History "
        "entries that named it keep their reason and time; their from/to becomes null.",
        permission_classes=[requires(Scope.PROGRAM_WRITE)],
    )
    @refusals_as_user_errors(TierDeletePayload)
    async def tier_delete(self, info: strawberry.Info, input: TierDeleteInput) -> TierDeletePayload:
        await tier_service(info).delete(decode_input_id(input.id, "Tier", ("input", "id")))
        return TierDeletePayload(deleted_tier_id=input.id)
