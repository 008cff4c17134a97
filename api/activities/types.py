"""The Activity type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON

from domain.earning_rules.activities import Activity

if TYPE_CHECKING:
    from api.earning_rules.types import EarningRuleType


@strawberry.type(name="Activity", description="An action a customer took that earns points.")
class ActivityType:
    type: str
    occurred_at: datetime
    points: int = strawberry.field(
        description="What it earned, streak bonus included (less, or 0, when a budget ran out)."
    )
    streak_days: int = strawberry.field(
        description="Consecutive local days with this action, ending with this one (0 when "
        "the rule counts no streak)."
    )
    attributes: JSON | None
    idempotency_key: str
    created_at: datetime
    rule_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, activity: Activity) -> ActivityType:
        return cls(
            type=activity.type,
            occurred_at=activity.occurred_at,
            points=activity.points,
            streak_days=activity.streak_days,
            attributes=cast(JSON, activity.attributes),
            idempotency_key=activity.idempotency_key,
            created_at=activity.created_at,
            rule_key=activity.rule_id,
        )

    @strawberry.field(description="The ACTIVITY rule it earned by.")
    async def rule(
        self, info: strawberry.Info
    ) -> Annotated[EarningRuleType, strawberry.lazy("api.earning_rules.types")] | None:
        from api.earning_rules.types import load_earning_rule

        return await load_earning_rule(info, self.rule_key)
