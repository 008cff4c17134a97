"""Several workers against one database: every delivery sent once, the daily pass run
once per program-local day. Real concurrency (separate engines and connections), a
real HTTP receiver, no sleeps."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from api.settings import Settings
from api.worker import Worker
from domain.clock import FixedClock
from domain.daily import DailyScheduler
from domain.event_payloads import CustomerCreatedV1
from domain.events import EVENTS, Event
from domain.webhooks import CreateSubscription, SecretBox, WebhookService
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.event_horizon import settle
from tests.webhook_receiver import receiver

SECRET_KEY = "a-test-secret-key-that-is-long-enough-1234"


def settings_for(database: Database, **extra: object) -> Settings:
    return Settings(DATABASE_URL=database.url, LOYALTY_SECRET_KEY=SECRET_KEY, **extra)


async def subscribe(database: Database, clock: FixedClock, url: str) -> None:
    service = WebhookService(
        lambda: SqlUnitOfWork(database), clock, SecretBox(SECRET_KEY), production=False
    )
    await service.create(CreateSubscription(url, ["customer.created"]))


async def append_events(database: Database, count: int, customers: int, at: datetime) -> None:
    async with SqlUnitOfWork(database) as uow:
        for i in range(count):
            await uow.repo(EVENTS).append(
                Event.of(CustomerCreatedV1(i % customers + 1, f"c-{i}"), at)
            )
        await uow.commit()


async def test_two_workers_send_each_of_1000_deliveries_exactly_once(database):
    if database.is_sqlite:
        pytest.skip("several workers need PostgreSQL (SQLite: one worker, README)")
    clock = FixedClock(datetime.now(UTC))
    with receiver() as hook:
        await subscribe(database, clock, hook.url)
        await append_events(database, 1000, customers=50, at=clock.at)
        await settle(database)
        engines = [Database.connect(database.url) for _ in range(2)]
        workers = [
            Worker(e, settings_for(database), clock=clock, name=f"w{i}", daily=False)
            for i, e in enumerate(engines)
        ]
        try:
            assert await workers[0].fan_out() == 1000
            reports = await asyncio.gather(*(w.run_once() for w in workers))
        finally:
            for w in workers:
                await w.close()
            for e in engines:
                await e.dispose()

        ids = [r.headers["webhook-id"] for r in hook.requests]
        assert len(ids) == 1000 and len(set(ids)) == 1000
        assert sum(r.sent for r in reports) == 1000
        assert sum(r.succeeded for r in reports) == 1000
        # One customer's events arrive in outbox order.
        seen: dict[str, list[int]] = {}
        for request in hook.requests:
            data = json.loads(request.body)["data"]
            seen.setdefault(data["customerId"], []).append(int(data["payload"]["externalId"][2:]))
        assert len(seen) == 50
        assert all(ns == sorted(ns) and len(ns) == 20 for ns in seen.values())
        async with database.sessions() as session:
            from sqlalchemy import func, select

            from persistence.webhooks import WebhookDeliveryRow

            statuses = await session.execute(
                select(WebhookDeliveryRow.status, func.count()).group_by(WebhookDeliveryRow.status)
            )
            assert dict(statuses.all()) == {"SUCCEEDED": 1000}


async def test_the_daily_pass_runs_once_per_program_day_however_many_workers(database):
    runs: list[datetime] = []

    async def daily(_uow, as_of: datetime) -> str:  # noqa: ANN001
        runs.append(as_of)
        return "ran"

    clock = FixedClock(datetime(2027, 3, 1, 22, 0, tzinfo=UTC))
    engines = [Database.connect(database.url) for _ in range(3)]
    try:
        schedulers = [
            DailyScheduler(lambda e=e: SqlUnitOfWork(e), clock, worker=f"w{i}", run=daily)
            for i, e in enumerate(engines)
        ]
        results = await asyncio.gather(*(s.run_if_due() for s in schedulers))
        assert sorted(r is not None for r in results) == [False, False, True]
        assert runs == [clock.at]
        # Later the same day: nothing; the next day (UTC is the program zone): once more.
        clock.at += timedelta(hours=1, minutes=59)
        assert await schedulers[1].run_if_due() is None
        clock.at += timedelta(minutes=2)
        day, report = await schedulers[2].run_if_due()
        assert (day.isoformat(), report) == ("2027-03-02", "ran")
        # By hand (`loyalty worker --as-of`): runs even though the day was claimed.
        assert await schedulers[0].run_for(clock.at, force=True) is not None
        assert len(runs) == 3
    finally:
        for e in engines:
            await e.dispose()


async def test_a_claim_left_unfinished_by_a_dead_worker_is_taken_over(database):
    clock = FixedClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))

    async def crash(_uow, _as_of):  # noqa: ANN001, ANN202
        raise RuntimeError("worker died mid-pass")

    async def daily(_uow, _as_of):  # noqa: ANN001, ANN202
        return "ran"

    factory = lambda: SqlUnitOfWork(database)  # noqa: E731
    with pytest.raises(RuntimeError):
        await DailyScheduler(factory, clock, worker="a", run=crash).run_if_due()
    other = DailyScheduler(factory, clock, worker="b", run=daily, stale_after=timedelta(hours=1))
    assert await other.run_if_due() is None  # still fresh: a may yet finish
    clock.at += timedelta(hours=1, seconds=1)
    assert await other.run_if_due() is not None


async def test_the_worker_runs_the_real_daily_pass_once_a_day(database):
    clock = FixedClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    worker = Worker(database, settings_for(database), clock=clock, name="solo")
    try:
        await worker.run_once()
        await worker.run_once()
        assert worker.totals.daily_passes == 1
        clock.at += timedelta(days=1)
        await worker.run_once()
        assert worker.totals.daily_passes == 2
    finally:
        await worker.close()
