"""The metrics inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input(description="A period [from, to): from included, to excluded.")
class PeriodInput:
    from_: datetime = strawberry.field(name="from")
    to: datetime
