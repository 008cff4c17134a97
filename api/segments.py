"""Segments over GraphQL: saved and built-in segments, their members as of any
instant, a preview of a rule before saving it, and the segment mutations.

Built-in segments (lifecycle stages, RFM classes) have global IDs of the kind
`BuiltInSegment`, so they can never collide with a saved segment's id; both are the
GraphQL type `Segment`, told apart by `builtIn`.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.auth import require
from api.customers import CustomerType, unset_to_domain
from api.errors import BadUserInput, UserError, user_errors
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from domain import segments as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.segment_rules import Rule, RuleErrors, parse_rule
from persistence import segments as reads
from persistence.pagination import Page

SAVED = "Segment"
BUILT_IN = "BuiltInSegment"
MEMBER_SORT = "ID"
MAX_PREVIEW = 100


def _as_of(info: strawberry.Info, value: datetime | None) -> datetime:
    if value is None:
        return info.context.clock.now()
    if value.tzinfo is None:
        raise BadUserInput("asOf needs a UTC offset, e.g. 2026-01-31T00:00:00+08:00.")
    return value


def _defaults(info: strawberry.Info):  # noqa: ANN202
    return info.context.settings.program_defaults()


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
    created_at: datetime | None = strawberry.field(description="Null for built-in segments.")
    updated_at: datetime | None = strawberry.field(description="Null for built-in segments.")
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, segment: domain.Segment) -> SegmentType:
        return cls(
            id=strawberry.ID(ids.encode(BUILT_IN if segment.built_in else SAVED, segment.id)),
            name=segment.name,
            rule=segment.rule,
            description=segment.description,
            built_in=segment.built_in,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
            db_id=segment.id,
        )

    @strawberry.field(description="The members as of asOf (default now), by customer id.")
    async def customers(
        self,
        info: strawberry.Info,
        as_of: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CustomerType]:
        require(info, Scope.SEGMENTS_READ, Scope.CUSTOMERS_READ)
        rule = stored_rule(self.rule)
        if rule is None:
            return connection(
                Page([], [], False), MEMBER_SORT, CustomerType.from_domain, _none, after=None
            )
        return await _members(info, rule, _as_of(info, as_of), first, after)

    @strawberry.field(description="How many customers are members as of asOf (default now).")
    async def count(self, info: strawberry.Info, as_of: datetime | None = None) -> int:
        require(info, Scope.SEGMENTS_READ)
        rule = stored_rule(self.rule)
        if rule is None:
            return 0
        return await info.context.read(
            reads.segment_count, rule, _as_of(info, as_of), _defaults(info)
        )


async def _none() -> int:
    return 0


def stored_rule(text: str) -> Rule | None:
    """A saved rule that no longer parses (saved before a check existed) matches
    nobody, so one bad segment never fails the reads of the others."""
    try:
        return parse_rule(text)
    except RuleErrors:
        return None


async def _members(
    info: strawberry.Info, rule, as_of: datetime, first: int | None, after: str | None
) -> Connection[CustomerType]:  # noqa: ANN001
    size = page_size(first)
    key = decode_cursor(after, MEMBER_SORT) if after else None
    defaults = _defaults(info)
    page = await info.context.read(reads.segment_members, rule, as_of, defaults, key, size)
    return connection(
        page,
        MEMBER_SORT,
        CustomerType.from_domain,
        lambda: info.context.read(reads.segment_count, rule, as_of, defaults),
        after=after,
    )


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
    customers: list[CustomerType] = strawberry.field(description="The first members, by id.")
    errors: list[SegmentRuleError]


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


@strawberry.type
class SegmentPayload:
    segment: SegmentType | None
    user_errors: list[UserError]


@strawberry.type
class SegmentDeletePayload:
    deleted_segment_id: strawberry.ID | None
    user_errors: list[UserError]


def _saved_key(global_id: str) -> int:
    """The key of a saved segment; built-in and foreign IDs are refused."""
    field = ("input", "id")
    try:
        kind, key = ids.decode_any(global_id)
    except ids.BadGlobalId:
        raise DomainError(ErrorCode.INVALID, field, "id is not a valid ID.") from None
    if kind == BUILT_IN:
        raise domain.built_in_refusal(key)
    if kind != SAVED:
        raise DomainError(ErrorCode.WRONG_TYPE, field, f"id: expected a Segment ID, got {kind}.")
    return key


def segment_service(info: strawberry.Info) -> domain.SegmentService:
    return domain.SegmentService(info.context.uow(), info.context.clock)


@strawberry.type
class SegmentQuery:
    @strawberry.field(description="Built-in segments (lifecycle, RFM), then saved ones by name.")
    async def segments(self, info: strawberry.Info) -> list[SegmentType]:
        require(info, Scope.SEGMENTS_READ)
        found = await info.context.read(reads.all_segments)
        return [SegmentType.from_domain(s) for s in found]

    @strawberry.field(description="One segment, saved or built-in, by global ID.")
    async def segment(self, info: strawberry.Info, id: strawberry.ID) -> SegmentType | None:
        require(info, Scope.SEGMENTS_READ)
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
        description="Checks a rule and shows its count and first members, without saving it."
    )
    async def segment_preview(
        self,
        info: strawberry.Info,
        rule: str,
        as_of: datetime | None = None,
        first: int | None = None,
    ) -> SegmentPreview:
        require(info, Scope.SEGMENTS_READ, Scope.CUSTOMERS_READ)
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
        moment = _as_of(info, as_of)
        defaults = _defaults(info)
        page = await info.context.read(reads.segment_members, parsed, moment, defaults, None, size)
        count = await info.context.read(reads.segment_count, parsed, moment, defaults)
        return SegmentPreview(
            count=count,
            customers=[CustomerType.from_domain(c) for c in page.items],
            errors=[],
        )


@strawberry.type
class SegmentMutation:
    @strawberry.mutation(description="Saves a new segment; the rule is checked first.")
    async def segment_create(
        self, info: strawberry.Info, input: SegmentCreateInput
    ) -> SegmentPayload:
        require(info, Scope.SEGMENTS_WRITE)
        command = domain.CreateSegment(input.name, input.rule, input.description)
        try:
            segment = await segment_service(info).create(command)
        except (DomainError, InvalidInput) as exc:
            return SegmentPayload(segment=None, user_errors=user_errors(exc))
        return SegmentPayload(segment=SegmentType.from_domain(segment), user_errors=[])

    @strawberry.mutation(description="Renames a saved segment or changes its rule.")
    async def segment_update(
        self, info: strawberry.Info, input: SegmentUpdateInput
    ) -> SegmentPayload:
        require(info, Scope.SEGMENTS_WRITE)
        try:
            command = domain.UpdateSegment(
                _saved_key(input.id),
                name=unset_to_domain(input.name),
                rule=unset_to_domain(input.rule),
                description=unset_to_domain(input.description),
            )
            segment = await segment_service(info).update(command)
        except (DomainError, InvalidInput) as exc:
            return SegmentPayload(segment=None, user_errors=user_errors(exc))
        return SegmentPayload(segment=SegmentType.from_domain(segment), user_errors=[])

    @strawberry.mutation(description="Deletes a saved segment (built-in ones cannot be).")
    async def segment_delete(
        self, info: strawberry.Info, input: SegmentDeleteInput
    ) -> SegmentDeletePayload:
        require(info, Scope.SEGMENTS_WRITE)
        try:
            await segment_service(info).delete(_saved_key(input.id))
        except (DomainError, InvalidInput) as exc:
            return SegmentDeletePayload(deleted_segment_id=None, user_errors=user_errors(exc))
        return SegmentDeletePayload(deleted_segment_id=input.id, user_errors=[])
