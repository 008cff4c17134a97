"""Journey inputs and their translation into domain fields (IDs decoded, paths kept)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry

from api.classification.types import LifecycleStage
from api.errors import decode_input_id
from api.journeys.types import MESSAGE_TEMPLATE_TYPE, JourneyActionKind
from domain.errors import DomainError, ErrorCollector, InvalidInput
from domain.journeys import model


@strawberry.input(description="The event a journey hangs on.")
class JourneyTriggerInput:
    event_type: str = strawberry.field(
        description="A type of the event catalogue, e.g. customer.repurchase_due."
    )
    to_stage: LifecycleStage | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="customer.lifecycle_changed only: entering this stage."
    )
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="segment.entered / segment.exited only: this saved segment."
    )


@strawberry.input(description="One action; the fields its kind takes, and no others.")
class JourneyActionInput:
    kind: JourneyActionKind  # type: ignore[valid-type]
    template_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="SEND_MESSAGE: message templates tried in this order (e.g. WeChat, then SMS).",
    )
    marketing: bool = strawberry.field(
        default=True,
        description="SEND_MESSAGE: marketing (consent, caps); false for a service notice.",
    )
    coupon_template_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="ISSUE_COUPON: its code and expiry become variables of later messages.",
    )
    points: int | None = strawberry.field(default=None, description="AWARD_POINTS: 1 to 1,000,000.")
    earning_rule_id: strawberry.ID | None = strawberry.field(
        default=None, description="AWARD_POINTS: the earning rule whose budget pays them."
    )
    tag: str | None = strawberry.field(default=None, description="ADD_TAG / REMOVE_TAG.")


@strawberry.input(name="JourneyVariantInput")
class JourneyVariantInput:
    name: str = strawberry.field(description="Unique in the journey (ignoring case); not HOLDOUT.")
    weight: int = strawberry.field(default=1, description="1 to 10,000.")
    actions: list[JourneyActionInput] = strawberry.field(default_factory=list)


@strawberry.input
class JourneyCreateInput:
    name: str
    trigger: JourneyTriggerInput
    condition: str | None = strawberry.field(
        default=None, description="A segment-language rule the customer must meet then."
    )
    delay_seconds: int = strawberry.field(
        default=0, description="Act this long after the event (0 to 365 days)."
    )
    actions: list[JourneyActionInput] | None = strawberry.field(
        default=None, description="One variant's actions; or send variants instead."
    )
    variants: list[JourneyVariantInput] | None = strawberry.field(
        default=None, description="Two or more for an A/B test (the first is the baseline)."
    )
    holdout_share: Decimal = strawberry.field(
        default=Decimal(0), description="0 ≤ share < 1: customers who get nothing (control)."
    )
    attribution_days: int = strawberry.field(
        default=7, description="An order within this many days after a SENT converts."
    )


@strawberry.input(
    description="Omitted fields stay; once activated, actions, variants, holdoutShare and "
    "attributionDays are fixed."
)
class JourneyUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    trigger: JourneyTriggerInput | None = strawberry.UNSET
    condition: str | None = strawberry.field(
        default=strawberry.UNSET, description="null or blank clears it."
    )
    delay_seconds: int | None = strawberry.UNSET
    actions: list[JourneyActionInput] | None = strawberry.UNSET
    variants: list[JourneyVariantInput] | None = strawberry.UNSET
    holdout_share: Decimal | None = strawberry.UNSET
    attribution_days: int | None = strawberry.UNSET


@strawberry.input
class JourneyIdInput:
    id: strawberry.ID


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def _id(value: Any, type_name: str, path: tuple[str, ...], errors: ErrorCollector) -> int | None:
    if value is None:
        return None
    try:
        return decode_input_id(value, type_name, ("input", *path))
    except DomainError as exc:
        errors.capture(exc)
        return None


def _action(
    data: JourneyActionInput, path: tuple[str, ...], errors: ErrorCollector
) -> model.ActionInput:
    templates = None
    if data.template_ids is not None:
        templates = [
            t
            for i, raw in enumerate(data.template_ids)
            if (t := _id(raw, MESSAGE_TEMPLATE_TYPE, (*path, "templateIds", str(i)), errors))
            is not None
        ]
    return model.ActionInput(
        kind=model.ActionKind(data.kind),
        template_ids=templates,
        coupon_template_id=_id(
            data.coupon_template_id, "CouponTemplate", (*path, "couponTemplateId"), errors
        ),
        points=data.points,
        earning_rule_id=_id(data.earning_rule_id, "EarningRule", (*path, "earningRuleId"), errors),
        tag=data.tag,
        marketing=data.marketing,
    )


def journey_fields(data: JourneyCreateInput | JourneyUpdateInput) -> model.JourneyFields:
    """The domain's fields; every undecodable ID refused at once, under its input path."""
    errors = ErrorCollector()
    trigger = _given(data.trigger)
    actions = _given(data.actions)
    variants = _given(data.variants)
    condition = _given(data.condition)
    fields = model.JourneyFields(
        name=_given(data.name),
        trigger=(
            model.TriggerInput(
                trigger.event_type,
                trigger.to_stage.value if trigger.to_stage is not None else None,
                _id(trigger.segment_id, "Segment", ("trigger", "segmentId"), errors),
            )
            if trigger is not None
            else None
        ),
        condition=condition if condition and condition.strip() else None,
        clear_condition=isinstance(data, JourneyUpdateInput)
        and data.condition is not strawberry.UNSET
        and not (condition and condition.strip()),
        delay_seconds=_given(data.delay_seconds),
        actions=(
            [_action(a, ("actions", str(i)), errors) for i, a in enumerate(actions)]
            if actions is not None
            else None
        ),
        variants=(
            [
                model.VariantInput(
                    v.name,
                    v.weight,
                    [
                        _action(a, ("variants", str(vi), "actions", str(ai)), errors)
                        for ai, a in enumerate(v.actions)
                    ],
                )
                for vi, v in enumerate(variants)
            ]
            if variants is not None
            else None
        ),
        holdout_share=_given(data.holdout_share),
        attribution_days=_given(data.attribution_days),
    )
    if errors.errors:
        raise InvalidInput(errors.errors)
    return fields
