"""`pointsAdjust` input."""

from __future__ import annotations

import strawberry


@strawberry.input
class PointsAdjustInput:
    customer_id: strawberry.ID
    points: int = strawberry.field(description="Positive to credit, negative to debit.")
    reason: str
    idempotency_key: str
