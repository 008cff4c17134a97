"""Activity inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.customers.inputs import CustomerRefInput


@strawberry.input
class ActivityRecordInput:
    customer: CustomerRefInput
    type: str = strawberry.field(description="CHECK_IN, REVIEW, SHARE, PROFILE_COMPLETED…")
    occurred_at: datetime
    idempotency_key: str
    attributes: JSON | None = strawberry.field(
        default=None, description="Anything of yours to keep with it (a review id…)."
    )
