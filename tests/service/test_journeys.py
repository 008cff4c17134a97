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
from domain.coupons import Cart, CouponKind, CouponService, CouponTemplateService, TemplateFields
from domain.earning_rules.model import Budget, Effect, RuleFields
from domain.earning_rules.service import EARNING_RULES, EarningRuleService
from domain.errors import present
from domain.journeys.model import ActionInput, ActionKind, JourneyFields, TriggerInput
from domain.journeys.runs import RunReason, RunStatus, StepStatus
from domain.merging import MergeCustomers, MergeService
from domain.points import POINTS
from domain.tags import ChangeCustomerTags, TagService
from persistence.campaigns import CampaignAudienceRow
from persistence.coupons import CouponRow
from persistence.database import Database
from persistence.tags import tags_of_customers
from tests.conftest import utc
from tests.service import wiring
from tests.service.journey_setup import Shop, message_template

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
    assert message.variables["coupon_name"] == "满50减10"
    assert message.variables["journey_name"] == "Repurchase reminder"
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


async def test_points_come_out_of_the_rules_budget_and_tags_follow(shop: Shop) -> None:
    rules = EarningRuleService(wiring.uow_factory(shop.database), shop.clock)
    rule = await rules.create(
        RuleFields(
            name="Win-back points",
            kind="FIXED_BONUS",
            effect=Effect(points=1),
            budget=Budget(total_points=150),
        )
    )
    journey = await shop.journeys().create(
        JourneyFields(
            name="Win-back",
            trigger=TriggerInput("customer.repurchase_due"),
            actions=[
                ActionInput(ActionKind.ADD_TAG, tag="win-back"),
                ActionInput(ActionKind.AWARD_POINTS, points=100, earning_rule_id=rule.id),
                ActionInput(ActionKind.REMOVE_TAG, tag="vip"),
            ],
        )
    )
    assert journey.id is not None
    await shop.journeys().activate(journey.id)
    customers = [await shop.customer(f"c-{i}") for i in range(3)]
    tags = TagService(wiring.uow_factory(shop.database), shop.clock)
    await tags.add_to_customers(ChangeCustomerTags(customers, tag_names=["vip"]))
    await shop.repurchase_due(*customers)
    engine = shop.engine()
    await engine.fan_out()
    acted = await engine.act_due()

    given = [r.steps[1] for r in acted]
    assert [(s.status, s.detail.get("points"), s.reason) for s in given] == [
        (StepStatus.DONE, 100, None),
        (StepStatus.DONE, 50, None),  # what remained of the budget
        (StepStatus.SKIPPED, None, "BUDGET_SPENT"),
    ]
    assert all(r.status is RunStatus.COMPLETED for r in acted)
    async with wiring.unit_of_work(shop.database) as uow:
        balances = [(await uow.repo(POINTS).load_account(c)).balance for c in customers]
        spent = present(await uow.repo(EARNING_RULES).get(present(rule.id, "id")), "rule")
    assert balances == [100, 50, 0] and spent.budget_used == 150
    async with shop.database.sessions() as session:
        held = await tags_of_customers(session, customers)
    assert {c: sorted(t.name for t in held.get(c, [])) for c in customers} == {
        c: ["win-back"] for c in customers
    }


async def test_a_refused_step_fails_the_run_and_stops_it(shop: Shop) -> None:
    """The coupon template allows one per customer: the second reminder's coupon is
    refused, so its run is FAILED there and its message is never queued."""
    coupons = CouponTemplateService(wiring.uow_factory(shop.database), shop.clock)
    template = await coupons.create(
        TemplateFields(
            name="Once",
            kind=CouponKind.AMOUNT_OFF,
            amount_off="5",
            valid_days=7,
            per_customer_limit=1,
        )
    )
    email = await message_template(shop.database, NOW)
    journey = await shop.journeys().create(
        JourneyFields(
            name="Once only",
            trigger=TriggerInput("customer.repurchase_due"),
            actions=[
                ActionInput(ActionKind.ISSUE_COUPON, coupon_template_id=template.id),
                ActionInput(ActionKind.SEND_MESSAGE, template_ids=[email]),
            ],
        )
    )
    assert journey.id is not None
    await shop.journeys().activate(journey.id)
    customer = await shop.customer("c-1")
    await shop.repurchase_due(customer)
    await shop.repurchase_due(customer)  # a second wait, a second event
    engine = shop.engine()
    assert (await engine.fan_out()).runs == 2
    first, second = await engine.act_due()

    assert first.status is RunStatus.COMPLETED
    assert (second.status, second.reason) == (RunStatus.FAILED, RunReason.STEP_FAILED)
    [step] = second.steps
    assert (step.status, step.reason) == (StepStatus.FAILED, "LIMIT_REACHED")
    assert await shop.counts() == (2, 1, 1)


async def test_a_merge_moves_runs_to_the_survivor(shop: Shop) -> None:
    await shop.repurchase_journey(delay_seconds=3600)
    survivor, merged = await shop.customer("c-1"), await shop.customer("c-2")
    await shop.repurchase_due(merged)
    engine = shop.engine()
    await engine.fan_out()
    merges = MergeService(wiring.uow_factory(shop.database), shop.clock)
    await merges.merge(MergeCustomers(survivor, merged, "merge-1"))

    shop.clock.at += timedelta(hours=1)
    [run] = await engine.act_due()
    assert (run.customer_id, run.status) == (survivor, RunStatus.COMPLETED)
    [message] = await shop.messages()
    assert message.customer_id == survivor
