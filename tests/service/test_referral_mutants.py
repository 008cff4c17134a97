"""Referral reversal through the services: only a full refund of the qualifying order
reverses, and the reversal records when it happened."""

from __future__ import annotations

from datetime import timedelta

from domain.customers import CustomerRef, ProfileInput
from domain.referrals import REFERRALS, RecordReferral, ReferralStatus
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop


async def referred(database):  # noqa: ANN001, ANN201
    """A referrer, a referee whose first order qualified, bonuses still pending."""
    shop = Shop(database)
    await shop.program(pending_days=14, expiry_days=None)
    referrer, _ = await shop.order("1", customer="referrer")
    service = wiring.referrals(database, shop.clock)
    code = await service.code_of(referrer)
    recorded = await service.record(
        RecordReferral(code, CustomerRef(external_id="friend", profile=ProfileInput()), "k")
    )
    _, qualifying = await shop.order("40", customer="friend")
    return shop, recorded.referral.id, qualifying


async def referral(database, referral_id: int):  # noqa: ANN001, ANN201
    async with wiring.unit_of_work(database) as uow:
        return await uow.repo(REFERRALS).get(referral_id)


async def test_full_refund_of_the_qualifying_order_reverses_and_records_when(database):
    shop, referral_id, qualifying = await referred(database)
    shop.clock.at += timedelta(days=2)
    await shop.refund(qualifying, "40")
    found = await referral(database, referral_id)
    assert found.status is ReferralStatus.REVERSED
    assert found.reversed_at == shop.clock.now()
    await assert_ledger_clean(database)


async def test_full_refund_of_another_order_leaves_the_referral_alone(database):
    shop, referral_id, _ = await referred(database)
    _, second = await shop.order("25", customer="friend")
    await shop.refund(second, "25")
    found = await referral(database, referral_id)
    assert found.status is ReferralStatus.QUALIFIED
    assert found.reversed_at is None
    await assert_ledger_clean(database)


async def test_partial_refund_of_the_qualifying_order_leaves_the_referral_alone(database):
    shop, referral_id, qualifying = await referred(database)
    await shop.refund(qualifying, "39.99")
    assert (await referral(database, referral_id)).status is ReferralStatus.QUALIFIED


async def test_bonus_lots_follow_the_programs_expiry(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=10)
    referrer, _ = await shop.order("1", customer="referrer")
    service = wiring.referrals(database, shop.clock)
    code = await service.code_of(referrer)
    recorded = await service.record(
        RecordReferral(code, CustomerRef(external_id="friend", profile=ProfileInput()), "k")
    )
    await shop.order("40", customer="friend")
    account = await shop.account(recorded.referral.referee_id)
    bonus = [lot for lot in account.lots if lot.referral_id == recorded.referral.id]
    assert [(lot.points, lot.expires_at) for lot in bonus] == [
        (100, shop.clock.now() + timedelta(days=10))
    ]


async def events_of(database, customer_id: int) -> list[tuple[str, dict]]:  # noqa: ANN001
    from sqlalchemy import select

    from persistence.events import EventRow

    async with database.sessions() as session:
        rows = await session.execute(
            select(EventRow).where(EventRow.customer_id == customer_id).order_by(EventRow.id)
        )
        return [(r.type, r.payload) for r in rows.scalars()]


async def test_qualifying_writes_the_referral_entries_and_events(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None, referrer_bonus=0, referee_bonus=70)
    referrer, _ = await shop.order("1", customer="referrer")
    service = wiring.referrals(database, shop.clock)
    code = await service.code_of(referrer)
    recorded = await service.record(
        RecordReferral(code, CustomerRef(external_id="friend", profile=ProfileInput()), "k")
    )
    referee = recorded.referral.referee_id
    shop.clock.at += timedelta(hours=1)
    _, order = await shop.order("40", customer="friend")

    found = await referral(database, recorded.referral.id)
    assert found.status is ReferralStatus.QUALIFIED
    assert (found.qualified_at, found.referrer_bonus, found.referee_bonus) == (
        shop.clock.now(),
        0,
        70,
    )
    assert found.qualifying_order_id is not None
    assert await shop.figures(referrer) == (1, 0)  # a zero bonus pays nothing
    assert await shop.figures(referee) == (40 + 70, 0)
    assert (await shop.entries(referee))[-1] == ("BONUS", 70, 110)
    referee_events = await events_of(database, referee)
    [bonus] = [p for kind, p in referee_events if kind == "points.earned" and p["kind"] == "BONUS"]
    assert bonus == bonus | {
        "points": 70,
        "reason": "referral bonus (referee)",
        "balance": 110,
        "referralId": recorded.referral.id,
        "orderId": None,
    }
    assert referee_events[-1] == (
        "referral.qualified",
        {
            "schemaVersion": 1,
            "customerId": referee,
            "referralId": recorded.referral.id,
            "referrerId": referrer,
            "refereeId": referee,
            "orderId": found.qualifying_order_id,
            "referrerBonus": 0,
            "refereeBonus": 70,
        },
    )
    assert not [
        payload
        for kind, payload in await events_of(database, referrer)
        if kind == "points.earned" and "referral" in str(payload.get("reason"))
    ]


async def test_both_sides_get_their_bonus_with_its_reason(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None, referrer_bonus=30, referee_bonus=1)
    referrer, _ = await shop.order("1", customer="referrer")
    service = wiring.referrals(database, shop.clock)
    code = await service.code_of(referrer)
    recorded = await service.record(
        RecordReferral(code, CustomerRef(external_id="friend", profile=ProfileInput()), "k")
    )
    await shop.order("40", customer="friend")
    assert await shop.figures(referrer) == (31, 0)
    assert await shop.figures(recorded.referral.referee_id) == (41, 0)  # a bonus of 1 counts
    found = await referral(database, recorded.referral.id)
    assert (found.referrer_bonus, found.referee_bonus) == (30, 1)
    from sqlalchemy import select

    from persistence.points import LedgerEntryRow

    async with database.sessions() as session:
        reasons = (
            (
                await session.execute(
                    select(LedgerEntryRow.reason).where(
                        LedgerEntryRow.customer_id == referrer, LedgerEntryRow.kind == "BONUS"
                    )
                )
            )
            .scalars()
            .all()
        )
    assert reasons == ["referral bonus (referrer)"]
