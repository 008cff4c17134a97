"""The events filter."""

from __future__ import annotations

import strawberry


@strawberry.input
class EventFilter:
    types: list[str] | None = strawberry.field(
        default=None,
        description="Only these types (null: all; an empty list matches nothing). An "
        "unknown type is refused, so a typo never looks like a quiet stream.",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only events about this customer."
    )
