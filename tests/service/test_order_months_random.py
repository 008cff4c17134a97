"""The monthly read model is exact: random histories, written through the order
service (orderRecord, partial and full refunds, the program's time zone changed
half-way), on SQLite and PostgreSQL.

Two checks per history:
- the table customer_order_months equals a Python recomputation from the orders
  (local months of the program's zone, counted orders, net cents, first and last
  instants, the last order before the month);
- the cohort table, read from the model, equals the one read from the orders
  (tests/cohorts_reference.py);
- the metrics' order figures, read with the model (whole months from it, partial
  edge months from the orders), equal the full aggregate over every order that
  persistence/metrics.py ran before the model existed (tests/metrics_reference.py),
  for a local year, a random period with partial months at both ends, a period
  inside one month, and a series by month with each bucket's previous month.

Instants cluster around local month boundaries (±36 hours), in a zone without DST
(Asia/Shanghai) and one with DST (America/New_York), with ties at one instant.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.metrics import Granularity, Period, calendar_buckets, previous_period
from domain.orders import RecordOrder, RefundOrder
from domain.program import ProgramSettings
from persistence.cohorts import cohort_table
from persistence.database import Database
from persistence.metrics import period_totals
from persistence.orders import CustomerMonthRow, CustomerMonthZoneRow, OrderRow
from tests.cohorts_reference import reference_cohort_table
from tests.databases import PostgresTemplate, SqliteTemplate
from tests.history import set_program
from tests.metrics_reference import reference_order_figures
from tests.service import wiring

ZONES = ["Asia/Shanghai", "America/New_York"]
NOW = datetime(2027, 1, 1, tzinfo=UTC)
FIRST_MONTH = (2025, 1)
MONTHS = 14


@dataclass(frozen=True)
class Sale:
    customer: int
    month: int  # months after January 2025
    offset_seconds: int  # from that local month's first midnight
    same_instant_as_previous: bool
    cents: int
    refund: str  # "none", "partial", "full", "partial then rest"


@dataclass(frozen=True)
class Story:
    zone: str
    sales: list[Sale]
    switch_zone_after: int | None  # orders recorded in the first zone, then the other
    period_edges: tuple[int, int]  # seconds after 2025-01-01 UTC


sales = st.builds(
    Sale,
    customer=st.integers(0, 7),
    month=st.integers(0, MONTHS - 1),
    offset_seconds=st.integers(-36 * 3600, 36 * 3600) | st.integers(0, 27 * 86400),
    same_instant_as_previous=st.sampled_from([False, False, False, True]),
    cents=st.integers(1, 100_000),
    refund=st.sampled_from(["none", "none", "partial", "full", "partial then rest"]),
)
stories = st.builds(
    Story,
    zone=st.sampled_from(ZONES),
    sales=st.lists(sales, min_size=1, max_size=30),
    switch_zone_after=st.none() | st.integers(0, 30),
    period_edges=st.tuples(st.integers(0, 400 * 86400), st.integers(1, 200 * 86400)),
)


def month_start(zone: ZoneInfo, month: int) -> datetime:
    year, m = FIRST_MONTH[0] + month // 12, FIRST_MONTH[1] + month % 12
    return datetime(year, m, 1, tzinfo=zone).astimezone(UTC)


def placed(story: Story, zone: ZoneInfo) -> list[datetime]:
    instants: list[datetime] = []
    for sale in story.sales:
        if sale.same_instant_as_previous and instants:
            instants.append(instants[-1])
        else:
            at = month_start(zone, sale.month) + timedelta(seconds=sale.offset_seconds)
            instants.append(at + timedelta(microseconds=sale.cents % 1000))
    return instants


# ---- the Python recomputation of the read model ----------------------------------------


def local_starts(at: datetime, zone: ZoneInfo) -> list[tuple[int, datetime]]:
    """(1, start of the local month), (12, start of the local year) of an instant."""
    local = at.astimezone(zone)
    return [
        (1, datetime(local.year, local.month, 1, tzinfo=zone).astimezone(UTC)),
        (12, datetime(local.year, 1, 1, tzinfo=zone).astimezone(UTC)),
    ]


def expected_rows(
    orders: list[tuple[int, datetime, Decimal, Decimal]], zone: ZoneInfo
) -> dict[tuple[int, int, datetime], tuple[int, int, datetime, datetime, datetime | None]]:
    counted = sorted(
        (who, at, int((amount - refunded) * 100))
        for who, at, amount, refunded in orders
        if refunded < amount
    )
    buckets: dict[tuple[int, int, datetime], list[tuple[datetime, int]]] = defaultdict(list)
    for who, at, cents in counted:
        for months, start in local_starts(at, zone):
            buckets[(who, months, start)].append((at, cents))
    rows = {}
    for (who, months, start), sold in buckets.items():
        before = [at for w, at, _ in counted if w == who and at < start]
        rows[(who, months, start)] = (
            len(sold),
            sum(c for _, c in sold),
            min(at for at, _ in sold),
            max(at for at, _ in sold),
            max(before) if before else None,
        )
    return rows


# ---- one history on one database -----------------------------------------------------


async def play(url: str, story: Story) -> None:
    database = Database.connect(url)
    clock = FixedClock(NOW)
    service = wiring.orders(database, clock)
    zones = [story.zone, next(z for z in ZONES if z != story.zone)]
    try:
        await set_program(database, timezone=zones[0])
        instants = placed(story, ZoneInfo(story.zone))
        for i, (sale, at) in enumerate(zip(story.sales, instants, strict=True)):
            if story.switch_zone_after == i:
                await set_program(database, timezone=zones[1])
            amount = Decimal(sale.cents).scaleb(-2)
            await service.record(
                RecordOrder(
                    f"o{i}",
                    CustomerRef(external_id=f"c{sale.customer}", profile=ProfileInput()),
                    amount,
                    "CNY",
                    at,
                )
            )
            if sale.refund in ("partial", "partial then rest") and sale.cents > 1:
                part = Decimal(sale.cents // 2).scaleb(-2)
                await service.refund(RefundOrder(f"o{i}", part, f"r{i}a"))
            if sale.refund == "full" or (sale.refund == "partial then rest" and sale.cents > 1):
                async with database.sessions() as session:
                    row = (
                        await session.execute(
                            select(OrderRow).where(OrderRow.external_id == f"o{i}")
                        )
                    ).scalar_one()
                    rest = row.amount - row.refunded_amount
                await service.refund(RefundOrder(f"o{i}", rest, f"r{i}b"))
        final = (
            zones[1]
            if story.switch_zone_after is not None and (story.switch_zone_after < len(story.sales))
            else zones[0]
        )
        zone = ZoneInfo(final)
        async with database.sessions() as session:
            await check_rows(session, zone, final)
            await check_figures(session, story, zone)
    finally:
        await database.dispose()


async def check_rows(session, zone: ZoneInfo, zone_name: str) -> None:  # noqa: ANN001
    assert (await session.execute(select(CustomerMonthZoneRow.timezone))).scalar_one() == zone_name
    orders = [
        (r.customer_id, r.placed_at, Decimal(r.amount), Decimal(r.refunded_amount))
        for r in (await session.execute(select(OrderRow))).scalars()
    ]
    stored = {
        (r.customer_id, r.months, r.month_start): (
            r.orders_count,
            r.net_cents,
            r.first_at,
            r.last_at,
            r.prev_at,
        )
        for r in (await session.execute(select(CustomerMonthRow))).scalars()
    }
    assert stored == expected_rows(orders, zone)


async def check_figures(session, story: Story, zone: ZoneInfo) -> None:  # noqa: ANN001
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=story.period_edges[0])
    random_period = Period(start, start + timedelta(seconds=story.period_edges[1]))
    year = Period(month_start(zone, 0), month_start(zone, 12))  # read from year rows
    inside_one_month = Period(
        month_start(zone, 3) + timedelta(days=2), month_start(zone, 3) + timedelta(days=20)
    )
    series = calendar_buckets(
        Period(month_start(zone, -1) + timedelta(days=9), month_start(zone, MONTHS + 1)),
        Granularity.MONTH,
        zone,
    )
    # As metrics(compare: PREVIOUS_PERIOD) asks: a period and the one before it are
    # both reported, and the latter is also the former's retention base.
    before_random = previous_period(random_period)
    # 2026 and the period before it (2025, as long) are both whole local years.
    next_year = Period(month_start(zone, 12), month_start(zone, 24))
    periods = [
        year,
        next_year,
        random_period,
        before_random,
        inside_one_month,
        *(b.period for b in series),
    ]
    previous = [
        previous_period(year),
        previous_period(next_year),
        before_random,
        previous_period(before_random),
        previous_period(inside_one_month),
        *(b.previous for b in series),
    ]
    program = ProgramSettings(timezone=zone.key)
    # Cohorts over the whole history, and over a range that ends inside a month.
    for cohort_range in (Period(month_start(zone, -1), month_start(zone, MONTHS)), random_period):
        assert await cohort_table(session, program, cohort_range) == (
            await reference_cohort_table(session, program, cohort_range)
        ), cohort_range
    got = await period_totals(session, periods, previous, zone)
    want = await reference_order_figures(session, periods, previous)
    for period, totals, expected in zip(periods, got, want, strict=True):
        seconds = expected.pop("repurchase_seconds")
        assert {k: getattr(totals, k) for k in expected} == expected, period
        assert totals.repurchase_seconds == pytest.approx(seconds, rel=1e-12, abs=1e-6), period


# ---- the property, on each database --------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, sqlite_template: SqliteTemplate, postgres_template: PostgresTemplate | None):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield sqlite_template.fresh
        return
    if postgres_template is None:
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")

    def fresh() -> str:
        name, url = asyncio.run(postgres_template.fresh())
        created.append(name)
        return url

    created: list[str] = []
    yield fresh
    for name in created:
        asyncio.run(postgres_template.drop(name))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=stories)
def test_read_model_equals_the_full_aggregate(fresh_url, story: Story) -> None:  # noqa: ANN001
    asyncio.run(play(fresh_url(), story))
