"""Referral reversal through the services: only a full refund of the qualifying order
reverses, and the reversal records when it happened."""

from __future__ import annotations

from datetime import timedelta

from domain.customers import CustomerRef, ProfileInput
from domain.referrals import RecordReferral, ReferralStatus
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
        return await uow.referrals.get(referral_id)


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
