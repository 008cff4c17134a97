"""Redemption cancel through the service, every branch: unknown id, replay with the
same key, a second cancel or a cancel after use refused, and what a cancel writes
(the status and time, the entries' links, the stock given back, the event)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.errors import DomainError, ErrorCode
from domain.redemptions import REDEMPTIONS, CancelRedemption, RedemptionStatus
from domain.rewards import REWARDS, RewardFields, RewardKind
from persistence.events import EventRow
from persistence.points import LedgerEntryRow
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop


async def issued(database):  # noqa: ANN001, ANN201
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, _ = await shop.order("100")
    reward = await wiring.rewards(database, shop.clock).create(
        RewardFields(name="Mug", points_cost=30, kind=RewardKind.CUSTOM, stock=5)
    )
    redemption = await shop.redeem(customer, reward.id)
    return shop, customer, reward.id, redemption


async def stock(database, reward_id: int) -> int:  # noqa: ANN001
    async with wiring.unit_of_work(database) as uow:
        return (await uow.repo(REWARDS).get(reward_id)).stock


async def test_cancel_writes_status_entries_stock_and_event(database):
    shop, customer, reward, redemption = await issued(database)
    assert await stock(database, reward) == 4
    shop.clock.at += timedelta(hours=1)

    result = await wiring.redemptions(database, shop.clock).cancel(
        CancelRedemption(redemption, "cancel-1")
    )

    assert result.replayed is False
    assert result.redemption.id == redemption
    assert result.redemption.status is RedemptionStatus.CANCELLED
    assert result.redemption.cancelled_at == shop.clock.now()
    assert await shop.figures(customer) == (100, 0)
    assert await stock(database, reward) == 5
    async with database.sessions() as session:
        last = (
            (
                await session.execute(
                    select(LedgerEntryRow)
                    .where(LedgerEntryRow.customer_id == customer)
                    .order_by(LedgerEntryRow.id.desc())
                )
            )
            .scalars()
            .first()
        )
        assert (last.kind, last.points, last.balance_after) == ("REDEEM_CANCEL", 30, 100)
        assert (last.redemption_id, last.idempotency_key) == (redemption, "cancel-1")
        assert last.reason == "redemption cancelled"
        event = (
            (
                await session.execute(
                    select(EventRow)
                    .where(EventRow.customer_id == customer)
                    .order_by(EventRow.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert event.type == "redemption.cancelled"
    assert event.payload == {
        "schemaVersion": 1,
        "customerId": customer,
        "redemptionId": redemption,
        "rewardId": reward,
        "points": 30,
        "balance": 100,
    }


async def test_cancel_replayed_with_its_key_changes_nothing(database):
    shop, customer, reward, redemption = await issued(database)
    service = wiring.redemptions(database, shop.clock)
    await service.cancel(CancelRedemption(redemption, "k"))
    again = await service.cancel(CancelRedemption(redemption, "k"))
    assert again.replayed is True
    assert again.redemption.status is RedemptionStatus.CANCELLED
    assert await shop.figures(customer) == (100, 0)
    assert await stock(database, reward) == 5


async def test_a_second_cancel_with_another_key_is_refused(database):
    shop, customer, _, redemption = await issued(database)
    service = wiring.redemptions(database, shop.clock)
    await service.cancel(CancelRedemption(redemption, "k1"))
    with pytest.raises(DomainError) as refused:
        await service.cancel(CancelRedemption(redemption, "k2"))
    assert refused.value.code is ErrorCode.ALREADY_CANCELLED
    assert refused.value.message == "This redemption was cancelled."
    assert refused.value.field == ("id",)
    assert await shop.figures(customer) == (100, 0)


async def test_a_cancel_after_use_is_refused(database):
    shop, customer, _, redemption = await issued(database)
    service = wiring.redemptions(database, shop.clock)
    async with wiring.unit_of_work(database) as uow:
        code = (await uow.repo(REDEMPTIONS).get(redemption)).code
    await service.use(code)
    with pytest.raises(DomainError) as refused:
        await service.cancel(CancelRedemption(redemption, "k"))
    assert refused.value.code is ErrorCode.ALREADY_USED
    assert refused.value.message == "This redemption was already used."
    assert refused.value.field == ("id",)
    assert await shop.figures(customer) == (70, 0)


async def test_cancel_of_an_unknown_redemption_is_not_found(database):
    shop = Shop(database)
    with pytest.raises(DomainError) as refused:
        await wiring.redemptions(database, shop.clock).cancel(CancelRedemption(999, "k"))
    assert refused.value.code is ErrorCode.NOT_FOUND
    assert refused.value.message == "No redemption has this id."
    assert refused.value.field == ("id",)


async def test_cancel_needs_an_idempotency_key(database):
    shop, _, _, redemption = await issued(database)
    with pytest.raises(DomainError) as refused:
        await wiring.redemptions(database, shop.clock).cancel(CancelRedemption(redemption, ""))
    assert refused.value.code is ErrorCode.REQUIRED
    assert refused.value.field == ("idempotency_key",)


async def test_a_cancel_key_reused_for_another_redemption_conflicts(database):
    shop, customer, reward, first = await issued(database)
    second = await shop.redeem(customer, reward)
    service = wiring.redemptions(database, shop.clock)
    await service.cancel(CancelRedemption(first, "same-key"))
    with pytest.raises(DomainError) as refused:
        await service.cancel(CancelRedemption(second, "same-key"))
    assert refused.value.code is ErrorCode.IDEMPOTENCY_CONFLICT
    async with wiring.unit_of_work(database) as uow:
        assert (await uow.repo(REDEMPTIONS).get(second)).status is RedemptionStatus.ISSUED


async def test_two_customers_may_use_the_same_cancel_key(database):
    """Keys are chosen by each shopper's app, so they are scoped by customer."""
    shop, ann, reward, anns = await issued(database)
    bob, _ = await shop.order("100", customer="c-2")
    bobs = await shop.redeem(bob, reward)
    service = wiring.redemptions(database, shop.clock)
    await service.cancel(CancelRedemption(anns, "cancel"))
    result = await service.cancel(CancelRedemption(bobs, "cancel"))
    assert (result.replayed, result.redemption.id) == (False, bobs)
    assert await shop.figures(bob) == (100, 0)
