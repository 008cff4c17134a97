"""Events as a public contract: one scenario raises every event type of the catalogue,
each in the transaction of its change and each conforming to its definition; a
refused command raises none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.adjustments import AdjustPoints
from domain.coupons import (
    CouponKind,
    CouponService,
    CouponTemplateService,
    IssueCoupon,
    TemplateFields,
)
from domain.customers import CustomerRef, CustomerService, ProfileInput, UpsertCustomer
from domain.errors import DomainError, present
from domain.event_payloads import CURRENT, check
from domain.events import EventType
from domain.journeys.engine import JourneyEngine
from domain.journeys.model import ActionInput, ActionKind, JourneyFields, TriggerInput
from domain.journeys.service import JourneyService
from domain.merging import MergeCustomers, MergeService
from domain.messaging.channels import Outgoing, Recipient, SendResult
from domain.messaging.outbound import OutboundMessage, enqueue
from domain.messaging.pipeline import MessagePipeline
from domain.messaging.template_service import TemplateService
from domain.messaging.templates import TemplateChannel
from domain.messaging.templates import TemplateFields as MessageTemplateFields
from domain.messaging.unsubscribe import UnsubscribeLinks
from domain.redemptions import CancelRedemption, RedeemReward
from domain.referrals import RecordReferral
from domain.rewards import RewardFields, RewardKind
from domain.segments import CreateSegment, SegmentService
from domain.tiers import TierService
from persistence.database import Database
from persistence.events import EventRow
from tests.event_horizon import settle
from tests.service import wiring
from tests.service.test_daily_triggers import Shop

DAY0 = datetime(2027, 3, 1, 10, tzinfo=UTC)


class AcceptingChannel:
    """A channel whose provider accepts everything: this test is about the events a
    message's end raises, not about a provider (tests/api/test_messaging_pipeline.py
    sends through real local ones)."""

    channel = TemplateChannel.WEBHOOK

    def address(self, recipient: Recipient) -> str | None:
        return str(recipient.customer_id)

    async def send(self, outgoing: Outgoing) -> SendResult:
        return SendResult.sent(f"accepted-{outgoing.message_id}")


class Story(Shop):
    """The daily-trigger shop with a clock that moves with the history."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.clock.at = DAY0

    async def at(self, when: datetime) -> None:
        self.clock.at = when

    async def types_since(self, last_id: int) -> list[str]:
        await settle(self.database)
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(EventRow.type).where(EventRow.id > last_id).order_by(EventRow.id)
            )
            return list(rows.scalars())

    async def last_id(self) -> int:
        async with self.database.sessions() as session:
            found = await session.execute(select(func.coalesce(func.max(EventRow.id), 0)))
            return int(found.scalar_one())


async def test_every_event_type_is_raised_by_its_change_and_conforms(database):
    story = Story(database)
    await story.program(
        expiry_days=40,
        expiring_soon_days=30,
        tier_window_days=30,
        tier_retention_days=0,
        repurchase_reminder_days=40,
        referrer_bonus=10,
        referee_bonus=10,
        coupon_restore_on_refund=True,
    )
    await TierService(wiring.uow_factory(database), story.clock).ensure_defaults()
    segments = SegmentService(wiring.uow_factory(database), story.clock)
    await segments.create(CreateSegment("Buyers", "orders_count >= 1", tracked=True))
    raised: dict[str, list[str]] = {}

    async def step(name: str, action) -> None:  # noqa: ANN001
        before = await story.last_id()
        await action()
        raised[name] = await story.types_since(before)

    got: dict[str, object] = {}

    async def keep(name: str, call) -> None:  # noqa: ANN001
        got[name] = await call

    customers = CustomerService(wiring.uow_factory(database), story.clock, phone_region=None)
    birthday = (DAY0 + timedelta(days=41)).date().replace(year=1990)
    profile = ProfileInput(birthday=birthday)
    await step(
        "customerUpsert", lambda: keep("ann", customers.upsert(UpsertCustomer("x", profile)))
    )
    ann = story.ids["x"] = got["ann"].customer.id
    await step("orderRecord", lambda: story.order("a-1", "x", DAY0, amount="1200"))
    await step("daily (baseline)", lambda: story.run(DAY0 + timedelta(hours=14)))

    referrals = wiring.referrals(database, story.clock)
    code = await referrals.code_of(ann)
    bob = CustomerRef(external_id="bob", profile=ProfileInput())
    await step("referralRecord", lambda: referrals.record(RecordReferral(code, bob, "ref-1")))
    await step("orderRecord (qualifying)", lambda: story.order("b-1", "bob", DAY0, "300"))
    await step("orderRefund", lambda: story.refund("b-1", "100"))
    adjust = AdjustPoints(ann, 5, "goodwill", "adj-1")
    await step("pointsAdjust", lambda: wiring.adjustments(database, story.clock).adjust(adjust))

    rewards = wiring.rewards(database, story.clock)
    reward = await rewards.create(RewardFields(name="Mug", points_cost=100, kind=RewardKind.CUSTOM))
    redemptions = wiring.redemptions(database, story.clock)
    redeem = RedeemReward(ann, reward.id, "redeem-1")
    await step("rewardRedeem", lambda: keep("used", redemptions.redeem(redeem)))
    await step("redemptionUse", lambda: redemptions.use(got["used"].redemption.code))
    kept = await redemptions.redeem(RedeemReward(ann, reward.id, "redeem-2"))
    cancel = CancelRedemption(kept.redemption.id, "cancel-1")
    await step("redemptionCancel", lambda: redemptions.cancel(cancel))

    expensive = await rewards.create(
        RewardFields(name="Car", points_cost=10**6, kind=RewardKind.CUSTOM)
    )
    before = await story.last_id()
    with pytest.raises(DomainError):  # refused: more points than ann has
        await redemptions.redeem(RedeemReward(ann, expensive.id, "redeem-3"))
    with pytest.raises(DomainError):  # refused: a refund larger than the order
        await story.refund("a-1", "5000")
    assert await story.types_since(before) == []

    await story.at(DAY0 + timedelta(days=15))
    await step("orderRecord (cat)", lambda: story.order("c-1", "cat", story.clock.at, "50"))
    await step("daily (day 15)", lambda: story.run(DAY0 + timedelta(days=15, hours=14)))
    await story.at(DAY0 + timedelta(days=41))
    await step("orderRefund (cat, in full)", lambda: story.refund("c-1", "50"))
    await step("daily (day 41)", lambda: story.run(DAY0 + timedelta(days=41)))

    templates = CouponTemplateService(wiring.uow_factory(database), story.clock)
    template = await templates.create(
        TemplateFields(
            name="Win-back",
            kind=CouponKind.AMOUNT_OFF,
            amount_off="10",
            min_spend="50",
            valid_days=2,
        )
    )
    coupons = CouponService(wiring.uow_factory(database), story.clock)
    issued = await coupons.issue(IssueCoupon(template.id, story.ids["cat"], "coupon-1"))
    await story.order("d-1", "cat", story.clock.at, "80")
    await step("couponUse", lambda: coupons.use(issued.coupon.code, "d-1"))
    await step("orderRefund (d-1, in full)", lambda: story.refund("d-1", "80"))
    await step("daily (day 42)", lambda: story.run(DAY0 + timedelta(days=42)))
    duplicate = (await customers.upsert(UpsertCustomer("x-dup", ProfileInput()))).customer
    merges = MergeService(wiring.uow_factory(database), story.clock)
    merge = MergeCustomers(ann, present(duplicate.id, "id"), "merge-1")
    await step("customerMerge", lambda: merges.merge(merge))
    journeys = JourneyService(wiring.uow_factory(database), story.clock)
    welcome = await journeys.create(
        JourneyFields(
            name="Welcome",
            trigger=TriggerInput("customer.created"),
            actions=[ActionInput(ActionKind.ADD_TAG, tag="welcomed")],
        )
    )
    await journeys.activate(present(welcome.id, "id"))
    await customers.upsert(UpsertCustomer("x-new", ProfileInput()))
    await settle(database)
    engine = JourneyEngine(wiring.uow_factory(database), story.clock)

    async def journey_pass() -> None:
        while (await engine.fan_out()).events:
            pass
        await engine.act_due()

    await step("journey (worker)", journey_pass)

    # Messaging: a transactional message the channel accepts, a marketing one without
    # consent (skipped).
    templates = TemplateService(wiring.uow_factory(database), story.clock)
    hook = await templates.create(
        MessageTemplateFields(name="t", channel=TemplateChannel.WEBHOOK, body="{{ name }}")
    )
    async with wiring.unit_of_work(database) as uow:
        for key, marketing in (("m-1", False), ("m-2", True)):
            queued = OutboundMessage(ann, (present(hook.id, "id"),), key, None, None)
            await enqueue(uow, replace(queued, marketing=marketing), story.clock.now())
        await uow.commit()
    pipeline = MessagePipeline(
        wiring.uow_factory(database),
        story.clock,
        {TemplateChannel.WEBHOOK: AcceptingChannel()},
        UnsubscribeLinks("key", "https://shop.example"),
        worker="catalogue",
    )
    await step("message delivery", lambda: pipeline.run(10))

    assert raised["customerUpsert"] == ["customer.created"]
    assert raised["orderRecord"] == [
        "points.earned",
        "order.recorded",
        "tier.upgraded",
    ]
    assert raised["daily (baseline)"] == []  # stages and the segment's snapshot: stored
    assert raised["referralRecord"] == ["customer.created", "referral.recorded"]
    assert raised["orderRecord (qualifying)"] == [
        "points.earned",
        "order.recorded",
        "points.earned",
        "points.earned",
        "referral.qualified",
        "tier.upgraded",  # bob's first tier, Bronze
    ]
    assert raised["orderRefund"] == ["order.refunded"]
    assert raised["pointsAdjust"] == ["points.adjusted"]
    assert raised["redemptionUse"] == ["redemption.used"]
    assert raised["rewardRedeem"] == ["points.redeemed", "reward.redeemed"]
    assert raised["redemptionCancel"] == ["redemption.cancelled"]
    assert sorted(raised["daily (day 15)"]) == sorted(
        [
            "points.expiring_soon",  # ann's and bob's lots expire on day 40
            "points.expiring_soon",
            "customer.lifecycle_changed",  # ann: NEW → ACTIVE
            "customer.lifecycle_changed",  # bob: NEW → ACTIVE
            "customer.lifecycle_changed",  # cat: PROSPECT → NEW
            "segment.entered",  # bob and cat joined the buyers
            "segment.entered",
        ]
    )
    day41 = raised["daily (day 41)"]
    for kind in (
        "points.expired",
        "tier.downgraded",
        "customer.birthday",
        "customer.repurchase_due",
        "customer.lifecycle_changed",
        "segment.exited",
    ):
        assert kind in day41, kind
    assert raised["couponUse"] == ["coupon.used"]
    assert raised["orderRefund (d-1, in full)"] == ["coupon.restored", "order.refunded"]
    assert "coupon.expiring_soon" in raised["daily (day 42)"]
    assert raised["customerMerge"] == ["customer.merged"]
    assert raised["journey (worker)"] == ["journey.acted"]
    assert raised["message delivery"] == ["message.sent", "message.skipped"]

    everything = {kind for kinds in raised.values() for kind in kinds}
    assert everything == {t.value for t in EventType}
    async with database.sessions() as session:
        rows = (await session.execute(select(EventRow.type, EventRow.payload))).all()
    assert [(t, check(t, payload)) for t, payload in rows if check(t, payload)] == []
    assert {payload["schemaVersion"] for _, payload in rows} == {1}


def test_every_event_type_has_one_current_definition():
    assert set(CURRENT) == set(EventType)
    assert all(CURRENT[t].TYPE is t for t in EventType)


def test_check_names_what_is_wrong_with_a_payload():
    good = {
        "schemaVersion": 1,
        "customerId": 4,
        "birthday": "1990-02-28",
        "localDate": "2027-02-28",
        "age": 37,
    }
    assert check("customer.birthday", good) == []
    assert check("customer.birthday", good | {"age": "37"}) == ["age: '37' is not a <class 'int'>"]
    assert check("customer.birthday", {**good, "extra": 1}) == ["unknown key extra"]
    assert check("customer.birthday", {k: v for k, v in good.items() if k != "age"}) == [
        "missing key age"
    ]
    assert check("customer.birthday", good | {"schemaVersion": 9}) == [
        "no definition of customer.birthday version 9"
    ]
    assert check("order.recorded", {"schemaVersion": 1}) != []
    assert check(
        "points.expiring_soon",
        {"schemaVersion": 1, "customerId": 1, "points": 3, "expiresAt": "2027-01-01T00:00:00"},
    ) == ["expiresAt: '2027-01-01T00:00:00' is not a <class 'datetime.datetime'>"]
    assert date.fromisoformat(good["localDate"]).day == 28
