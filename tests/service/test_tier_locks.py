"""The customer row lock of `upgrade_after_order`, exercised where locks exist.

SQLite queues writers, so only PostgreSQL (CI sets TEST_DATABASE_URL) shows what the
lock is for: two orders of one customer in flight together, each 600 points, must
together reach Silver (1000). Without the lock each transaction counts only its own
order and both stop at Bronze. The interleaving is forced, not left to chance: the
second transaction is started only once the first holds the lock, and the first
commits only once the second is seen waiting on a lock (or has finished, which is
what a missing lock does).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest

from domain.clock import FixedClock
from domain.program import ProgramSettings
from domain.tiers import TIERS, upgrade_after_order
from tests.conftest import utc
from tests.order_rows import add_customer, order_row
from tests.service import wiring

NOW = utc(2025, 6, 1, 12)
PROGRAM = ProgramSettings()

# A row lock wait is on a transaction id, which pg_locks files under no database:
# look for this database's sessions waiting on a lock instead.
WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def blocked_or_done(database_url: str, task: asyncio.Task) -> None:
    """Returns once `task` waits on a lock in this database, or has finished. Looks
    through a connection of its own, outside the application's pool."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        while not task.done():
            if await connection.fetchval(WAITING) > 0:
                return
            await asyncio.sleep(0.005)  # let the task run; the wait ends on a state, not a time
    finally:
        await connection.close()


async def tier_name(database, customer_id: int) -> str | None:  # noqa: ANN001
    async with wiring.unit_of_work(database) as uow:
        standing = await uow.repo(TIERS).standing(customer_id)
        tier = await uow.repo(TIERS).get(standing.tier_id) if standing.tier_id else None
        return tier.name if tier else None


async def test_concurrent_orders_are_counted_together_under_the_lock(database, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row lock is exercised on PostgreSQL")
    await wiring.tiers(database, FixedClock(NOW)).ensure_defaults()
    async with wiring.unit_of_work(database) as uow:
        customer = await add_customer(uow.session)
        await uow.commit()

    first = wiring.unit_of_work(database)
    second = wiring.unit_of_work(database)
    async with first, second:
        first.session.add(order_row(customer, NOW, points=600))
        first_change = await upgrade_after_order(first, customer, PROGRAM, NOW)
        assert first_change.to_tier.name == "Bronze"

        async def second_order():  # noqa: ANN202
            second.session.add(order_row(customer, NOW + timedelta(minutes=1), points=600))
            return await upgrade_after_order(second, customer, PROGRAM, NOW + timedelta(minutes=1))

        task = asyncio.create_task(second_order())
        await blocked_or_done(database_url, task)
        await first.commit()
        second_change = await task
        await second.commit()

    assert (second_change.from_tier.name, second_change.to_tier.name) == ("Bronze", "Silver")
    assert await tier_name(database, customer) == "Silver"
