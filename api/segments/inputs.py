"""Segment inputs."""

from __future__ import annotations

import strawberry


@strawberry.input
class SegmentCreateInput:
    name: str
    rule: str
    description: str | None = None
    tracked: bool = strawberry.field(
        default=False,
        description="Raise segment.entered / segment.exited events from the daily pass.",
    )


@strawberry.input(description="An omitted field is left as it is; null clears the description.")
class SegmentUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    rule: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    tracked: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="Start (true) or stop (false) raising segment.entered / segment.exited; "
        "stopping forgets the membership snapshot, so tracking again starts a new baseline.",
    )


@strawberry.input
class SegmentDeleteInput:
    id: strawberry.ID
