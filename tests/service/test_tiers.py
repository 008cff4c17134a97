"""Tier moves against a real database: upgrades inside the order's transaction,
downgrades by the daily job, with their history and events."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.clock import FixedClock
from domain.program import ProgramSettings, TierBasis
from domain.tiers import TierService, earn_multiplier, run_downgrades, upgrade_after_order
from persistence.customers import CustomerRow
from persistence.events import EventRow
from persistence.tiers import TierChangeRow, TierRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import utc
from tests.order_rows import add_customer, order_row

NOW = utc(2025, 6, 1, 12)
PROGRAM = ProgramSettings()  # POINTS_EARNED over 365 days, 365 days' retention


async def default_tiers(database) -> dict[str, int]:
    tiers = await TierService(lambda: SqlUnitOfWork(database), FixedClock(NOW)).ensure_defaults()
    return {t.name: t.id for t in tiers}


async def new_customer(database) -> int:
    async with SqlUnitOfWork(database) as uow:
        customer_id = await add_customer(uow.session)
        await uow.commit()
    return customer_id


async def order(database, customer_id, at, program=PROGRAM, **fields):
    """Writes an order and runs the upgrade in the same transaction, as orderRecord will."""
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(customer_id, at, **fields))
        change = await upgrade_after_order(uow, customer_id, program, at)
        await uow.commit()
    return change


async def tier_of(database, customer_id) -> tuple[str | None, object]:
    async with database.sessions() as session:
        row = await session.get(CustomerRow, customer_id)
        tier = await session.get(TierRow, row.tier_id) if row.tier_id else None
        return (tier.name if tier else None), row.tier_since


async def history(database, customer_id) -> list[tuple[int | None, int | None, str]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(TierChangeRow)
            .where(TierChangeRow.customer_id == customer_id)
            .order_by(TierChangeRow.id)
        )
        return [(r.from_tier_id, r.to_tier_id, r.reason) for r in rows.scalars()]


async def events(database, customer_id) -> list[tuple[str, dict]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(EventRow).where(EventRow.customer_id == customer_id).order_by(EventRow.id)
        )
        return [(r.type, r.payload) for r in rows.scalars()]


def daily(database, now, program=PROGRAM, **kwargs):
    return run_downgrades(lambda: SqlUnitOfWork(database), program, now, **kwargs)


async def test_first_order_reaches_bronze_and_the_crossing_order_reaches_silver(database):
    tiers = await default_tiers(database)
    customer = await new_customer(database)

    first = await order(database, customer, NOW - timedelta(days=10), points=600)
    assert first.to_tier.name == "Bronze"
    assert await order(database, customer, NOW - timedelta(days=5), points=300) is None
    crossing = await order(database, customer, NOW, points=100)

    assert (crossing.from_tier.name, crossing.to_tier.name) == ("Bronze", "Silver")
    assert crossing.qualifying_value == Decimal(1000)
    assert await tier_of(database, customer) == ("Silver", NOW)
    assert await history(database, customer) == [
        (None, tiers["Bronze"], "order"),
        (tiers["Bronze"], tiers["Silver"], "order"),
    ]
    found = await events(database, customer)
    assert [t for t, _ in found] == ["tier.upgraded", "tier.upgraded"]
    assert found[1][1]["fromTier"] == "Bronze" and found[1][1]["toTier"] == "Silver"
    assert found[1][1]["qualifyingValue"] == "1000"


async def test_one_big_order_skips_levels(database):
    tiers = await default_tiers(database)
    customer = await new_customer(database)

    change = await order(database, customer, NOW, points=3500)

    assert change.to_tier.name == "Gold"
    assert await history(database, customer) == [(None, tiers["Gold"], "order")]


async def test_refused_order_transaction_leaves_no_tier_behind(database):
    await default_tiers(database)
    customer = await new_customer(database)
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(customer, NOW, points=6000))
        assert (await upgrade_after_order(uow, customer, PROGRAM, NOW)).to_tier.name == "Diamond"
        # no commit: the order was refused later in its transaction
    assert await tier_of(database, customer) == (None, None)
    assert await history(database, customer) == []
    assert await events(database, customer) == []


async def test_only_orders_inside_the_window_count(database):
    await default_tiers(database)
    customer = await new_customer(database)
    window = timedelta(days=PROGRAM.tier_window_days)
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(customer, NOW - window, points=900))  # just outside
        uow.session.add(order_row(customer, NOW + timedelta(days=1), points=900))  # future
        await uow.commit()

    change = await order(database, customer, NOW, points=500)

    assert change.to_tier.name == "Bronze" and change.qualifying_value == Decimal(500)


async def test_spend_basis_counts_net_amounts_and_refunded_orders_count_nothing(database):
    await default_tiers(database)
    customer = await new_customer(database)
    spend = ProgramSettings(tier_basis=TierBasis.SPEND)
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(customer, NOW, amount="800.10", refunded="800.10"))
        uow.session.add(order_row(customer, NOW, amount="700.15", refunded="200.10"))
        await uow.commit()

    change = await order(database, customer, NOW, program=spend, amount="499.95")

    assert change.qualifying_value == Decimal("1000.00")
    assert change.to_tier.name == "Silver"


async def test_points_reversed_by_refunds_do_not_count(database):
    await default_tiers(database)
    customer = await new_customer(database)

    change = await order(database, customer, NOW, points=1200, points_reversed=300)

    assert change.to_tier.name == "Bronze" and change.qualifying_value == Decimal(900)


async def test_earn_multiplier_follows_the_tier(database):
    await default_tiers(database)
    customer = await new_customer(database)
    async with SqlUnitOfWork(database) as uow:
        assert await earn_multiplier(uow, customer) == Decimal(1)
    await order(database, customer, NOW, points=1500)
    async with SqlUnitOfWork(database) as uow:
        assert await earn_multiplier(uow, customer) == Decimal("1.2")


async def test_no_downgrade_before_the_retention_is_over(database):
    await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=3500)  # Gold since NOW

    # A year later the order is outside the window, but Gold was held a second short.
    almost = NOW + timedelta(days=365) - timedelta(seconds=1)
    assert await daily(database, almost) == 0
    assert await tier_of(database, customer) == ("Gold", NOW)


async def test_downgrade_after_retention_to_the_qualifying_tier_and_only_once(database):
    tiers = await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=3500)  # Gold since NOW
    later = NOW + timedelta(days=365)
    async with SqlUnitOfWork(database) as uow:  # recent orders worth Silver
        uow.session.add(order_row(customer, later - timedelta(days=20), points=1200))
        await uow.commit()

    assert await daily(database, later) == 1
    assert await daily(database, later) == 0  # the second run at the same instant: nothing

    assert await tier_of(database, customer) == ("Silver", later)
    assert (await history(database, customer))[-1] == (
        tiers["Gold"],
        tiers["Silver"],
        "daily review: qualifying value below threshold after retention",
    )
    kinds = [t for t, _ in await events(database, customer)]
    assert kinds == ["tier.upgraded", "tier.downgraded"]


async def test_downgraded_customer_keeps_the_new_tier_for_another_retention(database):
    await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=3500)
    later = NOW + timedelta(days=365)
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(customer, later - timedelta(days=1), points=1200))
        await uow.commit()
    assert await daily(database, later) == 1  # Gold → Silver

    # A day short of a year on, the Silver-worthy order has left the window, but
    # Silver itself has been held 364 days only.
    assert await daily(database, later + timedelta(days=364)) == 0
    assert await daily(database, later + timedelta(days=365)) == 1
    assert (await tier_of(database, customer))[0] == "Bronze"


async def test_the_job_walks_every_batch_and_leaves_qualified_customers_alone(database):
    await default_tiers(database)
    lapsed = [await new_customer(database) for _ in range(5)]
    loyal = await new_customer(database)
    for customer in [*lapsed, loyal]:
        await order(database, customer, NOW, points=1100)  # Silver
    later = NOW + timedelta(days=400)
    async with SqlUnitOfWork(database) as uow:
        uow.session.add(order_row(loyal, later - timedelta(days=1), points=1000))
        await uow.commit()

    assert await daily(database, later, batch_size=2) == 5

    assert [(await tier_of(database, c))[0] for c in lapsed] == ["Bronze"] * 5
    assert await tier_of(database, loyal) == ("Silver", NOW)


async def test_retention_of_zero_days_still_runs_idempotently(database):
    await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=3500)
    eager = ProgramSettings(tier_retention_days=0)
    later = NOW + timedelta(days=366)

    assert await daily(database, later, program=eager) == 1
    assert await daily(database, later, program=eager) == 0


async def test_ensure_defaults_creates_the_default_ladder_once(database):
    service = TierService(lambda: SqlUnitOfWork(database), FixedClock(NOW))
    first = await service.ensure_defaults()
    again = await service.ensure_defaults()
    assert [(t.name, t.threshold, t.earn_multiplier) for t in first] == [
        ("Bronze", Decimal(0), Decimal("1.0")),
        ("Silver", Decimal(1000), Decimal("1.2")),
        ("Gold", Decimal(3000), Decimal("1.5")),
        ("Diamond", Decimal(5000), Decimal("2.0")),
    ]
    assert [t.id for t in again] == [t.id for t in first]


async def test_concurrent_crossing_orders_upgrade_once(database):
    tiers = await default_tiers(database)
    customer = await new_customer(database)
    await order(database, customer, NOW, points=500)  # Bronze

    # Each order alone stays below Silver; together they cross it. Each transaction
    # locks the customer before summing, so exactly one of them makes the move.
    results = await asyncio.gather(
        *(order(database, customer, NOW + timedelta(minutes=1), points=300) for _ in range(4))
    )

    assert sum(r is not None for r in results) == 1
    assert await history(database, customer) == [
        (None, tiers["Bronze"], "order"),
        (tiers["Bronze"], tiers["Silver"], "order"),
    ]


async def test_concurrent_tier_creates_with_one_rank_keep_one(database):
    from domain.errors import DomainError, ErrorCode, InvalidInput
    from domain.tiers import CreateTier

    async def create(name: str):
        service = TierService(lambda: SqlUnitOfWork(database), FixedClock(NOW))
        try:
            return await service.create(CreateTier(name, 1, Decimal(0), Decimal(1)))
        except (DomainError, InvalidInput) as exc:
            return exc

    results = await asyncio.gather(*(create(f"Tier {i}") for i in range(5)))

    created = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(created) == 1 and len(refused) == 4
    assert {r.code for r in refused} == {ErrorCode.TAKEN}
