"""Reads for the API: members and counts of a rule, saved and built-in segments,
and which segments a batch of customers is in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.customers import Customer
from domain.program import ProgramSettings
from domain.segment_rules import (
    Rule,
    RuleErrors,
    parse_rule,
)
from domain.segments import BUILT_IN_SEGMENTS, Segment
from persistence.classification import classification_query
from persistence.customers import CustomerRow
from persistence.customers import to_domain as customer_to_domain
from persistence.pagination import Page, SortKey, keyset, page_of
from persistence.program import load_program
from persistence.segments.compiler import (
    RuleContext,
    members_statement,
    rule_clause,
    rule_context,
    with_classification,
)
from persistence.segments.rows import SegmentRow, to_domain
from persistence.statements import dialect_name

MEMBER_SORT = SortKey((CustomerRow.id,))


async def segment_members(
    session: AsyncSession,
    rule: Rule,
    as_of: datetime,
    defaults: ProgramSettings,
    after: Sequence[Any] | None,
    first: int,
) -> Page[Customer]:
    program = await load_program(session, defaults)
    ctx = rule_context(rule, as_of, program, dialect_name(session))
    statement = keyset(members_statement(rule, ctx, CustomerRow), MEMBER_SORT, after, first)
    rows = (await session.execute(statement)).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([customer_to_domain(r) for r in page.items], page.keys, page.has_next)


async def segment_count(
    session: AsyncSession, rule: Rule, as_of: datetime, defaults: ProgramSettings
) -> int:
    program = await load_program(session, defaults)
    ctx = rule_context(rule, as_of, program, dialect_name(session))
    statement = members_statement(rule, ctx, func.count())
    count: int = (await session.execute(statement)).scalar_one()
    return count


async def saved_segments(session: AsyncSession) -> list[Segment]:
    rows = await session.execute(select(SegmentRow).order_by(SegmentRow.name_key, SegmentRow.id))
    return [to_domain(r) for r in rows.scalars()]


async def all_segments(session: AsyncSession) -> list[Segment]:
    """Built-in segments first (lifecycle, then RFM), then saved ones by name."""
    return [*BUILT_IN_SEGMENTS, *await saved_segments(session)]


async def segments_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Segment]:
    rows = await session.execute(select(SegmentRow).where(SegmentRow.id.in_(list(ids))))
    return {r.id: to_domain(r) for r in rows.scalars()}


def _parsed(segment: Segment) -> Rule | None:
    """A saved rule parses (it was checked when saved); one that no longer does (the
    language dropped a field) matches nobody rather than failing every read."""
    try:
        return parse_rule(segment.rule)
    except RuleErrors:
        return None


async def segments_of_customers(
    session: AsyncSession,
    keys: Sequence[tuple[int, datetime]],
    defaults: ProgramSettings,
) -> dict[tuple[int, datetime], list[Segment]]:
    """Which segments each (customer, as-of) is in: one SELECT per distinct as-of,
    with one boolean column per segment, for the whole batch of customers."""
    program = await load_program(session, defaults)
    dialect = dialect_name(session)
    segments = [
        (segment, rule)
        for segment in await all_segments(session)
        if (rule := _parsed(segment)) is not None
    ]
    result: dict[tuple[int, datetime], list[Segment]] = {key: [] for key in keys}
    by_as_of: dict[datetime, list[int]] = {}
    for customer_id, as_of in keys:
        by_as_of.setdefault(as_of, []).append(customer_id)
    for as_of, customer_ids in by_as_of.items():
        if not segments:
            continue
        needs_orders = any(rule.uses_orders for _, rule in segments)
        cls = classification_query(as_of, program).subquery("classification")
        ctx = RuleContext(as_of, program, dialect, cls if needs_orders else None)
        columns = [
            case((rule_clause(rule, ctx), 1), else_=0).label(f"s{index}")
            for index, (_, rule) in enumerate(segments)
        ]
        statement = with_classification(
            select(CustomerRow.id, *columns).select_from(CustomerRow), ctx
        ).where(
            CustomerRow.id.in_(list(dict.fromkeys(customer_ids))),
            CustomerRow.erased_at.is_(None),
            CustomerRow.merged_into_id.is_(None),
        )
        for row in (await session.execute(statement)).all():
            result[(row[0], as_of)] = [
                segment for index, (segment, _) in enumerate(segments) if row[index + 1]
            ]
    return result


async def segment_counts(
    session: AsyncSession,
    keys: Sequence[tuple[str, datetime]],
    defaults: ProgramSettings,
) -> dict[tuple[str, datetime], int]:
    """How many customers each (rule text, as-of) matches: one SELECT per distinct
    as-of with one SUM(CASE …) column per rule, for a whole list of segments. A rule
    that no longer parses matches nobody."""
    program = await load_program(session, defaults)
    dialect = dialect_name(session)
    result = dict.fromkeys(keys, 0)
    by_as_of: dict[datetime, list[tuple[str, Rule]]] = {}
    for text, as_of in dict.fromkeys(keys):
        try:
            by_as_of.setdefault(as_of, []).append((text, parse_rule(text)))
        except RuleErrors:
            continue
    for as_of, rules in by_as_of.items():
        needs_orders = any(rule.uses_orders for _, rule in rules)
        cls = classification_query(as_of, program).subquery("classification")
        ctx = RuleContext(as_of, program, dialect, cls if needs_orders else None)
        columns = [
            func.coalesce(func.sum(case((rule_clause(rule, ctx), 1), else_=0)), 0).label(f"s{i}")
            for i, (_, rule) in enumerate(rules)
        ]
        statement = with_classification(select(*columns).select_from(CustomerRow), ctx).where(
            CustomerRow.erased_at.is_(None), CustomerRow.merged_into_id.is_(None)
        )
        row = (await session.execute(statement)).one()
        for index, (text, _) in enumerate(rules):
            result[(text, as_of)] = int(row[index])
    return result


async def members_of_rules(
    session: AsyncSession,
    keys: Sequence[tuple[str, datetime, tuple[Any, ...] | None, int]],
    defaults: ProgramSettings,
) -> dict[tuple[str, datetime, tuple[Any, ...] | None, int], Page[Customer]]:
    """Member pages of (rule text, as-of, after, first): one query per distinct key, so
    the same segment under every customer of a page is read once."""
    result: dict[tuple[str, datetime, tuple[Any, ...] | None, int], Page[Customer]] = {}
    for key in dict.fromkeys(keys):
        text, as_of, after, first = key
        try:
            rule = parse_rule(text)
        except RuleErrors:
            result[key] = Page([], [], False)
            continue
        result[key] = await segment_members(session, rule, as_of, defaults, after, first)
    return result
