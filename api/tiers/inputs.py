"""Tier administration inputs."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.input
class TierCreateInput:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal = strawberry.field(description="Above 0, at most 10.")
    benefits: str | None = None


@strawberry.input(description="An omitted field is left as it is.")
class TierUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    rank: int | None = strawberry.UNSET
    threshold: Decimal | None = strawberry.UNSET
    earn_multiplier: Decimal | None = strawberry.UNSET
    benefits: str | None = strawberry.UNSET


@strawberry.input
class TierDeleteInput:
    id: strawberry.ID
