"""What the API reads of messaging: template pages, a customer's messages (pages per
customer in one statement), their outcomes and consents, batched per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messaging.consent import Consent
from domain.messaging.messages import Message, MessageOutcome
from domain.messaging.templates import MessageTemplate
from persistence.messaging.consents import consents_of
from persistence.messaging.messages import message_of, outcome_of
from persistence.messaging.rows import MessageOutcomeRow, MessageRow, MessageTemplateRow
from persistence.messaging.templates import template_of
from persistence.pagination import Page, PageRequest, SortKey, keyset, page_of, pages_per_parent

TEMPLATE_ORDER = SortKey((MessageTemplateRow.id,))
MESSAGE_ORDER = SortKey((MessageRow.id,), descending=True)


def _template_filter(include_archived: bool) -> list[Any]:
    return [] if include_archived else [MessageTemplateRow.archived_at.is_(None)]


async def templates_page(
    session: AsyncSession, include_archived: bool, after: Sequence[Any] | None, first: int
) -> Page[MessageTemplate]:
    statement = select(MessageTemplateRow).where(*_template_filter(include_archived))
    rows = (await session.execute(keyset(statement, TEMPLATE_ORDER, after, first))).scalars()
    page = page_of(list(rows), first, lambda r: (r.id,))
    return Page([template_of(r) for r in page.items], page.keys, page.has_next)


async def count_templates(session: AsyncSession, include_archived: bool) -> int:
    statement = (
        select(func.count())
        .select_from(MessageTemplateRow)
        .where(*_template_filter(include_archived))
    )
    return (await session.execute(statement)).scalar_one()


async def templates_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, MessageTemplate]:
    rows = await session.execute(
        select(MessageTemplateRow).where(MessageTemplateRow.id.in_(list(ids)))
    )
    return {r.id: template_of(r) for r in rows.scalars()}


async def message_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[Message]]:
    """Customers' messages, newest first, for a page of customers in one query."""
    pages = await pages_per_parent(
        session, MessageRow, MessageRow.customer_id, MESSAGE_ORDER, requests, lambda r: (r.id,)
    )
    return {k: Page([message_of(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()}


async def message_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(MessageRow.customer_id, func.count())
        .where(MessageRow.customer_id.in_(list(customer_ids)))
        .group_by(MessageRow.customer_id)
    )
    return {customer_id: count for customer_id, count in rows.all()}


async def outcomes_of_messages(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[MessageOutcome]]:
    rows = await session.execute(
        select(MessageOutcomeRow)
        .where(MessageOutcomeRow.message_id.in_(list(message_ids)))
        .order_by(MessageOutcomeRow.message_id, MessageOutcomeRow.id)
    )
    found: dict[int, list[MessageOutcome]] = {}
    for row in rows.scalars():
        found.setdefault(row.message_id, []).append(outcome_of(row))
    return found


async def consents_of_customers(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[Consent]]:
    return await consents_of(session, customer_ids)
