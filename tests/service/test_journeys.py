"""Journeys run by the worker's engine against a real database: one run per (journey,
customer, event), acted on exactly once, across passes and concurrent workers; a paused
journey acts on nothing; a false condition and a delay are honoured."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from api.settings import Settings
from api.worker import Worker
from domain.clock import FixedClock
from domain.coupons import Cart, CouponService
from domain.journeys.runs import RunReason, RunStatus, StepStatus
from persistence.campaigns import CampaignAudienceRow
from persistence.coupons import CouponRow
from persistence.database import Database
from tests.conftest import utc
from tests.service import wiring
from tests.service.journey_setup import Shop

NOW = utc(2026, 3, 1, 12)


@pytest.fixture
def shop(database: Database) -> Shop:
    return Shop(database, FixedClock(NOW))


async def test_repurchase_journey_issues_a_coupon_and_queues_one_message(shop: Shop) -> None:
    journey = await shop.repurchase_journey()
    customer = await shop.customer("c-1")
    await shop.repurchase_due(customer)
    engine = shop.engine()

    report = await engine.fan_out()
    acted = await engine.act_due()

    assert report.runs == 1
    assert [r.status for r in acted] == [RunStatus.COMPLETED]
    [message] = await shop.messages()
    async with shop.database.sessions() as session:
        [coupon] = (await session.execute(select(CouponRow))).scalars()
    assert coupon.customer_id == customer
    assert message.customer_id == customer
    assert message.variables["coupon_code"] == coupon.code
    assert message.variables["coupon_expires_at"] == coupon.valid_until.isoformat()
    assert message.campaign_id == journey.campaign_id and message.variant == "DEFAULT"
    assert message.dedupe_key == f"journey:{journey.id}:run:{acted[0].id}:step:1"
    [run] = acted
    assert [s.status for s in run.steps] == [StepStatus.DONE, StepStatus.DONE]
    assert run.steps[0].detail["couponCode"] == coupon.code
    # The coupon the message carries is one the shop accepts.
    coupons = CouponService(wiring.uow_factory(shop.database), shop.clock)
    validation = await coupons.validate(coupon.code, Cart(Decimal("80")), customer)
    assert validation.applies

    # A second pass finds nothing new and acts on nothing again.
    assert (await engine.fan_out()).runs == 0
    assert await engine.act_due() == []
    assert await shop.counts() == (1, 1, 1)


async def test_two_workers_act_on_each_run_exactly_once(shop: Shop) -> None:
    database = shop.database
    if database.is_sqlite:
        pytest.skip("several workers need PostgreSQL (SQLite: one worker, README)")
    await shop.repurchase_journey()
    customers = [await shop.customer(f"c-{i}") for i in range(30)]
    await shop.repurchase_due(*customers)
    engines = [Database.connect(database.url) for _ in range(2)]
    try:

        async def worker(db: Database) -> list[object]:
            engine = shop.engine(db)
            acted: list[object] = []
            for _ in range(20):  # 60 events (created, then due) in small batches
                await engine.fan_out(batch=7)
                acted.extend(await engine.act_due(limit=3))
            acted.extend(await engine.act_due())
            return acted

        done = await asyncio.gather(*(worker(db) for db in engines))
    finally:
        for db in engines:
            await db.dispose()

    assert sum(len(d) for d in done) == 30
    assert await shop.counts() == (30, 30, 30)
    messages = await shop.messages()
    assert sorted(m.customer_id for m in messages) == sorted(customers)


async def test_a_paused_journey_acts_on_nothing(shop: Shop) -> None:
    journey = await shop.repurchase_journey(delay_seconds=3600)
    assert journey.id is not None
    early, late = await shop.customer("c-1"), await shop.customer("c-2")
    await shop.repurchase_due(early)
    engine = shop.engine()
    assert (await engine.fan_out()).runs == 1  # waiting for its delay

    await shop.journeys().pause(journey.id)
    await shop.repurchase_due(late)  # raised while paused: never taken up
    shop.clock.at += timedelta(hours=2)
    assert (await engine.fan_out()).runs == 0
    assert await engine.act_due() == []
    assert await shop.counts() == (1, 0, 0)

    await shop.journeys().resume(journey.id)
    [run] = await engine.act_due()  # the waiting run acts once resumed
    assert run.customer_id == early and run.status is RunStatus.COMPLETED
    assert (await engine.fan_out()).runs == 0
    assert await shop.counts() == (1, 1, 1)


async def test_events_before_activation_start_no_run(shop: Shop) -> None:
    customer = await shop.customer("c-1")
    await shop.repurchase_due(customer, at=NOW - timedelta(minutes=1))
    await shop.repurchase_journey()
    assert (await shop.engine().fan_out()).runs == 0


async def test_false_condition_records_a_skipped_run(shop: Shop) -> None:
    await shop.repurchase_journey(condition="total_spent > 1000")
    customer = await shop.customer("c-1")
    await shop.repurchase_due(customer)
    engine = shop.engine()

    assert (await engine.fan_out()).runs == 1
    assert await engine.act_due() == []
    [run] = await shop.runs()
    assert run.status == RunStatus.SKIPPED.value
    assert run.reason == RunReason.CONDITION_FALSE.value
    assert await shop.counts() == (1, 0, 0)


async def test_delay_is_respected(shop: Shop) -> None:
    await shop.repurchase_journey(delay_seconds=2 * 24 * 3600)
    customer = await shop.customer("c-1")
    await shop.repurchase_due(customer)
    engine = shop.engine()
    await engine.fan_out()

    shop.clock.at = NOW + timedelta(days=2) - timedelta(seconds=1)
    assert await engine.act_due() == []
    assert await shop.counts() == (1, 0, 0)
    shop.clock.at = NOW + timedelta(days=2)
    [run] = await engine.act_due()
    assert run.status is RunStatus.COMPLETED
    assert await shop.counts() == (1, 1, 1)


async def test_holdout_customers_get_nothing_but_join_the_audience(shop: Shop) -> None:
    journey = await shop.repurchase_journey(holdout_share="0.5")
    customers = [await shop.customer(f"c-{i}") for i in range(20)]
    await shop.repurchase_due(*customers)
    engine = shop.engine()
    await engine.fan_out()
    acted = await engine.act_due()

    held = [r for r in acted if r.status is RunStatus.HOLDOUT]
    completed = [r for r in acted if r.status is RunStatus.COMPLETED]
    assert held and completed and len(held) + len(completed) == 20
    assert all(r.arm == "HOLDOUT" and r.steps == () for r in held)
    runs, messages, coupons = await shop.counts()
    assert (runs, messages, coupons) == (20, len(completed), len(completed))
    async with shop.database.sessions() as session:
        audience = dict(
            (
                await session.execute(
                    select(CampaignAudienceRow.customer_id, CampaignAudienceRow.arm).where(
                        CampaignAudienceRow.campaign_id == journey.campaign_id
                    )
                )
            ).all()
        )
    assert audience == {r.customer_id: r.arm for r in acted}


async def test_archiving_skips_waiting_runs(shop: Shop) -> None:
    journey = await shop.repurchase_journey(delay_seconds=60)
    assert journey.id is not None
    await shop.repurchase_due(await shop.customer("c-1"))
    engine = shop.engine()
    await engine.fan_out()
    await shop.journeys().archive(journey.id)
    shop.clock.at += timedelta(minutes=5)
    assert await engine.act_due() == []
    [run] = await shop.runs()
    assert (run.status, run.reason) == ("SKIPPED", "JOURNEY_ARCHIVED")


async def test_the_worker_turn_runs_journeys_once(shop: Shop) -> None:
    """`Worker.run_once` (what `loyalty worker --once` does) takes journeys up too."""
    await shop.repurchase_journey()
    await shop.repurchase_due(await shop.customer("c-1"))
    settings = Settings(DATABASE_URL=shop.database.url, LOYALTY_SECRET_KEY="k" * 40)
    worker = Worker(shop.database, settings, clock=shop.clock, daily=False)
    try:
        await worker.run_once()
        await worker.run_once()
    finally:
        await worker.close()
    assert worker.totals.journey_runs == 1
    assert await shop.counts() == (1, 1, 1)
