"""The Segment type, and the rule problems a preview reports."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import requires
from api.conversion import from_domain
from api.errors import BadUserInput
from api.node import Node, register
from api.pagination import Connection, paginate
from api.segments.loaders import SEGMENT_COUNT, SEGMENT_MEMBERS
from domain import segments as domain
from domain.access import Scope
from persistence import segments as reads

if TYPE_CHECKING:
    from api.customers.types import CustomerType

SAVED = "Segment"
BUILT_IN = "BuiltInSegment"
MEMBER_SORT = "ID"


def as_of_of(info: strawberry.Info, value: datetime | None) -> datetime:
    if value is None:
        return info.context.now()
    if value.tzinfo is None:
        raise BadUserInput("asOf needs a UTC offset, e.g. 2026-01-31T00:00:00+08:00.")
    return value


@strawberry.type(
    name="Segment",
    description="Customers matching a rule, evaluated as of any instant (never stored).",
)
class SegmentType(Node):
    id: strawberry.ID
    name: str
    rule: str = strawberry.field(description="The rule, in the segment language (README).")
    description: str | None
    built_in: bool = strawberry.field(
        description="Lifecycle stages and RFM classes: read-only, always present."
    )
    tracked: bool = strawberry.field(
        description="The daily pass raises segment.entered / segment.exited for its "
        "members (from the day after it became tracked); always false for built-ins."
    )
    created_at: datetime | None = strawberry.field(description="Null for built-in segments.")
    updated_at: datetime | None = strawberry.field(description="Null for built-in segments.")
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, segment: domain.Segment) -> SegmentType:
        kind = BUILT_IN if segment.built_in else SAVED
        return from_domain(
            cls, segment, id=strawberry.ID(ids.encode(kind, segment.id)), db_id=segment.id
        )

    @strawberry.field(
        description="The members as of asOf (default now), by customer id.",
        permission_classes=[requires(Scope.SEGMENTS_READ, Scope.CUSTOMERS_READ)],
    )
    async def customers(
        self,
        info: strawberry.Info,
        as_of: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[CustomerType, strawberry.lazy("api.customers.types")]]:
        from api.customers.types import CustomerType

        moment = as_of_of(info, as_of)
        return await paginate(
            sort=MEMBER_SORT,
            first=first,
            after=after,
            read=lambda key, size: info.context.loader(SEGMENT_MEMBERS).load(
                (self.rule, moment, key, size)
            ),
            count=lambda: info.context.loader(SEGMENT_COUNT).load((self.rule, moment)),
            to_node=CustomerType.from_domain,
        )

    @strawberry.field(
        description="How many customers are members as of asOf (default now).",
        permission_classes=[requires(Scope.SEGMENTS_READ)],
    )
    async def count(self, info: strawberry.Info, as_of: datetime | None = None) -> int:
        count: int = await info.context.loader(SEGMENT_COUNT).load(
            (self.rule, as_of_of(info, as_of))
        )
        return count


@register(SAVED, Scope.SEGMENTS_READ)
async def fetch_segment(info: strawberry.Info, key: int) -> SegmentType | None:
    found = await info.context.read(reads.segments_by_ids, [key])
    return SegmentType.from_domain(found[key]) if key in found else None


@register(BUILT_IN, Scope.SEGMENTS_READ)
async def fetch_built_in_segment(info: strawberry.Info, key: int) -> SegmentType | None:
    segment = domain.BUILT_IN_BY_ID.get(key)
    return SegmentType.from_domain(segment) if segment else None


@strawberry.type(description="A problem in a rule, with where it is in the text.")
class SegmentRuleError:
    message: str
    line: int = strawberry.field(description="1-based line of the rule.")
    column: int = strawberry.field(description="1-based column within that line.")
    offset: int = strawberry.field(description="0-based character offset in the rule.")
    length: int = strawberry.field(description="How many characters the problem spans.")


@strawberry.type(description="What a rule would select, without saving it.")
class SegmentPreview:
    count: int | None = strawberry.field(description="Null when the rule has errors.")
    customers: list[Annotated[CustomerType, strawberry.lazy("api.customers.types")]] = (
        strawberry.field(description="The first members, by id.")
    )
    errors: list[SegmentRuleError]
