"""The per-customer monthly read model, by example: which rows an order writes, what
a refund and a change of the program's time zone do to them, and when the metrics
read them (tests/service/test_order_months_random.py proves it exact at random)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.metrics import Period, previous_period
from domain.orders import RecordOrder, RefundOrder
from persistence.database import Database
from persistence.metrics import period_totals
from persistence.orders import CustomerMonthRow, CustomerMonthZoneRow
from tests.service import wiring

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# 20:00 UTC on 31 January is 04:00 on 1 February in Shanghai.
LATE_JANUARY_UTC = datetime(2025, 1, 31, 20, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
FEBRUARY_SHANGHAI = Period(
    datetime(2025, 2, 1, tzinfo=SHANGHAI).astimezone(UTC),
    datetime(2025, 3, 1, tzinfo=SHANGHAI).astimezone(UTC),
)


async def record(database: Database, external_id: str, at: datetime, amount: str) -> None:
    await wiring.orders(database, FixedClock(NOW)).record(
        RecordOrder(
            external_id, CustomerRef(external_id="ann", profile=ProfileInput()), amount, "CNY", at
        )
    )


async def rows(database: Database) -> list[tuple[int, datetime, int, int]]:
    async with database.sessions() as session:
        found = await session.execute(
            select(CustomerMonthRow).order_by(CustomerMonthRow.months, CustomerMonthRow.month_start)
        )
        return [(r.months, r.month_start, r.orders_count, r.net_cents) for r in found.scalars()]


async def set_zone(database: Database, zone: str) -> None:
    await wiring.program(database, FixedClock(NOW)).update({"timezone": zone})


async def test_an_order_files_its_local_month_and_year_and_a_refund_updates_them(database):
    await set_zone(database, "UTC")
    await record(database, "o1", LATE_JANUARY_UTC, "100.00")
    jan, year = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    assert await rows(database) == [(1, jan, 1, 10000), (12, year, 1, 10000)]

    orders = wiring.orders(database, FixedClock(NOW))
    await orders.refund(RefundOrder("o1", Decimal("30.00"), "r1"))
    assert await rows(database) == [(1, jan, 1, 7000), (12, year, 1, 7000)]

    # Refunded in full, the order no longer counts: no month has it.
    await orders.refund(RefundOrder("o1", Decimal("70.00"), "r2"))
    assert await rows(database) == []


async def test_a_time_zone_change_rebuilds_the_read_model_in_the_new_months(database):
    await set_zone(database, "UTC")
    await record(database, "o1", LATE_JANUARY_UTC, "100.00")
    assert [r[1] for r in await rows(database)] == [datetime(2025, 1, 1, tzinfo=UTC)] * 2

    # The same transaction that saves the new zone refiles every order.
    await set_zone(database, "Asia/Shanghai")
    assert await rows(database) == [
        (1, FEBRUARY_SHANGHAI.start, 1, 10000),
        (12, datetime(2025, 1, 1, tzinfo=SHANGHAI).astimezone(UTC), 1, 10000),
    ]
    async with database.sessions() as session:
        zone = (await session.execute(select(CustomerMonthZoneRow.timezone))).scalar_one()
        [february] = await period_totals(
            session, [FEBRUARY_SHANGHAI], [previous_period(FEBRUARY_SHANGHAI)], SHANGHAI
        )
    assert zone == "Asia/Shanghai"
    assert (february.orders, february.revenue_cents) == (1, 10000)


async def test_metrics_read_whole_months_from_the_model_only_in_its_own_zone(database):
    await set_zone(database, "Asia/Shanghai")
    await record(database, "o1", LATE_JANUARY_UTC, "100.00")

    async def february_revenue() -> int:
        async with database.sessions() as session:
            [totals] = await period_totals(
                session, [FEBRUARY_SHANGHAI], [previous_period(FEBRUARY_SHANGHAI)], SHANGHAI
            )
            return totals.revenue_cents

    # Tampering with the stored month shows that a whole month is read from it ...
    async with database.sessions() as session:
        await session.execute(update(CustomerMonthRow).values(net_cents=1))
        await session.commit()
    assert await february_revenue() == 1

    # ... and only while the model is cut in the zone asked for: otherwise every
    # figure comes from the orders (as when the environment's default zone differs
    # from the one the model was built in, until the next programUpdate rebuilds it).
    async with database.sessions() as session:
        await session.execute(update(CustomerMonthZoneRow).values(timezone="Europe/Paris"))
        await session.commit()
    assert await february_revenue() == 10000
