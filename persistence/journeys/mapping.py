"""Journeys and runs between rows and the domain."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from domain.classification import LifecycleStage
from domain.events import EventType
from domain.journeys.model import (
    Action,
    ActionKind,
    Journey,
    JourneyStatus,
    JourneyVariant,
    Trigger,
)
from domain.journeys.runs import JourneyRun, RunStatus, Step
from persistence.journeys.rows import JourneyRow, JourneyRunRow


def _action_data(a: Action) -> dict[str, Any]:
    return {
        "kind": a.kind.value,
        "templateIds": list(a.template_ids),
        "couponTemplateId": a.coupon_template_id,
        "points": a.points,
        "earningRuleId": a.earning_rule_id,
        "tag": a.tag,
        "marketing": a.marketing,
    }


def _action_of(d: dict[str, Any]) -> Action:
    return Action(
        ActionKind(d["kind"]),
        tuple(int(t) for t in d.get("templateIds") or ()),
        d.get("couponTemplateId"),
        d.get("points"),
        d.get("earningRuleId"),
        d.get("tag"),
        bool(d.get("marketing", True)),
    )


def journey_of(row: JourneyRow) -> Journey:
    return Journey(
        id=row.id,
        name=row.name,
        status=JourneyStatus(row.status),
        trigger=Trigger(
            EventType(row.trigger_type),
            LifecycleStage(row.trigger_stage) if row.trigger_stage else None,
            row.trigger_segment_id,
        ),
        condition=row.condition,
        delay=timedelta(seconds=row.delay_seconds),
        variants=[
            JourneyVariant(v["name"], int(v["weight"]), tuple(_action_of(a) for a in v["actions"]))
            for v in row.variants
        ],
        holdout_share=Decimal(row.holdout_share).quantize(Decimal("0.0001")),
        attribution_days=row.attribution_days,
        campaign_id=row.campaign_id,
        active_since=row.active_since,
        activated_at=row.activated_at,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def journey_values(j: Journey) -> dict[str, Any]:
    return {
        "name": j.name,
        "status": j.status.value,
        "trigger_type": j.trigger.event_type.value,
        "trigger_stage": j.trigger.to_stage.value if j.trigger.to_stage else None,
        "trigger_segment_id": j.trigger.segment_id,
        "condition": j.condition,
        "delay_seconds": int(j.delay.total_seconds()),
        "variants": [
            {"name": v.name, "weight": v.weight, "actions": [_action_data(a) for a in v.actions]}
            for v in j.variants
        ],
        "holdout_share": j.holdout_share,
        "attribution_days": j.attribution_days,
        "campaign_id": j.campaign_id,
        "active_since": j.active_since,
        "activated_at": j.activated_at,
        "archived_at": j.archived_at,
        "created_at": j.created_at,
        "updated_at": j.updated_at,
    }


def run_of(row: JourneyRunRow) -> JourneyRun:
    return JourneyRun(
        id=row.id,
        journey_id=row.journey_id,
        customer_id=row.customer_id,
        event_id=row.event_id,
        event_type=row.event_type,
        arm=row.arm,
        status=RunStatus(row.status),
        due_at=row.due_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        reason=row.reason,
        steps=tuple(Step.from_json(s) for s in row.steps or ()),
        attempts=row.attempts,
    )
