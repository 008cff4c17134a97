"""Merges driven through the services on both databases: what happens to B's points
after the merge, when B's history goes on on A (a cancelled redemption, a refund, a
pending lot that becomes available)."""

from __future__ import annotations

from datetime import timedelta

from domain.jobs import run_daily
from domain.merging import MergeCustomers, MergeService
from domain.points import EntryKind
from domain.redemptions import CancelRedemption
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop


async def merged(shop: Shop, a: int, b: int) -> None:
    await MergeService(wiring.uow_factory(shop.database), shop.clock).merge(
        MergeCustomers(a, b, shop.key("merge"))
    )


async def test_a_redemption_of_b_cancelled_after_the_merge_refills_the_lot_on_a(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=365)
    a, _ = await shop.order("10", customer="a")
    b, _ = await shop.order("50", customer="b")
    redemption = await shop.redeem(b, await shop.reward(40))
    await merged(shop, a, b)
    assert await shop.figures(a) == (10 + 10, 0)

    await shop.cancel(redemption)

    assert await shop.figures(a) == (10 + 50, 0)
    assert sorted(await shop.lot_states(a)) == [("AVAILABLE", 10), ("AVAILABLE", 50)]
    assert (await shop.entries(a))[-1] == (EntryKind.REDEEM_CANCEL, 40, 60)
    await assert_ledger_clean(database)


async def test_a_refund_of_b_s_order_after_the_merge_takes_from_its_own_lot_on_a(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=365)
    a, _ = await shop.order("10", customer="a")
    b, order = await shop.order("50", customer="b")
    await merged(shop, a, b)

    assert await shop.refund(order, "20") == 20

    assert sorted(await shop.lot_states(a)) == [("AVAILABLE", 10), ("AVAILABLE", 30)]
    assert await shop.figures(a) == (40, 0)
    await assert_ledger_clean(database)


async def test_a_pending_lot_of_b_becomes_available_on_a(database):
    shop = Shop(database)
    await shop.program(pending_days=14, expiry_days=365)
    a, _ = await shop.order("10", customer="a")
    b, _ = await shop.order("50", customer="b")
    await merged(shop, a, b)
    assert (await shop.account(a)).pending == 60
    assert await shop.entries(b) == []  # pending points never reached B's ledger

    await run_daily(wiring.uow_factory(database), shop.clock.now() + timedelta(days=14))

    assert await shop.figures(a) == (60, 0)
    assert [kind for kind, _, _ in await shop.entries(a)] == [EntryKind.EARN, EntryKind.EARN]
    await assert_ledger_clean(database)


async def test_a_cancel_retried_after_the_merge_replays(database):
    """The shopper's app cancelled on B, lost the answer, and retries after B was
    merged into A: the same key and redemption replay the first cancel (the points
    come back once), where a second cancel would be refused as ALREADY_CANCELLED."""
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=365)
    a, _ = await shop.order("10", customer="a")
    b, _ = await shop.order("50", customer="b")
    redemption = await shop.redeem(b, await shop.reward(40))
    cancels = wiring.redemptions(database, shop.clock)
    first = await cancels.cancel(CancelRedemption(redemption, "cancel-1"))
    await merged(shop, a, b)

    again = await cancels.cancel(CancelRedemption(redemption, "cancel-1"))

    assert (first.replayed, again.replayed) == (False, True)
    assert again.redemption.id == redemption
    assert await shop.figures(a) == (10 + 50, 0)
    await assert_ledger_clean(database)


async def test_a_cancel_key_of_a_survives_the_copy_of_b_s(database):
    """A and B each cancelled with the same key: A's remembered cancel stays A's."""
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=365)
    a, _ = await shop.order("50", customer="a")
    b, _ = await shop.order("50", customer="b")
    reward = await shop.reward(40)
    of_a, of_b = await shop.redeem(a, reward), await shop.redeem(b, reward)
    cancels = wiring.redemptions(database, shop.clock)
    await cancels.cancel(CancelRedemption(of_a, "same"))
    await cancels.cancel(CancelRedemption(of_b, "same"))
    await merged(shop, a, b)

    again = await cancels.cancel(CancelRedemption(of_a, "same"))
    assert (again.replayed, again.redemption.id) == (True, of_a)
