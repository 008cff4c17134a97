"""Journey upkeep and status changes."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires_api_key
from api.errors import UserError, decode_input_id
from api.journeys.inputs import (
    JourneyCreateInput,
    JourneyIdInput,
    JourneyUpdateInput,
    journey_fields,
)
from api.journeys.types import JourneyType
from api.payloads import refusals_as_user_errors
from domain.access import Scope
from domain.journeys.service import JourneyService


@strawberry.type
class JourneyPayload:
    journey: JourneyType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _service(info: strawberry.Info) -> JourneyService:
    return JourneyService(info.context.uow, info.context.clock)


def _key(input: JourneyIdInput | JourneyUpdateInput) -> int:
    return decode_input_id(input.id, "Journey", ("input", "id"))


@mutation_fields(position=138)
@strawberry.type
class JourneyMutation:
    @strawberry.mutation(
        description="Saves a journey as a DRAFT: trigger, condition, delay, actions or "
        "variants, holdout. Refused: an unknown event type, a condition that does not parse "
        "(INVALID_RULE, with its position), an action without the fields its kind needs, "
        "an unknown template, coupon template, earning rule or segment (NOT_FOUND).",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_create(
        self, info: strawberry.Info, input: JourneyCreateInput
    ) -> JourneyPayload:
        journey = await _service(info).create(journey_fields(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))

    @strawberry.mutation(
        description="Changes a journey; once activated its actions, variants, holdout and "
        "attribution window are READ_ONLY. An archived journey changes no more.",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_update(
        self, info: strawberry.Info, input: JourneyUpdateInput
    ) -> JourneyPayload:
        key = _key(input)
        journey = await _service(info).update(key, journey_fields(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))

    @strawberry.mutation(
        description="DRAFT → ACTIVE: events raised from now on start runs (no backfill). "
        "The first activation starts the journey's campaign.",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_activate(
        self, info: strawberry.Info, input: JourneyIdInput
    ) -> JourneyPayload:
        journey = await _service(info).activate(_key(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))

    @strawberry.mutation(
        description="ACTIVE → PAUSED: acts on nothing; events raised meanwhile are never "
        "taken up, waiting runs wait.",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_pause(self, info: strawberry.Info, input: JourneyIdInput) -> JourneyPayload:
        journey = await _service(info).pause(_key(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))

    @strawberry.mutation(
        description="PAUSED → ACTIVE: events from now on start runs; waiting runs resume.",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_resume(self, info: strawberry.Info, input: JourneyIdInput) -> JourneyPayload:
        journey = await _service(info).resume(_key(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))

    @strawberry.mutation(
        description="For good: its waiting runs are skipped; runs and figures stay readable.",
        permission_classes=[requires_api_key(Scope.JOURNEYS_WRITE)],
    )
    @refusals_as_user_errors(JourneyPayload)
    async def journey_archive(self, info: strawberry.Info, input: JourneyIdInput) -> JourneyPayload:
        journey = await _service(info).archive(_key(input))
        return JourneyPayload(journey=JourneyType.from_domain(journey))
