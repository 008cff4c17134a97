"""Campaign upkeep, `campaignStart`, `touchpointsRecord`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import requires, requires_api_key
from api.campaigns.inputs import (
    CampaignCreateInput,
    CampaignIdInput,
    CampaignUpdateInput,
    TouchpointInput,
    campaign_fields,
    touchpoint_command,
)
from api.campaigns.types import CampaignType, TouchpointType
from api.errors import UserError, decode_input_id, user_errors
from api.payloads import refusals_as_user_errors
from domain import campaigns as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.fields import MAX_LIST_ITEMS


@strawberry.type
class CampaignPayload:
    campaign: CampaignType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignStartPayload:
    campaign: CampaignType | None = None
    audience_size: int | None = strawberry.field(
        default=None,
        description="Customers frozen into the audience by this call; null when the "
        "campaign had started before (nothing was written).",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TouchpointRecordResult:
    touchpoint: TouchpointType | None = None
    replayed: bool = strawberry.field(
        default=False, description="This idempotencyKey was recorded before: nothing written."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TouchpointsRecordPayload:
    results: list[TouchpointRecordResult] = strawberry.field(
        default_factory=list,
        description="One result per input, in order; each succeeds or fails on its own.",
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _service(info: strawberry.Info) -> domain.CampaignService:
    context = info.context
    return domain.CampaignService(
        context.uow, context.clock, phone_region=context.settings.phone_region
    )


def _refusal(exc: DomainError | InvalidInput, index: int) -> TouchpointRecordResult:
    """One refused input: its paths under ["inputs", "N", …]."""
    errors = user_errors(exc, root="input")
    for error in errors:
        if error.field is not None:
            error.field = ["inputs", str(index), *error.field[1:]]
    return TouchpointRecordResult(user_errors=errors)


@mutation_fields(position=137)
@strawberry.type
class CampaignMutation:
    @strawberry.mutation(
        description="Defines a campaign: segment, channel, variants and weights, holdout, "
        "attribution window, start and end. Refused: a segment that is not a saved one "
        "(NOT_FOUND on segmentId), an unknown coupon template.",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(CampaignPayload)
    async def campaign_create(
        self, info: strawberry.Info, input: CampaignCreateInput
    ) -> CampaignPayload:
        campaign = await _service(info).create(campaign_fields(input))
        return CampaignPayload(campaign=CampaignType.from_domain(campaign))

    @strawberry.mutation(
        description="Changes a campaign; once started only its name and endsAt (READ_ONLY).",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(CampaignPayload)
    async def campaign_update(
        self, info: strawberry.Info, input: CampaignUpdateInput
    ) -> CampaignPayload:
        key = decode_input_id(input.id, "Campaign", ("input", "id"))
        campaign = await _service(info).update(key, campaign_fields(input))
        return CampaignPayload(campaign=CampaignType.from_domain(campaign))

    @strawberry.mutation(
        description="Hides a campaign from `campaigns`; its figures stay readable.",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(CampaignPayload)
    async def campaign_archive(
        self, info: strawberry.Info, input: CampaignIdInput
    ) -> CampaignPayload:
        key = decode_input_id(input.id, "Campaign", ("input", "id"))
        campaign = await _service(info).archive(key)
        return CampaignPayload(campaign=CampaignType.from_domain(campaign))

    @strawberry.mutation(
        description="Starts a campaign: its segment as of now becomes its audience, frozen, "
        "each member with its arm. Refused before startsAt (NOT_YET_VALID), after endsAt "
        "(EXPIRED), archived (INVALID), or when its segment was deleted (NOT_FOUND on "
        "segmentId). Starting a started campaign answers it as it is.",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(CampaignStartPayload)
    async def campaign_start(
        self, info: strawberry.Info, input: CampaignIdInput
    ) -> CampaignStartPayload:
        key = decode_input_id(input.id, "Campaign", ("input", "id"))
        campaign, size = await _service(info).start(key)
        return CampaignStartPayload(campaign=CampaignType.from_domain(campaign), audience_size=size)

    @strawberry.mutation(
        description=f"Records up to {MAX_LIST_ITEMS} touchpoints (what became of each "
        "message), each idempotent on its idempotencyKey, each with its own result. "
        "Refused per input: an unknown campaign, customer or variant (NOT_FOUND), a "
        "campaign not started or a time before its start (NOT_YET_VALID), a SENT at or after "
        "its end (EXPIRED), a time in the future. A customer outside the audience is "
        "recorded with a flag.",
        permission_classes=[requires(Scope.TOUCHPOINTS_WRITE)],
    )
    @refusals_as_user_errors(TouchpointsRecordPayload, root="inputs")
    async def touchpoints_record(
        self, info: strawberry.Info, inputs: list[TouchpointInput]
    ) -> TouchpointsRecordPayload:
        if len(inputs) > MAX_LIST_ITEMS:
            raise DomainError(
                ErrorCode.TOO_MANY,
                ("inputs",),
                f"inputs has {len(inputs)} touchpoints; the limit is {MAX_LIST_ITEMS}.",
            )
        results: list[TouchpointRecordResult | None] = []
        commands: list[domain.RecordTouchpoint] = []
        for index, data in enumerate(inputs):
            try:
                commands.append(touchpoint_command(data))
                results.append(None)
            except (DomainError, InvalidInput) as exc:
                results.append(_refusal(exc, index))
        recorded = iter(await _service(info).record_touchpoints(commands))
        done: list[TouchpointRecordResult] = []
        for index, result in enumerate(results):
            if result is None:
                outcome = next(recorded)
                result = (
                    TouchpointRecordResult(
                        touchpoint=TouchpointType.from_domain(outcome.touchpoint),
                        replayed=outcome.replayed,
                    )
                    if isinstance(outcome, domain.TouchpointResult)
                    else _refusal(outcome, index)
                )
            done.append(result)
        return TouchpointsRecordPayload(results=done)
