"""The referrer's row lock in the referral rules, exercised where locks exist
(PostgreSQL; CI sets TEST_DATABASE_URL): the referee's order pays, and a full refund
of it takes back, the referrer's bonus, while an adjustment of the referrer is in
flight. Under the lock the referral step waits for it; without it the step writes the
referrer's balance from before the adjustment (a lost update the audit reports)."""

from __future__ import annotations

import asyncio

import pytest

from domain.customers import CUSTOMERS, CustomerRef, ProfileInput
from domain.points import POINTS, EntryKind
from domain.referrals import RecordReferral
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop
from tests.service.test_tier_locks import blocked_or_done


async def debit_in_flight(shop: Shop, database_url: str, customer: int, step) -> None:  # noqa: ANN001
    """Runs `step` while an uncommitted 10-point debit holds `customer`'s lock."""
    adjusting = wiring.unit_of_work(shop.database)
    async with adjusting:
        await adjusting.repo(CUSTOMERS).get(customer, for_update=True)
        account = await adjusting.repo(POINTS).load_account(customer)
        entry = account.debit(EntryKind.ADJUST, 10, now=shop.clock.now(), reason="in flight")
        await adjusting.repo(POINTS).save_account(account, [entry])
        task = asyncio.create_task(step())
        await blocked_or_done(database_url, task)
        await adjusting.commit()
    await task


async def referral_ready(database, pending_days: int):  # noqa: ANN001, ANN201
    shop = Shop(database)
    await shop.program(pending_days=pending_days, expiry_days=None)
    referrer, _ = await shop.order("50", customer="referrer")
    if pending_days:
        shop.clock.at = shop.clock.at.replace(year=shop.clock.at.year + 1)
        from domain.jobs import run_daily

        await run_daily(wiring.uow_factory(database), shop.clock.now())
    code = await wiring.referrals(database, shop.clock).code_of(referrer)
    await wiring.referrals(database, shop.clock).record(
        RecordReferral(code, CustomerRef(external_id="friend", profile=ProfileInput()), "k")
    )
    return shop, referrer


async def test_the_bonus_waits_for_the_referrers_debit_in_flight(database, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row lock is exercised on PostgreSQL")
    shop, referrer = await referral_ready(database, pending_days=0)
    await debit_in_flight(shop, database_url, referrer, lambda: shop.order("40", "friend"))
    assert (await shop.figures(referrer))[0] == 50 - 10 + 100
    await assert_ledger_clean(database)


async def test_the_reversal_waits_for_the_referrers_debit_in_flight(database, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row lock is exercised on PostgreSQL")
    shop, referrer = await referral_ready(database, pending_days=3)
    _, qualifying = await shop.order("40", customer="friend")
    assert (await shop.account(referrer)).pending == 100
    await debit_in_flight(shop, database_url, referrer, lambda: shop.refund(qualifying, "40"))
    account = await shop.account(referrer)
    assert (account.balance, account.pending) == (50 - 10, 0)
    await assert_ledger_clean(database)
