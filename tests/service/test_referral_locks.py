"""The referrer's row lock in the referral rules, exercised where locks exist
(PostgreSQL; CI sets TEST_DATABASE_URL): the referee's order pays, and a full refund
of it takes back, the referrer's bonus, while an adjustment of the referrer is in
flight. Under the lock the referral step waits for it; without it the step writes the
referrer's balance from before the adjustment (a lost update the audit reports)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from domain.customers import CUSTOMERS, CustomerRef, ProfileInput, find_or_prepare
from domain.errors import present
from domain.points import POINTS, EntryKind
from domain.referrals import REFERRALS, RecordReferral, Referral, ReferralStatus
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


async def backend_pid(uow) -> int:  # noqa: ANN001
    return (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def blocked_by_or_done(database_url: str, holder: int, task: asyncio.Task) -> None:
    """Returns once `task` waits on a lock held by backend `holder`, or has finished.
    Asks the lock manager (pg_blocking_pids), not the waiter's own wait flag, which
    still reads 'Lock' for a moment after the lock is handed over."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        while not task.done():
            if await connection.fetchval(BLOCKED_BY, holder) > 0:
                return
            await asyncio.sleep(0.005)  # let the task run; the wait ends on a state, not a time
    finally:
        await connection.close()


HANG_GUARD_SECONDS = 300

BLOCKED_BY = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND $1 = ANY(pg_blocking_pids(pid))"
)


async def test_a_referral_recorded_while_the_order_waits_still_locks_the_referrer(
    database, database_url
):
    """The interleaving `qualify_on_order`'s own referrer lock exists for: the order
    reads "no referral" (so `lock_with_referrer` locks the referee only) and waits for
    the referee's lock, held by a transaction that records the referral; once it goes
    on, the order finds the referral PENDING and pays the referrer's bonus while a
    debit of the referrer is in flight. Without that lock the bonus is written from
    the referrer's balance before the debit."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row lock is exercised on PostgreSQL")
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    referrer, _ = await shop.order("50", customer="referrer")
    code = await wiring.referrals(database, shop.clock).code_of(referrer)
    async with wiring.unit_of_work(database) as uow:
        friend, _ = await find_or_prepare(
            uow,
            CustomerRef(external_id="friend", profile=ProfileInput()),
            shop.clock.now(),
            phone_region=None,
            path=("customer",),
            lock=False,
        )
        friend_id = present((await uow.repo(CUSTOMERS).add(friend)).id, "friend id")
        await uow.commit()

    # A guard, not a timing: a wrong interleaving fails here instead of hanging CI.
    async with asyncio.timeout(HANG_GUARD_SECONDS):
        holding = wiring.unit_of_work(database)
        adjusting = wiring.unit_of_work(database)
        async with holding, adjusting:
            # The referee's lock is held while the order reads "no referral" and waits for
            # it. FOR NO KEY UPDATE: it still lets the referral's foreign key be checked.
            await holding.session.execute(
                text("SELECT id FROM customers WHERE id = :id FOR NO KEY UPDATE"), {"id": friend_id}
            )
            order = asyncio.create_task(shop.order("40", "friend"))
            await blocked_by_or_done(database_url, await backend_pid(holding), order)
            assert not order.done()
            async with wiring.unit_of_work(database) as recording:
                await recording.repo(REFERRALS).add(
                    Referral(
                        id=None,
                        referrer_id=referrer,
                        referee_id=friend_id,
                        code=code,
                        status=ReferralStatus.PENDING,
                        recorded_at=shop.clock.now(),
                        idempotency_key="k",
                    )
                )
                await recording.commit()
            # A debit of the referrer in flight, then the referee is let go.
            await adjusting.repo(CUSTOMERS).get(referrer, for_update=True)
            account = await adjusting.repo(POINTS).load_account(referrer)
            entry = account.debit(EntryKind.ADJUST, 10, now=shop.clock.now(), reason="in flight")
            await adjusting.repo(POINTS).save_account(account, [entry])
            await adjusting.session.flush()
            await holding.session.rollback()
            # The order goes on, finds the referral PENDING and reaches the referrer: under
            # the lock it waits for the debit; without it, it has read the balance already.
            await blocked_by_or_done(database_url, await backend_pid(adjusting), order)
            await adjusting.commit()
        await order

    assert (await shop.figures(referrer))[0] == 50 - 10 + 100
    bonuses = [e for e in await shop.entries(referrer) if e[0] is EntryKind.BONUS]
    assert len(bonuses) == 1
    async with wiring.unit_of_work(database) as uow:
        referral = present(await uow.repo(REFERRALS).by_referee(friend_id), "referral")
    assert referral.status is ReferralStatus.QUALIFIED
    await assert_ledger_clean(database)
