"""Merging while orders arrive for both customers, where locks exist (PostgreSQL; CI
sets TEST_DATABASE_URL): nothing is lost, every order ends on the survivor, and the
survivor's balance is the sum of every order's points."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy import func, select

from domain.coupons import (
    CouponKind,
    CouponService,
    CouponTemplateService,
    IssueCoupon,
    TemplateFields,
)
from domain.customers import CUSTOMERS, CustomerRef, ProfileInput
from domain.errors import present
from domain.merging import MergeCustomers, MergeService
from domain.orders import RecordOrder
from domain.tags import ChangeCustomerTags, TagService
from persistence.orders import OrderRow
from persistence.tags import CustomerTagRow
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring
from tests.service.test_ledger_mutants import Shop

T = TypeVar("T")

WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def waiting_for_locks(database_url: str, count: int, task: asyncio.Task) -> None:
    """Returns once `count` sessions wait on a lock in this database, or `task` ended."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", "", 1))
    try:
        while not task.done():
            if await connection.fetchval(WAITING) >= count:
                return
            await asyncio.sleep(0.005)  # the wait ends on a state, not a time
    finally:
        await connection.close()


def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serializes writers: the row locks are exercised on PostgreSQL")


async def order(shop: Shop, customer: str, external_id: str, amount: str) -> None:
    await wiring.orders(shop.database, shop.clock).record(
        RecordOrder(
            external_id=external_id,
            customer=CustomerRef(external_id=customer, profile=ProfileInput(name="Ann")),
            amount=Decimal(amount),
            currency="CNY",
            placed_at=shop.clock.now(),
        )
    )


async def orders_by_customer(database) -> dict[int, int]:  # noqa: ANN001
    async with database.sessions() as session:
        rows = await session.execute(
            select(OrderRow.customer_id, func.count()).group_by(OrderRow.customer_id)
        )
        return {cid: n for cid, n in rows.all()}


async def two_customers(database) -> tuple[Shop, int, int]:  # noqa: ANN001
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    a, _ = await shop.order("10", customer="a")
    b, _ = await shop.order("20", customer="b")
    return shop, a, b


async def test_orders_on_both_customers_during_a_merge_all_end_on_the_survivor(
    database, database_url
):
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    merges = MergeService(wiring.uow_factory(database), shop.clock)
    amounts = [str(5 + i) for i in range(12)]
    calls = [
        order(shop, "a" if i % 2 else "b", f"c-{i}", amount) for i, amount in enumerate(amounts)
    ]
    calls.insert(6, merges.merge(MergeCustomers(a, b, "merge")))
    await asyncio.gather(*calls)

    assert await orders_by_customer(database) == {a: 2 + len(amounts)}
    expected = 10 + 20 + sum(int(x) for x in amounts)
    assert await shop.figures(a) == (expected, 0)
    assert await shop.figures(b) == (0, 0)
    async with wiring.unit_of_work(database) as uow:
        survivor = present(await uow.repo(CUSTOMERS).get(a), "survivor")
    assert present(survivor.stats, "stats").orders_count == 2 + len(amounts)
    await assert_ledger_clean(database)


async def behind_the_merge(
    database_url: str, shop: Shop, a: int, b: int, write: Callable[[], Awaitable[T]]
) -> T:
    """Runs `write` so that it queues for B's lock behind the merge of B into A: a
    transaction holds B while the merge, then the write, line up for it (waits are
    seen in pg_stat_activity, not guessed by time), then lets go. The interleaving
    the re-check after locking (`check_not_merged`) exists for: the write read B
    unmerged, and finds it merged once it holds the lock."""
    merges = MergeService(wiring.uow_factory(shop.database), shop.clock)
    holder = wiring.unit_of_work(shop.database)
    async with holder:
        await holder.repo(CUSTOMERS).get(b, for_update=True)
        merging = asyncio.create_task(merges.merge(MergeCustomers(a, b, "merge")))
        await waiting_for_locks(database_url, 1, merging)
        writing = asyncio.create_task(write())
        await waiting_for_locks(database_url, 2, writing)
        await holder.commit()
    await merging
    return await writing


async def test_an_order_that_found_b_before_the_merge_is_recorded_on_a(database, database_url):
    """The order resolves "b" to B (not merged yet) and queues for B's lock behind the
    merge; when the merge commits, the order finds B merged, runs again and records
    on A."""
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    await behind_the_merge(database_url, shop, a, b, lambda: order(shop, "b", "late", "7"))

    assert await orders_by_customer(database) == {a: 3}
    assert await shop.figures(a) == (10 + 20 + 7, 0)
    await assert_ledger_clean(database)


async def test_a_refund_waiting_for_the_merge_refunds_on_the_survivor(database, database_url):
    """The refund reads the order (still B's) and queues for B's lock behind the merge;
    once the merge has moved the order and its lot to A, the refund runs again and
    takes the points back from A."""
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    _, external_id = await shop.order("30", customer="b")
    refunded = await behind_the_merge(
        database_url, shop, a, b, lambda: shop.refund(external_id, "30")
    )

    assert refunded == 30
    assert await shop.figures(a) == (10 + 20, 0)
    assert await shop.figures(b) == (0, 0)
    await assert_ledger_clean(database)


async def test_a_cancel_waiting_for_the_merge_gives_the_points_back_on_the_survivor(
    database, database_url
):
    """The cancel reads the redemption (still B's) and queues for B's lock behind the
    merge, which moves the redemption and the lots it drew from to A; the cancel runs
    again and gives the points back to those lots on A's balance."""
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    redemption = await shop.redeem(b, await shop.reward(15))
    await behind_the_merge(database_url, shop, a, b, lambda: shop.cancel(redemption))

    assert await shop.figures(a) == (10 + 20, 0)
    assert await shop.figures(b) == (0, 0)
    await assert_ledger_clean(database)


async def test_tags_waiting_for_the_merge_land_on_the_survivor(database, database_url):
    """A tag for B queues for B's lock behind the merge; once the merge has moved B's
    tags, it runs again and tags A, instead of tagging the record the merge left."""
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    tags = TagService(wiring.uow_factory(database), shop.clock)
    command = ChangeCustomerTags(customer_ids=[b], tag_names=["late"])
    tagged = await behind_the_merge(
        database_url, shop, a, b, lambda: tags.add_to_customers(command)
    )

    assert tagged.customer_ids == [a]
    async with database.sessions() as session:
        owners = await session.execute(select(CustomerTagRow.customer_id))
    assert owners.scalars().all() == [a]


async def test_a_coupon_issued_while_the_merge_runs_is_the_survivors(database, database_url):
    """The same for `couponIssue` naming B: the coupon ends on A, never on B's record."""
    postgresql_only(database_url)
    shop, a, b = await two_customers(database)
    template = await CouponTemplateService(wiring.uow_factory(database), shop.clock).create(
        TemplateFields(name="¥10 off", kind=CouponKind.AMOUNT_OFF, amount_off="10", valid_days=7)
    )
    coupons = CouponService(wiring.uow_factory(database), shop.clock)
    command = IssueCoupon(present(template.id, "id"), b, "late")
    issued = await behind_the_merge(database_url, shop, a, b, lambda: coupons.issue(command))

    assert issued.coupon.customer_id == a
