"""What the API reads: journeys (list, by id) and runs (by customer, batched)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.journeys.model import Journey, JourneyStatus
from domain.journeys.runs import JourneyRun
from persistence.journeys.mapping import journey_of, run_of
from persistence.journeys.rows import JourneyRow, JourneyRunRow
from persistence.pagination import Page, PageRequest, SortKey, keyset, page_of, pages_per_parent

JOURNEYS_SORT = SortKey((JourneyRow.id,), descending=True)
RUNS_SORT = SortKey((JourneyRunRow.id,), descending=True)


@dataclass(frozen=True)
class JourneyFilter:
    status: JourneyStatus | None = None
    include_archived: bool = False


def _filtered(statement: Any, criteria: JourneyFilter) -> Any:
    if criteria.status is not None:
        return statement.where(JourneyRow.status == criteria.status.value)
    if not criteria.include_archived:
        return statement.where(JourneyRow.status != JourneyStatus.ARCHIVED.value)
    return statement


async def list_journeys(
    session: AsyncSession, criteria: JourneyFilter, after: Sequence[Any] | None, first: int
) -> Page[Journey]:
    statement = _filtered(select(JourneyRow), criteria)
    rows = (await session.execute(keyset(statement, JOURNEYS_SORT, after, first))).scalars().all()
    page = page_of(rows, first, lambda r: (r.id,))
    return Page([journey_of(r) for r in page.items], page.keys, page.has_next)


async def count_journeys(session: AsyncSession, criteria: JourneyFilter) -> int:
    statement = _filtered(select(func.count()).select_from(JourneyRow), criteria)
    return int((await session.execute(statement)).scalar_one())


async def journeys_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Journey]:
    rows = await session.execute(select(JourneyRow).where(JourneyRow.id.in_(list(ids))))
    return {r.id: journey_of(r) for r in rows.scalars()}


async def run_pages(
    session: AsyncSession, requests: Sequence[PageRequest]
) -> dict[PageRequest, Page[JourneyRun]]:
    """Customers' runs, newest first, for a page of customers in one query."""
    pages = await pages_per_parent(
        session, JourneyRunRow, JourneyRunRow.customer_id, RUNS_SORT, requests, lambda r: (r.id,)
    )
    return {k: Page([run_of(r) for r in p.items], p.keys, p.has_next) for k, p in pages.items()}


async def run_counts(session: AsyncSession, customer_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(JourneyRunRow.customer_id, func.count())
        .where(JourneyRunRow.customer_id.in_(list(customer_ids)))
        .group_by(JourneyRunRow.customer_id)
    )
    found = dict.fromkeys(customer_ids, 0)
    found.update({customer_id: int(total) for customer_id, total in rows.all()})
    return found


async def runs_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, JourneyRun]:
    rows = await session.execute(select(JourneyRunRow).where(JourneyRunRow.id.in_(list(ids))))
    return {r.id: run_of(r) for r in rows.scalars()}


@dataclass(frozen=True)
class RunTally:
    status: str
    reason: str | None
    runs: int


async def run_tallies(
    session: AsyncSession, journey_ids: Sequence[int]
) -> dict[int, list[RunTally]]:
    """How many runs each journey has per status and reason, for a page of journeys
    in one GROUP BY."""
    R = JourneyRunRow
    rows = await session.execute(
        select(R.journey_id, R.status, R.reason, func.count())
        .where(R.journey_id.in_(list(journey_ids)))
        .group_by(R.journey_id, R.status, R.reason)
        .order_by(R.journey_id, R.status, R.reason)
    )
    found: dict[int, list[RunTally]] = {journey_id: [] for journey_id in journey_ids}
    for journey_id, status, reason, runs in rows.all():
        found[journey_id].append(RunTally(status, reason, int(runs)))
    return found
