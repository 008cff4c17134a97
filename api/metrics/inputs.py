"""The metrics inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input(description="A period [from, to): from included, to excluded.")
class PeriodInput:
    from_: datetime = strawberry.field(name="from")
    to: datetime


@strawberry.input(
    description="A sub-population; every given field must hold (AND). segment, tier, "
    "campaign and acquisitionChannel restrict the customers (membership as of now: a "
    "saved segment's members now, the current tier, a campaign's frozen audience "
    "including its holdout); every figure is then that of these customers alone. "
    "channel restricts the orders to that order channel (points, feedback and "
    "referrals stay the customers'). campaign also narrows the campaign figures "
    "(reached, converted, attributed orders and revenue) to that campaign."
)
class MetricsFilter:
    segment: strawberry.ID | None = strawberry.field(
        default=None, description="A saved segment's ID."
    )
    tier: strawberry.ID | None = strawberry.field(default=None, description="A tier's ID.")
    channel: str | None = strawberry.field(
        default=None, description="An order channel, as recorded on orders (exact match)."
    )
    campaign: strawberry.ID | None = strawberry.field(
        default=None, description="A campaign's ID: the customers of its audience."
    )
    acquisition_channel: str | None = strawberry.field(
        default=None, description="The customers' acquisition channel (exact match)."
    )
