"""`customerMerge` input."""

from __future__ import annotations

import strawberry


@strawberry.input
class CustomerMergeInput:
    survivor: strawberry.ID = strawberry.field(
        description="The customer that stays and receives everything."
    )
    merged: strawberry.ID = strawberry.field(
        description="The duplicate merged into the survivor; its id and externalId "
        "resolve to the survivor afterwards."
    )
    idempotency_key: str
