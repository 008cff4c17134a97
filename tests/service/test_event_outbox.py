"""The outbox against real databases: an event exists iff its change committed, and a
consumer resuming from its cursor never skips an event that committed late."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import DomainError, ErrorCode
from domain.event_payloads import PointsAdjustedV1
from domain.events import EVENTS, Event
from persistence.database import Database
from persistence.events import EventRow, events_after
from persistence.pagination import Page
from persistence.unit_of_work import SqlUnitOfWork
from tests.event_horizon import settle


def marker(name: str) -> Event:
    """An event whose reason names it (a typed payload, like every event)."""
    payload = PointsAdjustedV1(None, entry_id=None, points=0, balance=0, reason=name)
    return Event.of(payload, datetime.now(UTC))


def markers(page: Page[Event]) -> list[str]:
    return [event.payload["reason"] for event in page.items]


async def read_after(database: Database, cursor: tuple | None, first: int = 100) -> Page[Event]:
    async with database.sessions() as session:
        return await events_after(session, cursor, first)


async def commit_one(database: Database, name: str) -> None:
    async with SqlUnitOfWork(database) as uow:
        await uow.repo(EVENTS).append(marker(name))
        await uow.commit()


async def test_an_event_appended_by_a_refused_command_does_not_exist(database):
    async def refuse_after_appending() -> None:
        """A service that appends its event, then finds a business reason to refuse."""
        async with SqlUnitOfWork(database) as uow:
            await uow.repo(EVENTS).append(marker("refused"))
            await uow.session.flush()  # the row is in the database, uncommitted
            raise DomainError(ErrorCode.INVALID, ("input",), "refused after appending")

    await commit_one(database, "before")
    with pytest.raises(DomainError):
        await refuse_after_appending()
    await commit_one(database, "after")

    await settle(database)
    assert markers(await read_after(database, None)) == ["before", "after"]


async def test_a_late_commit_lands_after_the_cursor_on_postgresql(database):
    """A takes a lower id than B but commits after it. A reader ordered by id alone
    would hand out B, move its cursor past A's id, and never deliver A."""
    if database.is_sqlite:
        pytest.skip("SQLite serializes writers: test_sqlite_writers_commit_in_id_order")
    await commit_one(database, "C")
    await settle(database)
    cursor = (await read_after(database, None)).keys[-1]

    a = await SqlUnitOfWork(database).__aenter__()
    try:
        await a.repo(EVENTS).append(marker("A"))
        await a.session.flush()
        async with SqlUnitOfWork(database) as b:
            await b.repo(EVENTS).append(marker("B"))
            await b.commit()

        ids = await _ids_by_marker(a.session)  # A's own row, and B's committed one
        assert ids["A"] < ids["B"]  # the naive reader's trap is real here
        assert markers(await read_after(database, cursor)) == []  # B waits behind A
        await a.commit()
    finally:
        await a.__aexit__(None, None, None)

    await settle(database)
    resumed = await read_after(database, cursor)
    assert markers(resumed) == ["A", "B"]
    assert markers(await read_after(database, resumed.keys[-1])) == []


async def test_sqlite_writers_commit_in_id_order(database):
    """On SQLite B cannot even begin while A holds the write lock, so ids follow
    commit order and the id alone is a safe cursor."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL writers overlap: test_a_late_commit_lands_after_the_cursor")
    await commit_one(database, "C")
    await settle(database)
    cursor = (await read_after(database, None)).keys[-1]

    a = await SqlUnitOfWork(database).__aenter__()
    try:
        await a.repo(EVENTS).append(marker("A"))
        await a.session.flush()
        b = asyncio.create_task(commit_one(database, "B"))
        for _ in range(50):
            await asyncio.sleep(0)
        assert not b.done()  # blocked on BEGIN IMMEDIATE until A ends
        assert markers(await read_after(database, cursor)) == []
        await a.commit()
    finally:
        await a.__aexit__(None, None, None)
    await b

    await settle(database)
    assert markers(await read_after(database, cursor)) == ["A", "B"]


@dataclass(frozen=True)
class WriterPlan:
    name: str
    start: int  # event-loop yields before the transaction begins
    events: int
    holds: list[int]  # event-loop yields after each append, transaction still open
    commits: bool


def plans(rng: random.Random, writers: int) -> list[WriterPlan]:
    result = []
    for n in range(writers):
        count = rng.randint(1, 3)
        result.append(
            WriterPlan(
                f"w{n}",
                rng.randint(0, 10),
                count,
                [rng.randint(0, 30) for _ in range(count)],
                commits=rng.random() < 0.85,
            )
        )
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_polling_consumer_sees_every_committed_event_exactly_once(database, seed):
    rng = random.Random(seed)
    schedule = plans(rng, writers=16)
    finished = 0

    async def write(plan: WriterPlan) -> None:
        nonlocal finished
        try:
            for _ in range(plan.start):
                await asyncio.sleep(0)
            async with SqlUnitOfWork(database) as uow:
                for k in range(plan.events):
                    await uow.repo(EVENTS).append(marker(f"{plan.name}.{k}"))
                    await uow.session.flush()
                    for _ in range(plan.holds[k]):
                        await asyncio.sleep(0)
                if plan.commits:
                    await uow.commit()
        finally:
            finished += 1

    expected = {f"{p.name}.{k}" for p in schedule if p.commits for k in range(p.events)}
    seen: list[str] = []

    async def consume() -> None:
        """Polls while the writers run, then reads to the end once they are done."""
        cursor = None

        async def poll() -> Page[Event]:
            nonlocal cursor
            page = await read_after(database, cursor, first=3)
            seen.extend(markers(page))
            cursor = page.keys[-1] if page.keys else cursor
            return page

        while finished < len(schedule):
            await poll()
            await asyncio.sleep(0)
        await settle(database)
        while (await poll()).items:
            pass

    await asyncio.gather(consume(), *(write(plan) for plan in schedule))

    assert len(seen) == len(set(seen)), "an event was delivered twice"
    assert set(seen) == expected
    for plan in schedule:  # one transaction's events stay in append order
        own = [m for m in seen if m.split(".")[0] == plan.name]
        assert own == sorted(own, key=lambda m: int(m.split(".")[1]))


async def _ids_by_marker(session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(select(EventRow))).scalars().all()
    return {row.payload["reason"]: row.id for row in rows}
