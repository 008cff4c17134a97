"""`activityRecord`."""

from __future__ import annotations

from typing import Any, cast

import strawberry

from api.activities.inputs import ActivityRecordInput
from api.activities.types import ActivityType
from api.areas import mutation_fields
from api.auth import caller_of, requires_api_key
from api.customers.inputs import customer_ref_of
from api.customers.types import CustomerType
from api.errors import UserError
from api.payloads import refusals_as_user_errors
from domain.access import Scope
from domain.earning_rules import activities as domain


@strawberry.type
class ActivityRecordPayload:
    activity: ActivityType | None = None
    customer: CustomerType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@mutation_fields(position=88)
@strawberry.type
class ActivityMutation:
    @strawberry.mutation(
        description="Records an action (a daily check-in, a review posted, a share…); it "
        "earns by the ACTIVITY rule for its type. Refusals: RULE_INACTIVE (no rule rewards "
        "the type now), LIMIT_REACHED (the rule's limit per period), DUPLICATE (the same "
        "customer, type and occurredAt again). Idempotent on idempotencyKey.",
        permission_classes=[requires_api_key(Scope.ACTIVITIES_WRITE)],
    )
    @refusals_as_user_errors(ActivityRecordPayload)
    async def activity_record(
        self, info: strawberry.Info, input: ActivityRecordInput
    ) -> ActivityRecordPayload:
        context = info.context
        service = domain.ActivityService(
            context.uow, context.clock, phone_region=context.settings.phone_region
        )
        result = await service.record(
            domain.RecordActivity(
                customer=customer_ref_of(input.customer, ("input", "customer")),
                type=input.type,
                occurred_at=input.occurred_at,
                idempotency_key=input.idempotency_key,
                # Any JSON arrives here; the service accepts an object only.
                attributes=cast(Any, input.attributes),
                api_key_id=caller_of(info).api_key.id,
            )
        )
        return ActivityRecordPayload(
            activity=ActivityType.from_domain(result.activity),
            customer=CustomerType.from_domain(result.customer),
            replayed=result.replayed,
        )
