"""The fast path of the lifecycle and RFM read models gives the exact answer.

The read models take each customer's stored order statistics (kept by orderRecord
and orderRefund) instead of aggregating their orders, except for customers who
bought after the as-of instant. Here a seeded random history goes through the real
services (backdated orders, partial and full refunds, customers who never buy), and
every read is compared with `stored_stats=False`, which aggregates every order: as
of just after the newest order (every customer from the stored statistics), and as
of instants that fall inside the history (some or all customers recounted).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from domain.classification import LifecycleStage
from domain.clock import FixedClock
from domain.customers import CustomerRef, CustomerService, ProfileInput, UpsertCustomer
from domain.orders import OrderService, RecordOrder, RefundOrder
from domain.program import ProgramSettings, RfmCut
from persistence import classification as reads
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import utc

T = utc(2026, 3, 31, 12)
SEED = 20260331
CUSTOMERS = 60
ORDERS = 300
MEAN, MEDIAN = ProgramSettings(), ProgramSettings(rfm_cut=RfmCut.MEDIAN)


async def random_history(database: Database) -> list[int]:
    """Records and refunds orders through OrderService; returns every customer id."""
    rng = random.Random(SEED)
    orders = OrderService(lambda: SqlUnitOfWork(database), FixedClock(T), phone_region=None)
    names = [f"c{i:02d}" for i in range(CUSTOMERS)]
    weights = [rng.choice([1, 1, 2, 3, 8]) for _ in names]
    recorded = []
    for number in range(ORDERS):
        name = rng.choices(names, weights)[0]
        # Whole hours and a few amounts, so ties at the cuts are common.
        placed = T - timedelta(hours=rng.randint(0, 24 * 400))
        amount = rng.choice(["9.90", "19.90", "50.00", "99.99", "120.00", "0.01"])
        external_id = f"o{number:04d}"
        ref = CustomerRef(external_id=name, profile=ProfileInput(name=name))
        await orders.record(RecordOrder(external_id, ref, Decimal(amount), "CNY", placed))
        recorded.append((external_id, Decimal(amount)))
    for external_id, amount in rng.sample(recorded, ORDERS // 5):
        share = rng.choice(["1", "1", "0.5", "0.99", "0.1"])
        refund = (amount * Decimal(share)).quantize(Decimal("0.01")) or amount
        await orders.refund(RefundOrder(external_id, refund, f"refund-{external_id}"))
    for name in ("never-1", "never-2"):
        customers = CustomerService(
            lambda: SqlUnitOfWork(database), FixedClock(T), phone_region=None
        )
        await customers.upsert(UpsertCustomer(name, ProfileInput(name=name)))
    async with database.sessions() as session:
        return list((await session.execute(select(CustomerRow.id))).scalars())


async def both_ways(database: Database, read, *args):  # noqa: ANN001, ANN202
    """(fast path, exact path) of one read, each in a session of its own."""
    results = []
    for stored in (True, False):
        async with database.sessions() as session:
            results.append(await read(session, *args, stored_stats=stored))
    return results


async def classification_rows(session, as_of, program, lookback, *, stored_stats):  # noqa: ANN001, ANN201
    query = reads.classification_query(
        as_of, program, lookback_days=lookback, stored_stats=stored_stats
    ).subquery()
    rows = await session.execute(select(query).order_by(query.c.customer_id))
    return [tuple(row) for row in rows]


AS_OFS = [T + timedelta(minutes=1), T - timedelta(days=45), T - timedelta(days=395)]


async def test_fast_path_reads_equal_the_exact_aggregate(database: Database) -> None:
    ids = await random_history(database)
    for as_of in AS_OFS:
        await assert_same_reads(database, ids, as_of)


async def assert_same_reads(database: Database, ids: list[int], as_of) -> None:  # noqa: ANN001
    keys = [(customer_id, as_of) for customer_id in ids]

    fast, exact = await both_ways(database, reads.lifecycle_summary, as_of, MEAN)
    assert fast == exact
    assert sum(fast.values()) == len(ids)
    assert fast[LifecycleStage.PROSPECT] >= 2

    fast, exact = await both_ways(database, reads.lifecycle_stages, keys, MEAN)
    assert fast == exact and len(fast) == len(ids)

    for program in (MEAN, MEDIAN):
        for lookback in (None, 90):
            fast, exact = await both_ways(database, reads.rfm_summary, as_of, lookback, program)
            assert fast == exact
            rfm_keys = [(customer_id, as_of, lookback) for customer_id in ids]
            fast, exact = await both_ways(database, reads.customer_rfms, rfm_keys, program)
            assert fast == exact
            fast, exact = await both_ways(database, classification_rows, as_of, program, lookback)
            assert fast == exact and len(fast) == len(ids)

    population = (await both_ways(database, reads.rfm_summary, as_of, None, MEAN))[0].population
    assert population > (0 if as_of < T - timedelta(days=300) else CUSTOMERS // 2)


async def test_stored_statistics_are_read_unless_the_customer_bought_after_as_of(
    database: Database,
) -> None:
    """Which source each customer's row comes from, made visible by a stored statistic
    that disagrees with the orders (it never does outside this test)."""
    orders = OrderService(lambda: SqlUnitOfWork(database), FixedClock(T), phone_region=None)
    ref = CustomerRef(external_id="ann", profile=ProfileInput(name="Ann"))
    for number, days_ago in enumerate((200, 10)):
        placed = T - timedelta(days=days_ago)
        await orders.record(RecordOrder(f"a{number}", ref, Decimal("10.00"), "CNY", placed))
    async with database.sessions() as session:
        await session.execute(update(CustomerRow).values(orders_count=7))
        await session.commit()
        (customer_id,) = (await session.execute(select(CustomerRow.id))).scalars()

    async def orders_count(as_of, *, stored_stats: bool) -> int:  # noqa: ANN001
        async with database.sessions() as session:
            query = reads.lifecycle_query(
                as_of, MEAN, customer_ids=[customer_id], stored_stats=stored_stats
            ).subquery()
            return (await session.execute(select(query.c.orders_count))).scalar_one()

    # As of now: the stored row, not the orders.
    assert await orders_count(T, stored_stats=True) == 7
    assert await orders_count(T, stored_stats=False) == 2
    # Before the last order: the orders up to then, whatever is stored.
    assert await orders_count(T - timedelta(days=30), stored_stats=True) == 1
