"""`segments`, `segment`, `segmentPreview`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.pagination import page_size
from api.segments.types import (
    BUILT_IN,
    SAVED,
    SegmentPreview,
    SegmentRuleError,
    SegmentType,
    as_of_of,
    fetch_built_in_segment,
    fetch_segment,
)
from domain.access import Scope
from domain.segment_rules import RuleErrors, parse_rule
from persistence import segments as reads


@query_fields(position=120)
@strawberry.type
class SegmentQuery:
    @strawberry.field(
        description="Built-in segments (lifecycle, RFM), then saved ones by name.",
        permission_classes=[requires(Scope.SEGMENTS_READ)],
    )
    async def segments(self, info: strawberry.Info) -> list[SegmentType]:
        found = await info.context.read(reads.all_segments)
        return [SegmentType.from_domain(s) for s in found]

    @strawberry.field(
        description="One segment, saved or built-in, by global ID.",
        permission_classes=[requires(Scope.SEGMENTS_READ)],
    )
    async def segment(self, info: strawberry.Info, id: strawberry.ID) -> SegmentType | None:
        try:
            kind, key = ids.decode_any(id)
        except ids.BadGlobalId:
            return None
        if kind == BUILT_IN:
            return await fetch_built_in_segment(info, key)
        if kind == SAVED:
            return await fetch_segment(info, key)
        return None

    @strawberry.field(
        description="Checks a rule and shows its count and first members, without saving it.",
        permission_classes=[requires(Scope.SEGMENTS_READ, Scope.CUSTOMERS_READ)],
    )
    async def segment_preview(
        self,
        info: strawberry.Info,
        rule: str,
        as_of: datetime | None = None,
        first: int | None = None,
    ) -> SegmentPreview:
        from api.customers.types import CustomerType

        size = page_size(first)
        try:
            parsed = parse_rule(rule)
        except RuleErrors as exc:
            return SegmentPreview(
                count=None,
                customers=[],
                errors=[
                    SegmentRuleError(
                        message=e.message,
                        line=e.span.line,
                        column=e.span.column,
                        offset=e.span.offset,
                        length=e.span.length,
                    )
                    for e in exc.errors
                ],
            )
        moment = as_of_of(info, as_of)
        defaults = info.context.program_defaults()
        page = await info.context.read(reads.segment_members, parsed, moment, defaults, None, size)
        count = await info.context.read(reads.segment_count, parsed, moment, defaults)
        return SegmentPreview(
            count=count,
            customers=[CustomerType.from_domain(c) for c in page.items],
            errors=[],
        )
