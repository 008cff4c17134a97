"""`segmentCreate`, `segmentUpdate`, `segmentDelete`."""

from __future__ import annotations

import strawberry

from api import ids
from api.areas import mutation_fields
from api.auth import requires
from api.conversion import unset_to_domain
from api.errors import UserError
from api.payloads import refusals_as_user_errors
from api.segments.inputs import SegmentCreateInput, SegmentDeleteInput, SegmentUpdateInput
from api.segments.types import BUILT_IN, SAVED, SegmentType
from domain import segments as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode


@strawberry.type
class SegmentPayload:
    segment: SegmentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SegmentDeletePayload:
    deleted_segment_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _saved_key(global_id: str) -> int:
    """The key of a saved segment; built-in and foreign IDs are refused."""
    field = ("input", "id")
    try:
        kind, key = ids.decode_any(global_id)
    except ids.BadGlobalId:
        raise DomainError(ErrorCode.INVALID, field, "id is not a valid ID.") from None
    if kind == BUILT_IN:
        raise domain.built_in_refusal(key)
    if kind != SAVED:
        raise DomainError(ErrorCode.WRONG_TYPE, field, f"id: expected a Segment ID, got {kind}.")
    return key


def segment_service(info: strawberry.Info) -> domain.SegmentService:
    return domain.SegmentService(info.context.uow, info.context.clock)


@mutation_fields(position=120)
@strawberry.type
class SegmentMutation:
    @strawberry.mutation(
        description="Saves a new segment; the rule is checked first.",
        permission_classes=[requires(Scope.SEGMENTS_WRITE)],
    )
    @refusals_as_user_errors(SegmentPayload)
    async def segment_create(
        self, info: strawberry.Info, input: SegmentCreateInput
    ) -> SegmentPayload:
        command = domain.CreateSegment(
            input.name, input.rule, input.description, tracked=input.tracked
        )
        segment = await segment_service(info).create(command)
        return SegmentPayload(segment=SegmentType.from_domain(segment))

    @strawberry.mutation(
        description="Renames a saved segment or changes its rule.",
        permission_classes=[requires(Scope.SEGMENTS_WRITE)],
    )
    @refusals_as_user_errors(SegmentPayload)
    async def segment_update(
        self, info: strawberry.Info, input: SegmentUpdateInput
    ) -> SegmentPayload:
        command = domain.UpdateSegment(
            _saved_key(input.id),
            name=unset_to_domain(input.name),
            rule=unset_to_domain(input.rule),
            description=unset_to_domain(input.description),
            tracked=unset_to_domain(input.tracked),
        )
        segment = await segment_service(info).update(command)
        return SegmentPayload(segment=SegmentType.from_domain(segment))

    @strawberry.mutation(
        description="Deletes a saved segment (built-in ones cannot be).",
        permission_classes=[requires(Scope.SEGMENTS_WRITE)],
    )
    @refusals_as_user_errors(SegmentDeletePayload)
    async def segment_delete(
        self, info: strawberry.Info, input: SegmentDeleteInput
    ) -> SegmentDeletePayload:
        await segment_service(info).delete(_saved_key(input.id))
        return SegmentDeletePayload(deleted_segment_id=input.id)
