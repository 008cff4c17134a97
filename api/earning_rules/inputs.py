"""Earning rule inputs."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

import strawberry

from api.conversion import unset_to_domain
from api.earning_rules.types import ActivityPeriod, BudgetPeriod, EarningRuleKind
from api.errors import decode_input_id, decode_input_ids
from domain.customers import UNSET
from domain.earning_rules import model as domain

PATH = ("input",)


@strawberry.input
class EarningRuleFilter:
    active_at: datetime | None = strawberry.field(
        default=None, description="Only rules in their window at this instant, not archived."
    )
    include_archived: bool = False


@strawberry.input(description="Every condition given must hold; omitted ones do not apply.")
class EarningConditionsInput:
    channels: list[str] = strawberry.field(default_factory=list)
    skus: list[str] = strawberry.field(default_factory=list)
    categories: list[str] = strawberry.field(default_factory=list)
    min_order_amount: Decimal | None = None
    days_of_week: list[int] = strawberry.field(
        default_factory=list, description="ISO: 1 = Monday … 7 = Sunday."
    )
    days_of_month: list[int] = strawberry.field(default_factory=list)
    time_from: time | None = None
    time_until: time | None = None
    tier_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    segment_id: strawberry.ID | None = None
    first_order_only: bool = False


@strawberry.input
class EarningEffectInput:
    multiplier: Decimal | None = None
    points: int | None = None
    per_amount: Decimal | None = None


@strawberry.input
class EarningBudgetInput:
    total_points: int | None = None
    per_customer_points: int | None = None
    per_customer_period: BudgetPeriod | None = None  # type: ignore[valid-type]


@strawberry.input
class EarningActivityInput:
    type: str = strawberry.field(description="CHECK_IN, REVIEW, SHARE, PROFILE_COMPLETED…")
    limit_count: int | None = None
    limit_period: ActivityPeriod | None = None  # type: ignore[valid-type]
    streak_days: int | None = None
    streak_points: int | None = None


@strawberry.input
class EarningRuleCreateInput:
    name: str
    kind: EarningRuleKind  # type: ignore[valid-type]
    effect: EarningEffectInput
    conditions: EarningConditionsInput | None = None
    budget: EarningBudgetInput | None = None
    activity: EarningActivityInput | None = None
    priority: int = 0
    stackable: bool = True
    tier_multiplied: bool = False
    active_from: datetime | None = None
    active_until: datetime | None = None


@strawberry.input(
    description="Fields to change; an omitted field is left as it is. conditions, effect "
    "and budget are replaced whole when given."
)
class EarningRuleUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    kind: EarningRuleKind | None = strawberry.UNSET  # type: ignore[valid-type]
    effect: EarningEffectInput | None = strawberry.UNSET
    conditions: EarningConditionsInput | None = strawberry.UNSET
    budget: EarningBudgetInput | None = strawberry.UNSET
    activity: EarningActivityInput | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    stackable: bool | None = strawberry.UNSET
    tier_multiplied: bool | None = strawberry.UNSET
    active_from: datetime | None = strawberry.UNSET
    active_until: datetime | None = strawberry.UNSET


@strawberry.input
class EarningRuleArchiveInput:
    id: strawberry.ID


def _conditions(data: EarningConditionsInput | None) -> domain.Conditions:
    if data is None:
        return domain.Conditions()
    path = (*PATH, "conditions")
    return domain.Conditions(
        channels=tuple(data.channels),
        skus=tuple(data.skus),
        categories=tuple(data.categories),
        min_order_amount=data.min_order_amount,
        days_of_week=tuple(data.days_of_week),
        days_of_month=tuple(data.days_of_month),
        time_from=data.time_from,
        time_until=data.time_until,
        tier_ids=tuple(decode_input_ids(data.tier_ids, "Tier", (*path, "tierIds"))),
        segment_id=(
            None
            if data.segment_id is None
            else decode_input_id(data.segment_id, "Segment", (*path, "segmentId"))
        ),
        first_order_only=data.first_order_only,
    )


def _effect(data: EarningEffectInput | None) -> domain.Effect:
    if data is None:
        return domain.Effect()
    return domain.Effect(data.multiplier, data.points, data.per_amount)


def _budget(data: EarningBudgetInput | None) -> domain.Budget:
    if data is None:
        return domain.Budget()
    return domain.Budget(data.total_points, data.per_customer_points, data.per_customer_period)


def _activity(data: EarningActivityInput | None) -> domain.ActivitySpec | None:
    if data is None:
        return None
    return domain.ActivitySpec(
        data.type, data.limit_count, data.limit_period, data.streak_days, data.streak_points
    )


def _group(value: Any, convert: Any) -> Any:
    value = unset_to_domain(value)
    return value if value is UNSET else convert(value)


def rule_fields(data: EarningRuleCreateInput | EarningRuleUpdateInput) -> domain.RuleFields:
    return domain.RuleFields(
        name=unset_to_domain(data.name),
        kind=unset_to_domain(data.kind),
        conditions=_group(data.conditions, _conditions),
        effect=_group(data.effect, _effect),
        budget=_group(data.budget, _budget),
        activity=_group(data.activity, _activity),
        priority=unset_to_domain(data.priority),
        stackable=unset_to_domain(data.stackable),
        tier_multiplied=unset_to_domain(data.tier_multiplied),
        active_from=unset_to_domain(data.active_from),
        active_until=unset_to_domain(data.active_until),
    )
