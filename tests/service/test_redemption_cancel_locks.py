"""The customer row lock of redemption cancel, exercised where locks exist
(PostgreSQL; CI sets TEST_DATABASE_URL).

An adjustment holds the customer's lock with 10 points taken and not yet committed
when a cancel of a 30-point redemption comes in. Under the lock the cancel waits and
then builds on the committed adjustment (100 − 30 − 10 + 30 = 90). Without it the
cancel works from the balance before the adjustment and writes it back over it (a
lost update the audit reports). The interleaving is forced as in test_tier_locks.
"""

from __future__ import annotations

import asyncio

import pytest

from domain.customers import CUSTOMERS
from domain.points import POINTS, EntryKind
from domain.redemptions import CancelRedemption
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop
from tests.service.test_tier_locks import blocked_or_done


async def test_a_cancel_waits_for_a_debit_in_flight(database, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row lock is exercised on PostgreSQL")
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, _ = await shop.order("100")
    redemption = await shop.redeem(customer, await shop.reward(30))

    adjusting = wiring.unit_of_work(database)
    async with adjusting:
        await adjusting.repo(CUSTOMERS).get(customer, for_update=True)
        account = await adjusting.repo(POINTS).load_account(customer)
        entry = account.debit(EntryKind.ADJUST, 10, now=shop.clock.now(), reason="in flight")
        await adjusting.repo(POINTS).save_account(account, [entry])

        task = asyncio.create_task(
            wiring.redemptions(database, shop.clock).cancel(CancelRedemption(redemption, "k"))
        )
        await blocked_or_done(database_url, task)
        await adjusting.commit()
    await task

    assert await shop.figures(customer) == (90, 0)
    await assert_ledger_clean(database)
