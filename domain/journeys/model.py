"""A journey and the rules its fields obey.

Why a journey owns a campaign: a journey is measured like a campaign (touchpoints,
last-touch attribution, funnel, A/B test), and the campaign code already does all of
that from an audience with arms. So the first activation makes a campaign row whose
variants and holdout are the journey's; each customer who enters the journey is
added to its audience with the arm the campaign's deterministic hash gives them.
Variants and holdout are therefore fixed from the first activation on (READ_ONLY),
exactly as a started campaign's are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.campaigns import HOLDOUT, Variant
from domain.campaigns import thresholds as campaign_thresholds
from domain.classification import LifecycleStage
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.events import Event, EventType
from domain.fields import required_text
from domain.segment_rules import MAX_RULE_LENGTH, RuleErrors, parse_rule
from domain.tags import MAX_TAG_NAME

MAX_NAME = 200
MAX_VARIANTS = 10
MAX_VARIANT_NAME = 50
MAX_WEIGHT = 10_000
MAX_ACTIONS = 20
MAX_TEMPLATES = 5
MAX_POINTS = 1_000_000
MAX_DELAY = timedelta(days=365)
MAX_ATTRIBUTION_DAYS = 365
DEFAULT_ATTRIBUTION_DAYS = 7
DEFAULT_VARIANT = "DEFAULT"
SHARE_PLACES = Decimal("0.0001")

# What a journey may hang on: every catalogue type about one customer, except the
# events journeys themselves cause — `journey.acted`, `message.sent`,
# `message.skipped` — on which a journey could start itself again, without end.
TRIGGER_TYPES = frozenset(EventType) - {
    EventType.JOURNEY_ACTED,
    EventType.MESSAGE_SENT,
    EventType.MESSAGE_SKIPPED,
}


class JourneyStatus(StrEnum):
    DRAFT = "DRAFT"
    """Saved, never acting; every field may change."""
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    """Acts on nothing: new events are not taken up, waiting runs wait."""
    ARCHIVED = "ARCHIVED"
    """For good: its waiting runs are skipped; its figures stay readable."""


class ActionKind(StrEnum):
    SEND_MESSAGE = "SEND_MESSAGE"
    ISSUE_COUPON = "ISSUE_COUPON"
    AWARD_POINTS = "AWARD_POINTS"
    ADD_TAG = "ADD_TAG"
    REMOVE_TAG = "REMOVE_TAG"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    template_ids: tuple[int, ...] = ()
    """SEND_MESSAGE: message templates tried in this order (the fallback)."""
    coupon_template_id: int | None = None
    points: int | None = None
    earning_rule_id: int | None = None
    """AWARD_POINTS: the earning rule whose budget the points come out of."""
    tag: str | None = None
    marketing: bool = True
    """SEND_MESSAGE: a marketing message needs consent and counts against the caps."""


@dataclass(frozen=True)
class JourneyVariant:
    name: str
    weight: int
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Trigger:
    event_type: EventType
    to_stage: LifecycleStage | None = None
    """customer.lifecycle_changed only: the stage entered (SILENT: win-back)."""
    segment_id: int | None = None
    """segment.entered / segment.exited only: that one segment."""

    def matches(self, event: Event) -> bool:
        if event.type is not self.event_type or event.customer_id is None:
            return False
        if self.to_stage is not None and event.payload.get("toStage") != self.to_stage.value:
            return False
        return self.segment_id is None or event.payload.get("segmentId") == self.segment_id


@dataclass
class Journey:
    id: int | None
    name: str
    status: JourneyStatus
    trigger: Trigger
    condition: str | None
    delay: timedelta
    variants: list[JourneyVariant]
    holdout_share: Decimal
    attribution_days: int
    created_at: datetime
    updated_at: datetime
    campaign_id: int | None = None
    active_since: datetime | None = None
    """The last activation or resume: only events that occurred at or after it start
    runs (no backfill of history, nothing raised while it was paused)."""
    activated_at: datetime | None = None
    """The first activation: variants and holdout are fixed from then on."""
    archived_at: datetime | None = None

    def campaign_variants(self) -> list[Variant]:
        return [Variant(v.name, v.weight) for v in self.variants]

    def thresholds(self) -> list[tuple[int, str]]:
        return campaign_thresholds(self.holdout_share, self.campaign_variants())

    def variant(self, name: str) -> JourneyVariant | None:
        return next((v for v in self.variants if v.name == name), None)

    def acts_on(self, event: Event) -> bool:
        """A new run for this event: active, the trigger matches, and the event
        occurred while the journey was active."""
        return (
            self.status is JourneyStatus.ACTIVE
            and self.active_since is not None
            and event.occurred_at >= self.active_since
            and self.trigger.matches(event)
        )


# ---- input ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionInput:
    kind: ActionKind
    template_ids: Sequence[int] | None = None
    coupon_template_id: int | None = None
    points: int | None = None
    earning_rule_id: int | None = None
    tag: str | None = None
    marketing: bool = True


@dataclass(frozen=True)
class VariantInput:
    name: str
    weight: int = 1
    actions: Sequence[ActionInput] = ()


@dataclass(frozen=True)
class TriggerInput:
    event_type: str
    to_stage: str | None = None
    segment_id: int | None = None


@dataclass(frozen=True)
class JourneyFields:
    """What create and update send; None means "not sent" (update keeps it)."""

    name: str | None = None
    trigger: TriggerInput | None = None
    condition: str | None = None
    clear_condition: bool = False
    delay_seconds: int | None = None
    actions: Sequence[ActionInput] | None = None
    variants: Sequence[VariantInput] | None = None
    holdout_share: Any = None
    attribution_days: int | None = None


def check_trigger(data: TriggerInput, errors: ErrorCollector) -> Trigger | None:
    path = ("trigger",)
    known = {t.value: t for t in TRIGGER_TYPES}
    kind = known.get(data.event_type)
    if kind is None:
        errors.add(
            ErrorCode.INVALID,
            (*path, "event_type"),
            f"Unknown event type {data.event_type!r}; known: {', '.join(sorted(known))}.",
        )
        return None
    stage = None
    if data.to_stage is not None:
        if kind is not EventType.CUSTOMER_LIFECYCLE_CHANGED:
            errors.add(
                ErrorCode.INVALID,
                (*path, "to_stage"),
                "toStage narrows customer.lifecycle_changed only.",
            )
        else:
            try:
                stage = LifecycleStage(data.to_stage)
            except ValueError:
                errors.add(
                    ErrorCode.INVALID,
                    (*path, "to_stage"),
                    f"Unknown stage; known: {', '.join(s.value for s in LifecycleStage)}.",
                )
    if data.segment_id is not None and kind not in (
        EventType.SEGMENT_ENTERED,
        EventType.SEGMENT_EXITED,
    ):
        errors.add(
            ErrorCode.INVALID,
            (*path, "segment_id"),
            "segmentId narrows segment.entered and segment.exited only.",
        )
    return Trigger(kind, stage, data.segment_id)


def check_condition(text: str | None, errors: ErrorCollector) -> str | None:
    """The condition's text, or None for none; every rule error with its position."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_RULE_LENGTH:
        errors.add(
            ErrorCode.TOO_LONG, ("condition",), f"condition is over {MAX_RULE_LENGTH} characters."
        )
        return None
    try:
        parse_rule(text)
    except RuleErrors as exc:
        for error in exc.errors:
            errors.add(ErrorCode.INVALID_RULE, ("condition",), error.message)
        return None
    return text


def check_action(data: ActionInput, path: tuple[str, ...], errors: ErrorCollector) -> Action | None:
    """One action: the fields its kind needs, and no field another kind takes."""
    before = len(errors.errors)
    needed: dict[ActionKind, set[str]] = {
        ActionKind.SEND_MESSAGE: {"template_ids"},
        ActionKind.ISSUE_COUPON: {"coupon_template_id"},
        ActionKind.AWARD_POINTS: {"points", "earning_rule_id"},
        ActionKind.ADD_TAG: {"tag"},
        ActionKind.REMOVE_TAG: {"tag"},
    }
    given = {
        name
        for name in ("template_ids", "coupon_template_id", "points", "earning_rule_id", "tag")
        if getattr(data, name) is not None
    }
    for name in sorted(needed[data.kind] - given):
        errors.add(ErrorCode.REQUIRED, (*path, name), f"{data.kind.value} needs {name}.")
    for name in sorted(given - needed[data.kind]):
        errors.add(ErrorCode.INVALID, (*path, name), f"{data.kind.value} takes no {name}.")
    templates: tuple[int, ...] = ()
    if data.template_ids is not None:
        templates = tuple(data.template_ids)
        if not templates:
            errors.add(ErrorCode.REQUIRED, (*path, "template_ids"), "Name at least one template.")
        elif len(templates) > MAX_TEMPLATES:
            errors.add(
                ErrorCode.TOO_MANY,
                (*path, "template_ids"),
                f"At most {MAX_TEMPLATES} templates in a fallback.",
            )
        elif len(set(templates)) != len(templates):
            errors.add(ErrorCode.INVALID, (*path, "template_ids"), "A template is named twice.")
    if data.points is not None and not 1 <= data.points <= MAX_POINTS:
        errors.add(ErrorCode.INVALID, (*path, "points"), f"points is 1 to {MAX_POINTS}.")
    tag = None
    if data.tag is not None:
        try:
            tag = required_text(data.tag, (*path, "tag"), max_length=MAX_TAG_NAME)
        except DomainError as exc:
            errors.capture(exc)
    if len(errors.errors) > before:
        return None
    return Action(
        data.kind,
        templates,
        data.coupon_template_id,
        data.points,
        data.earning_rule_id,
        tag,
        data.marketing,
    )


def check_actions(
    items: Sequence[ActionInput], path: tuple[str, ...], errors: ErrorCollector
) -> tuple[Action, ...]:
    if not items:
        errors.add(ErrorCode.REQUIRED, path, "Name at least one action.")
        return ()
    if len(items) > MAX_ACTIONS:
        errors.add(ErrorCode.TOO_MANY, path, f"At most {MAX_ACTIONS} actions.")
        return ()
    found = [check_action(a, (*path, str(i)), errors) for i, a in enumerate(items)]
    sends = [i for i, a in enumerate(items) if a.kind is ActionKind.SEND_MESSAGE]
    for index in sends[1:]:
        errors.add(
            ErrorCode.INVALID,
            (*path, str(index), "kind"),
            "One message per customer per run: a variant sends at most one message "
            "(its templateIds are the fallback over channels).",
        )
    return tuple(a for a in found if a is not None)


def check_variants(items: Sequence[VariantInput], errors: ErrorCollector) -> list[JourneyVariant]:
    if not items:
        errors.add(ErrorCode.REQUIRED, ("variants",), "Name at least one variant.")
        return []
    if len(items) > MAX_VARIANTS:
        errors.add(ErrorCode.TOO_MANY, ("variants",), f"At most {MAX_VARIANTS} variants.")
        return []
    seen: set[str] = set()
    found: list[JourneyVariant] = []
    for index, item in enumerate(items):
        path = ("variants", str(index))
        try:
            name = required_text(item.name, (*path, "name"), max_length=MAX_VARIANT_NAME)
        except DomainError as exc:
            errors.capture(exc)
            name = ""
        if name and (name.upper() == HOLDOUT or name.casefold() in seen):
            errors.add(
                ErrorCode.INVALID,
                (*path, "name"),
                "Variant names are unique (ignoring case) and not HOLDOUT.",
            )
        seen.add(name.casefold())
        if not 1 <= item.weight <= MAX_WEIGHT:
            errors.add(ErrorCode.INVALID, (*path, "weight"), f"weight is 1 to {MAX_WEIGHT}.")
        actions = check_actions(item.actions, (*path, "actions"), errors)
        found.append(JourneyVariant(name, item.weight, actions))
    return found


def check_share(value: Any, errors: ErrorCollector) -> Decimal | None:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError):
        share = Decimal(-1)
    if not share.is_finite() or not 0 <= share < 1 or share != share.quantize(SHARE_PLACES):
        errors.add(
            ErrorCode.INVALID, ("holdout_share",), "0 ≤ holdoutShare < 1, at most 4 decimals."
        )
        return None
    return share.quantize(SHARE_PLACES)


def apply_fields(journey: Journey, fields: JourneyFields, *, creating: bool) -> Journey:
    """The journey with the sent fields checked and applied, every problem at once.
    Once activated, variants, actions, holdout and attribution window are READ_ONLY
    (fixed with its campaign); an archived journey changes nothing."""
    errors = ErrorCollector()
    if journey.status is JourneyStatus.ARCHIVED:
        raise DomainError(ErrorCode.INVALID, ("id",), "The journey is archived.")
    if journey.activated_at is not None:
        for name in ("actions", "variants", "holdout_share", "attribution_days"):
            if getattr(fields, name) is not None:
                errors.add(
                    ErrorCode.READ_ONLY,
                    (name,),
                    f"The journey was activated: its {name} is fixed with its campaign.",
                )
    changes: dict[str, Any] = {}
    if fields.name is not None or creating:
        try:
            changes["name"] = required_text(fields.name, ("name",), max_length=MAX_NAME)
        except DomainError as exc:
            errors.capture(exc)
    if fields.trigger is not None:
        changes["trigger"] = check_trigger(fields.trigger, errors)
    elif creating:
        errors.add(ErrorCode.REQUIRED, ("trigger",), "trigger is required.")
    if fields.condition is not None:
        changes["condition"] = check_condition(fields.condition, errors)
    elif fields.clear_condition:
        changes["condition"] = None
    if fields.delay_seconds is not None:
        if not 0 <= fields.delay_seconds <= MAX_DELAY.total_seconds():
            errors.add(
                ErrorCode.INVALID,
                ("delay_seconds",),
                f"delaySeconds is 0 to {int(MAX_DELAY.total_seconds())} (365 days).",
            )
        else:
            changes["delay"] = timedelta(seconds=fields.delay_seconds)
    if fields.actions is not None and fields.variants is not None:
        errors.add(
            ErrorCode.INVALID,
            ("actions",),
            "Send actions (one variant) or variants (each with its actions), not both.",
        )
    elif fields.actions is not None:
        actions = check_actions(fields.actions, ("actions",), errors)
        changes["variants"] = [JourneyVariant(DEFAULT_VARIANT, 1, actions)]
    elif fields.variants is not None:
        changes["variants"] = check_variants(fields.variants, errors)
    elif creating:
        errors.add(ErrorCode.REQUIRED, ("actions",), "actions (or variants) is required.")
    if fields.holdout_share is not None:
        changes["holdout_share"] = check_share(fields.holdout_share, errors)
    if fields.attribution_days is not None:
        if not 1 <= fields.attribution_days <= MAX_ATTRIBUTION_DAYS:
            errors.add(
                ErrorCode.INVALID,
                ("attribution_days",),
                f"attributionDays is 1 to {MAX_ATTRIBUTION_DAYS}.",
            )
        else:
            changes["attribution_days"] = fields.attribution_days
    errors.raise_if_any()
    return replace(journey, **changes)


@dataclass(frozen=True)
class References:
    """The ids a journey's actions and trigger name, to check they exist."""

    message_templates: dict[int, tuple[str, ...]] = field(default_factory=dict)
    coupon_templates: dict[int, tuple[str, ...]] = field(default_factory=dict)
    earning_rules: dict[int, tuple[str, ...]] = field(default_factory=dict)
    segments: dict[int, tuple[str, ...]] = field(default_factory=dict)


def references(journey: Journey, *, variants_sent: bool) -> References:
    """Each referenced id with the input path that named it (the first one)."""
    found = References()
    if journey.trigger.segment_id is not None:
        found.segments[journey.trigger.segment_id] = ("trigger", "segment_id")
    for v_index, variant in enumerate(journey.variants):
        base = ("variants", str(v_index), "actions") if variants_sent else ("actions",)
        for a_index, action in enumerate(variant.actions):
            path = (*base, str(a_index))
            for t_index, template_id in enumerate(action.template_ids):
                found.message_templates.setdefault(
                    template_id, (*path, "template_ids", str(t_index))
                )
            if action.coupon_template_id is not None:
                found.coupon_templates.setdefault(
                    action.coupon_template_id, (*path, "coupon_template_id")
                )
            if action.earning_rule_id is not None:
                found.earning_rules.setdefault(action.earning_rule_id, (*path, "earning_rule_id"))
    return found
