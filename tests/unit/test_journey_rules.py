"""The journey rules without a database: what a journey's fields accept and refuse
(each refusal naming its field), which events start a run, and the runs the fan-out
makes of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.campaigns import HOLDOUT
from domain.classification import LifecycleStage
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.events import Event, EventType
from domain.journeys.engine import dedupe_key, new_runs
from domain.journeys.model import (
    DEFAULT_VARIANT,
    ActionInput,
    ActionKind,
    Journey,
    JourneyFields,
    JourneyStatus,
    Trigger,
    TriggerInput,
    VariantInput,
    apply_fields,
)
from domain.journeys.runs import RunReason, RunStatus

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SEND = ActionInput(ActionKind.SEND_MESSAGE, template_ids=[3, 4])


def blank() -> Journey:
    return Journey(
        id=None,
        name="",
        status=JourneyStatus.DRAFT,
        trigger=Trigger(EventType.CUSTOMER_CREATED),
        condition=None,
        delay=timedelta(0),
        variants=[],
        holdout_share=Decimal(0),
        attribution_days=7,
        created_at=NOW,
        updated_at=NOW,
    )


def create(**fields: object) -> Journey:
    given: dict[str, object] = {
        "name": "Win-back",
        "trigger": TriggerInput("customer.repurchase_due"),
        "actions": [SEND],
    }
    given.update(fields)
    return apply_fields(blank(), JourneyFields(**given), creating=True)  # type: ignore[arg-type]


def refusals(**fields: object) -> dict[tuple[str, ...], ErrorCode]:
    with pytest.raises((InvalidInput, DomainError)) as caught:
        create(**fields)
    exc = caught.value
    errors = exc.errors if isinstance(exc, InvalidInput) else [exc]
    return {e.field or (): e.code for e in errors}


def test_a_plain_journey_is_one_default_variant() -> None:
    journey = create(delay_seconds=172_800)
    assert journey.delay == timedelta(days=2)
    assert [v.name for v in journey.variants] == [DEFAULT_VARIANT]
    assert journey.variants[0].actions[0].template_ids == (3, 4)


def test_unknown_event_type_is_refused_on_its_field() -> None:
    assert refusals(trigger=TriggerInput("customer.sneezed")) == {
        ("trigger", "event_type"): ErrorCode.INVALID
    }
    # A journey hanging on what journeys cause could start itself again, without end.
    for caused in ("journey.acted", "message.sent", "message.skipped"):
        assert refusals(trigger=TriggerInput(caused)) == {
            ("trigger", "event_type"): ErrorCode.INVALID
        }


def test_trigger_narrowing_fits_its_event_type() -> None:
    found = create(trigger=TriggerInput("customer.lifecycle_changed", to_stage="SILENT")).trigger
    assert found.to_stage is LifecycleStage.SILENT
    assert refusals(trigger=TriggerInput("order.recorded", to_stage="SILENT")) == {
        ("trigger", "to_stage"): ErrorCode.INVALID
    }
    assert refusals(trigger=TriggerInput("customer.lifecycle_changed", to_stage="ASLEEP")) == {
        ("trigger", "to_stage"): ErrorCode.INVALID
    }
    assert refusals(trigger=TriggerInput("order.recorded", segment_id=4)) == {
        ("trigger", "segment_id"): ErrorCode.INVALID
    }


def test_condition_parse_errors_say_where() -> None:
    with pytest.raises(InvalidInput) as caught:
        create(condition="total_spent > ")
    [error] = caught.value.errors
    assert error.field == ("condition",) and error.code is ErrorCode.INVALID_RULE
    assert "column" in error.message
    assert create(condition="lifecycle = SILENT").condition == "lifecycle = SILENT"


def test_each_action_kind_needs_its_fields_and_no_others() -> None:
    assert refusals(actions=[ActionInput(ActionKind.ISSUE_COUPON)]) == {
        ("actions", "0", "coupon_template_id"): ErrorCode.REQUIRED
    }
    assert refusals(actions=[ActionInput(ActionKind.AWARD_POINTS, points=50)]) == {
        ("actions", "0", "earning_rule_id"): ErrorCode.REQUIRED
    }
    assert refusals(actions=[ActionInput(ActionKind.ADD_TAG, tag="vip", points=5)]) == {
        ("actions", "0", "points"): ErrorCode.INVALID
    }
    assert refusals(
        actions=[ActionInput(ActionKind.AWARD_POINTS, points=0, earning_rule_id=1)]
    ) == {("actions", "0", "points"): ErrorCode.INVALID}
    assert refusals(actions=[ActionInput(ActionKind.SEND_MESSAGE, template_ids=[])]) == {
        ("actions", "0", "template_ids"): ErrorCode.REQUIRED
    }
    assert refusals(actions=[ActionInput(ActionKind.SEND_MESSAGE, template_ids=[1, 1])]) == {
        ("actions", "0", "template_ids"): ErrorCode.INVALID
    }
    assert refusals(actions=[]) == {("actions",): ErrorCode.REQUIRED}
    # One message per customer per run: the fallback is the templates' order.
    assert refusals(actions=[SEND, ActionInput(ActionKind.ADD_TAG, tag="x"), SEND]) == {
        ("actions", "2", "kind"): ErrorCode.INVALID
    }


def test_variants_are_named_uniquely_and_not_holdout() -> None:
    found = refusals(
        actions=None,
        variants=[
            VariantInput("A", 1, [SEND]),
            VariantInput("a", 1, [SEND]),
            VariantInput("holdout", 0, []),
        ],
    )
    assert found == {
        ("variants", "1", "name"): ErrorCode.INVALID,
        ("variants", "2", "name"): ErrorCode.INVALID,
        ("variants", "2", "weight"): ErrorCode.INVALID,
        ("variants", "2", "actions"): ErrorCode.REQUIRED,
    }
    assert refusals(variants=[VariantInput("A", 1, [SEND])]) == {("actions",): ErrorCode.INVALID}


def test_holdout_share_and_delay_bounds() -> None:
    assert refusals(holdout_share="1") == {("holdout_share",): ErrorCode.INVALID}
    assert refusals(holdout_share="0.12345") == {("holdout_share",): ErrorCode.INVALID}
    assert refusals(delay_seconds=-1) == {("delay_seconds",): ErrorCode.INVALID}
    assert create(holdout_share="0.1").holdout_share == Decimal("0.1000")


def test_an_activated_journey_keeps_its_arms() -> None:
    journey = replace(create(), activated_at=NOW, status=JourneyStatus.ACTIVE)
    with pytest.raises(InvalidInput) as caught:
        apply_fields(journey, JourneyFields(actions=[SEND], holdout_share="0.2"), creating=False)
    assert {e.field: e.code for e in caught.value.errors} == {
        ("actions",): ErrorCode.READ_ONLY,
        ("holdout_share",): ErrorCode.READ_ONLY,
    }
    renamed = apply_fields(journey, JourneyFields(name="Win-back v2"), creating=False)
    assert renamed.name == "Win-back v2"
    archived = replace(journey, status=JourneyStatus.ARCHIVED)
    with pytest.raises(DomainError):
        apply_fields(archived, JourneyFields(name="x"), creating=False)


def event(kind: EventType, customer: int | None, at: datetime, **payload: object) -> Event:
    return Event(kind, customer, at, dict(payload), id=customer or 0)


def test_only_events_while_active_and_of_the_trigger_start_runs() -> None:
    journey = replace(
        create(trigger=TriggerInput("customer.lifecycle_changed", to_stage="SILENT")),
        id=1,
        campaign_id=9,
        status=JourneyStatus.ACTIVE,
        active_since=NOW,
    )
    silent = event(EventType.CUSTOMER_LIFECYCLE_CHANGED, 5, NOW, toStage="SILENT")
    assert journey.acts_on(silent)
    assert not journey.acts_on(replace(silent, occurred_at=NOW - timedelta(seconds=1)))
    assert not journey.acts_on(replace(silent, payload={"toStage": "ACTIVE"}))
    assert not journey.acts_on(replace(silent, customer_id=None))
    assert not journey.acts_on(replace(silent, type=EventType.CUSTOMER_BIRTHDAY))
    assert not replace(journey, status=JourneyStatus.PAUSED).acts_on(silent)


def test_new_runs_wait_for_the_delay_or_are_skipped_by_the_condition() -> None:
    journey = replace(
        create(delay_seconds=3600, holdout_share="0.5"),
        id=1,
        campaign_id=9,
        status=JourneyStatus.ACTIVE,
        active_since=NOW,
    )
    events = [event(EventType.CUSTOMER_REPURCHASE_DUE, c, NOW) for c in range(1, 41)]
    runs = new_runs(journey, events, passing={1, 2, 3}, now=NOW + timedelta(minutes=1))
    waiting = [r for r in runs if r.status is RunStatus.WAITING]
    assert [r.customer_id for r in waiting] == [1, 2, 3]
    assert all(r.due_at == NOW + timedelta(hours=1) for r in waiting)
    skipped = [r for r in runs if r.status is RunStatus.SKIPPED]
    assert len(skipped) == 37 and {r.reason for r in skipped} == {RunReason.CONDITION_FALSE}
    # Arms come from the campaign's deterministic assignment: both arms appear.
    assert {r.arm for r in runs} == {DEFAULT_VARIANT, HOLDOUT}
    again = new_runs(journey, events, passing=None, now=NOW)
    assert [r.arm for r in again] == [r.arm for r in runs]
    assert all(r.status is RunStatus.WAITING for r in again)


def test_dedupe_key_names_journey_run_and_step() -> None:
    assert dedupe_key(12, 345, 0) == "journey:12:run:345:step:0"
