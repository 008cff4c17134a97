"""The EarningRule type and its parts."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import strawberry

from api import ids
from api.earning_rules.loaders import EARNING_RULE
from api.node import Node, register
from domain.access import Scope
from domain.earning_rules import model as domain

EarningRuleKind = strawberry.enum(domain.RuleKind, name="EarningRuleKind")
BudgetPeriod = strawberry.enum(domain.BudgetPeriod, name="BudgetPeriod")
ActivityPeriod = strawberry.enum(domain.ActivityPeriod, name="ActivityPeriod")


@strawberry.type(
    name="EarningActivity",
    description="What an ACTIVITY rule rewards: actions of `type`, at most limitCount "
    "per customer per program-local limitPeriod, and streakPoints more on every "
    "streakDays-th consecutive local day with one.",
)
class EarningActivityType:
    type: str
    limit_count: int | None
    limit_period: ActivityPeriod | None  # type: ignore[valid-type]
    streak_days: int | None
    streak_points: int | None


@strawberry.type(
    name="EarningConditions",
    description="Every condition set must hold. skus and categories pick the lines the "
    "rule works on (a line matching either list); calendar conditions are read on the "
    "order's placedAt in the program time zone.",
)
class EarningConditionsType:
    channels: list[str]
    skus: list[str]
    categories: list[str]
    min_order_amount: Decimal | None
    days_of_week: list[int] = strawberry.field(description="ISO: 1 = Monday … 7 = Sunday.")
    days_of_month: list[int]
    time_from: time | None = strawberry.field(description="Local time of day, inclusive.")
    time_until: time | None = strawberry.field(
        description="Local time of day, exclusive; before timeFrom, the window wraps midnight."
    )
    tier_ids: list[strawberry.ID]
    segment_id: strawberry.ID | None = strawberry.field(
        description="A saved segment the customer must be in as of the order."
    )
    first_order_only: bool

    @classmethod
    def from_domain(cls, c: domain.Conditions) -> EarningConditionsType:
        return cls(
            channels=list(c.channels),
            skus=list(c.skus),
            categories=list(c.categories),
            min_order_amount=c.min_order_amount,
            days_of_week=list(c.days_of_week),
            days_of_month=list(c.days_of_month),
            time_from=c.time_from,
            time_until=c.time_until,
            tier_ids=[strawberry.ID(ids.encode("Tier", t)) for t in c.tier_ids],
            segment_id=(
                None if c.segment_id is None else strawberry.ID(ids.encode("Segment", c.segment_id))
            ),
            first_order_only=c.first_order_only,
        )


@strawberry.type(name="EarningEffect")
class EarningEffectType:
    multiplier: Decimal | None = strawberry.field(
        description="MULTIPLIER (and BIRTHDAY_MONTH as a multiplier): ×2 doubles the "
        "points of its lines, adding one base's worth."
    )
    points: int | None = strawberry.field(
        description="The bonus (FIXED_BONUS, FIRST_ORDER_BONUS, BIRTHDAY_MONTH as points), "
        "or n of POINTS_PER_AMOUNT's n points per perAmount."
    )
    per_amount: Decimal | None


@strawberry.type(name="EarningBudget")
class EarningBudgetType:
    total_points: int | None = strawberry.field(description="null = no total limit.")
    points_given: int = strawberry.field(description="What the rule has given so far.")
    points_left: int | None
    per_customer_points: int | None
    per_customer_period: BudgetPeriod | None  # type: ignore[valid-type]


@strawberry.type(
    name="EarningRule",
    description="Points an order earns beyond its base points, on the lines it applies to.",
)
class EarningRuleType(Node):
    id: strawberry.ID
    name: str
    kind: EarningRuleKind  # type: ignore[valid-type]
    conditions: EarningConditionsType
    effect: EarningEffectType
    budget: EarningBudgetType
    activity: EarningActivityType | None = strawberry.field(
        description="ACTIVITY rules only: the action rewarded and its limits."
    )
    priority: int = strawberry.field(description="Higher goes first.")
    stackable: bool = strawberry.field(
        description="False: once it gives points on a line, lower-priority rules skip that line."
    )
    tier_multiplied: bool = strawberry.field(
        description="True: the customer's tier multiplier multiplies this rule's points too."
    )
    active_from: datetime | None
    active_until: datetime | None = strawberry.field(description="Exclusive; null = open-ended.")
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    model: strawberry.Private[domain.EarningRule]

    @classmethod
    def from_domain(cls, rule: domain.EarningRule) -> EarningRuleType:
        assert rule.created_at is not None and rule.updated_at is not None
        return cls(
            id=strawberry.ID(ids.encode("EarningRule", rule.id)),
            name=rule.name,
            kind=rule.kind,
            conditions=EarningConditionsType.from_domain(rule.conditions),
            effect=EarningEffectType(
                multiplier=rule.effect.multiplier,
                points=rule.effect.points,
                per_amount=rule.effect.per_amount,
            ),
            budget=EarningBudgetType(
                total_points=rule.budget.total_points,
                points_given=rule.budget_used,
                points_left=rule.budget_left,
                per_customer_points=rule.budget.per_customer_points,
                per_customer_period=rule.budget.per_customer_period,
            ),
            activity=(
                None
                if rule.activity is None
                else EarningActivityType(
                    type=rule.activity.type,
                    limit_count=rule.activity.limit_count,
                    limit_period=rule.activity.limit_period,
                    streak_days=rule.activity.streak_days,
                    streak_points=rule.activity.streak_points,
                )
            ),
            priority=rule.priority,
            stackable=rule.stackable,
            tier_multiplied=rule.tier_multiplied,
            active_from=rule.active_from,
            active_until=rule.active_until,
            archived_at=rule.archived_at,
            created_at=rule.created_at,
            updated_at=rule.updated_at,
            model=rule,
        )

    @strawberry.field(description="Inside its active window and not archived, right now.")
    def active(self, info: strawberry.Info) -> bool:
        return self.model.is_active(info.context.clock.now())


async def load_earning_rule(info: strawberry.Info, key: int) -> EarningRuleType | None:
    rule = await info.context.loader(EARNING_RULE).load(key)
    return EarningRuleType.from_domain(rule) if rule else None


@register("EarningRule", Scope.PROMOTIONS_READ)
async def fetch_earning_rule(info: strawberry.Info, key: int) -> EarningRuleType | None:
    return await load_earning_rule(info, key)
