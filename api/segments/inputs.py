"""Segment inputs."""

from __future__ import annotations

import strawberry


@strawberry.input
class SegmentCreateInput:
    name: str
    rule: str
    description: str | None = None


@strawberry.input(description="An omitted field is left as it is; null clears the description.")
class SegmentUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    rule: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class SegmentDeleteInput:
    id: strawberry.ID
