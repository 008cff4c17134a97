"""`customerTokenCreate` input."""

from __future__ import annotations

import strawberry

from domain.customer_tokens import MAX_TTL_SECONDS


@strawberry.input
class CustomerTokenCreateInput:
    customer_id: strawberry.ID
    ttl_seconds: int = strawberry.field(
        default=3600, description=f"Lifetime in seconds, at most {MAX_TTL_SECONDS} (a day)."
    )
