"""The Journey type, its trigger, variants and actions, and a run with its steps."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from api import ids
from api.campaigns.types import CampaignType, load_campaign
from api.classification.types import LifecycleStage
from api.conversion import from_domain
from api.coupons.loaders import COUPON_TEMPLATE
from api.coupons.types import CouponTemplateType
from api.customers.nodes import load_customer
from api.journeys.loaders import JOURNEY, RUN_TALLIES
from api.node import Node, register
from domain.access import Scope
from domain.journeys import model, runs

if TYPE_CHECKING:
    from api.customers.types import CustomerType

MESSAGE_TEMPLATE_TYPE = "MessageTemplate"

JourneyStatus = strawberry.enum(model.JourneyStatus, name="JourneyStatus")
JourneyActionKind = strawberry.enum(model.ActionKind, name="JourneyActionKind")
JourneyRunStatus = strawberry.enum(runs.RunStatus, name="JourneyRunStatus")
JourneyStepStatus = strawberry.enum(runs.StepStatus, name="JourneyStepStatus")


@strawberry.type(name="JourneyTrigger", description="The event a journey hangs on.")
class JourneyTriggerType:
    event_type: str = strawberry.field(description="A type of the event catalogue.")
    to_stage: LifecycleStage | None = strawberry.field(  # type: ignore[valid-type]
        description="customer.lifecycle_changed: only entering this stage."
    )
    segment_id: strawberry.ID | None = strawberry.field(
        description="segment.entered / segment.exited: only this saved segment."
    )

    @classmethod
    def of(cls, trigger: model.Trigger) -> JourneyTriggerType:
        return cls(
            event_type=trigger.event_type.value,
            to_stage=trigger.to_stage,
            segment_id=(
                strawberry.ID(ids.encode("Segment", trigger.segment_id))
                if trigger.segment_id is not None
                else None
            ),
        )


@strawberry.type(name="JourneyAction", description="One step of a variant, taken in order.")
class JourneyActionType:
    kind: JourneyActionKind  # type: ignore[valid-type]
    template_ids: list[strawberry.ID] = strawberry.field(
        description="SEND_MESSAGE: message templates tried in this order (the fallback)."
    )
    marketing: bool = strawberry.field(
        description="SEND_MESSAGE: needs consent on the channel and counts against the caps."
    )
    points: int | None = strawberry.field(description="AWARD_POINTS: how many.")
    earning_rule_id: strawberry.ID | None = strawberry.field(
        description="AWARD_POINTS: the earning rule whose budget pays them."
    )
    tag: str | None = strawberry.field(description="ADD_TAG / REMOVE_TAG: the tag's name.")
    coupon_template_key: strawberry.Private[int | None]

    @classmethod
    def of(cls, action: model.Action) -> JourneyActionType:
        return cls(
            kind=action.kind,
            template_ids=[
                strawberry.ID(ids.encode(MESSAGE_TEMPLATE_TYPE, t)) for t in action.template_ids
            ],
            marketing=action.marketing,
            points=action.points,
            earning_rule_id=(
                strawberry.ID(ids.encode("EarningRule", action.earning_rule_id))
                if action.earning_rule_id is not None
                else None
            ),
            tag=action.tag,
            coupon_template_key=action.coupon_template_id,
        )

    @strawberry.field(description="ISSUE_COUPON: the template issued from.")
    async def coupon_template(self, info: strawberry.Info) -> CouponTemplateType | None:
        if self.coupon_template_key is None:
            return None
        found = await info.context.loader(COUPON_TEMPLATE).load(self.coupon_template_key)
        return CouponTemplateType.from_domain(found) if found else None


@strawberry.type(name="JourneyVariant", description="An arm of the journey and its actions.")
class JourneyVariantType:
    name: str
    weight: int
    actions: list[JourneyActionType]


@strawberry.type(name="JourneyRunTally", description="How many of a journey's runs ended one way.")
class JourneyRunTallyType:
    status: JourneyRunStatus  # type: ignore[valid-type]
    reason: str | None = strawberry.field(description="Why, for SKIPPED and FAILED runs.")
    runs: int


@strawberry.type(
    name="Journey",
    description="Automatic outreach: a trigger, an optional condition and delay, and actions.",
)
class JourneyType(Node):
    id: strawberry.ID
    name: str
    status: JourneyStatus  # type: ignore[valid-type]
    trigger: JourneyTriggerType
    condition: str | None = strawberry.field(
        description="Segment-language rule checked for the customer when the event is taken up."
    )
    delay_seconds: int = strawberry.field(description="How long after the event it acts.")
    variants: list[JourneyVariantType]
    holdout_share: Decimal
    attribution_days: int
    active_since: datetime | None = strawberry.field(
        description="The last activation or resume: events from then on start runs."
    )
    activated_at: datetime | None = strawberry.field(
        description="The first activation (its campaign started then)."
    )
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    campaign_key: strawberry.Private[int | None]
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, journey: model.Journey) -> JourneyType:
        return from_domain(
            cls,
            journey,
            id=strawberry.ID(ids.encode("Journey", journey.id)),
            trigger=JourneyTriggerType.of(journey.trigger),
            delay_seconds=int(journey.delay.total_seconds()),
            variants=[
                JourneyVariantType(
                    name=v.name,
                    weight=v.weight,
                    actions=[JourneyActionType.of(a) for a in v.actions],
                )
                for v in journey.variants
            ],
            campaign_key=journey.campaign_id,
            db_id=journey.id,
        )

    @strawberry.field(
        description="Its runs counted per status and reason: who entered, who was held "
        "out, who was skipped and why (CONDITION_FALSE …), who is still waiting."
    )
    async def run_tallies(self, info: strawberry.Info) -> list[JourneyRunTallyType]:
        found = await info.context.loader(RUN_TALLIES).load(self.db_id)
        return [
            JourneyRunTallyType(status=runs.RunStatus(t.status), reason=t.reason, runs=t.runs)
            for t in found
        ]

    @strawberry.field(
        description="The campaign that measures the journey (touchpoints, funnel, abTest, "
        "attributed orders); null until its first activation."
    )
    async def campaign(self, info: strawberry.Info) -> CampaignType | None:
        if self.campaign_key is None:
            return None
        return await load_campaign(info, self.campaign_key)


@register("Journey", Scope.JOURNEYS_READ)
async def load_journey(info: strawberry.Info, key: int) -> JourneyType | None:
    found = await info.context.loader(JOURNEY).load(key)
    return JourneyType.from_domain(found) if found else None


@strawberry.type(name="JourneyStep", description="What one action of a run did.")
class JourneyStepType:
    index: int
    kind: JourneyActionKind  # type: ignore[valid-type]
    status: JourneyStepStatus  # type: ignore[valid-type]
    reason: str | None = strawberry.field(
        description="SKIPPED / FAILED: a code (BUDGET_SPENT, NOT_ELIGIBLE, OUT_OF_STOCK …)."
    )
    message: str | None
    coupon_code: str | None = strawberry.field(description="ISSUE_COUPON: the code issued.")
    points: int | None = strawberry.field(description="AWARD_POINTS: the points given.")
    tag: str | None
    message_id: strawberry.ID | None = strawberry.field(
        description="SEND_MESSAGE: the message queued for the customer."
    )

    @classmethod
    def of(cls, step: runs.Step) -> JourneyStepType:
        detail: dict[str, Any] = step.detail
        message = detail.get("messageId")
        return cls(
            index=step.index,
            kind=step.kind,
            status=step.status,
            reason=step.reason,
            message=step.message,
            coupon_code=detail.get("couponCode"),
            points=detail.get("points"),
            tag=detail.get("tag"),
            message_id=strawberry.ID(ids.encode("Message", message)) if message else None,
        )


@strawberry.type(
    name="JourneyRun", description="One journey taken up for one customer by one event."
)
class JourneyRunType:
    id: strawberry.ID
    status: JourneyRunStatus  # type: ignore[valid-type]
    reason: str | None = strawberry.field(
        description="CONDITION_FALSE, JOURNEY_ARCHIVED, CUSTOMER_GONE, STEP_FAILED, ERROR."
    )
    arm: str = strawberry.field(description="The journey variant, or HOLDOUT.")
    event_type: str
    event_id: strawberry.ID = strawberry.field(description="The triggering event.")
    due_at: datetime
    created_at: datetime
    finished_at: datetime | None
    steps: list[JourneyStepType]
    journey_key: strawberry.Private[int]
    customer_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, run: runs.JourneyRun) -> JourneyRunType:
        return cls(
            id=strawberry.ID(ids.encode("JourneyRun", run.id)),
            status=run.status,
            reason=run.reason,
            arm=run.arm,
            event_type=run.event_type,
            event_id=strawberry.ID(ids.encode("Event", run.event_id)),
            due_at=run.due_at,
            created_at=run.created_at,
            finished_at=run.finished_at,
            steps=[JourneyStepType.of(s) for s in run.steps],
            journey_key=run.journey_id,
            customer_key=run.customer_id,
        )

    @strawberry.field
    async def journey(self, info: strawberry.Info) -> JourneyType | None:
        return await load_journey(info, self.journey_key)

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")] | None:
        return await load_customer(info, self.customer_key)
