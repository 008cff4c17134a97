"""Predicted value in the database: each buyer's statistics computed in SQL (local
purchase days, counted orders, as of an instant), and a fit stored with its
predictions; a fit that cannot be made is kept as a failed attempt beside the good
one, whose predictions stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from domain.predictions.service import PREDICTIONS, calibrate, fit_and_store
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.predictions import CustomerPredictionRow, SqlPredictionRepository, zone_offsets
from tests.order_rows import add_customer, order_row
from tests.predictions_history import START, random_history
from tests.service import wiring

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def statistics(database: Database, as_of: datetime, zone: ZoneInfo) -> dict[int, tuple]:
    async with database.sessions() as session:
        s = await SqlPredictionRepository(session).statistics(as_of, zone)
    return {
        int(c): (int(x), int(r), int(t), float(m))
        for c, x, r, t, m in zip(
            s.customer_ids, s.frequency, s.recency_days, s.age_days, s.monetary, strict=True
        )
    }


async def test_statistics_count_local_purchase_days_of_counted_orders(database):
    async with database.sessions() as session:
        ann, bob, eve, new = [await add_customer(session) for _ in range(4)]
        session.add_all(
            [
                # 20:00 UTC on 31 January and 10:00 UTC on 1 February: both 1 February
                # in Shanghai, one purchase day worth 100 + 50.
                order_row(ann, utc(2025, 1, 31, 20), amount="100.00"),
                order_row(ann, utc(2025, 2, 1, 10), amount="50.00"),
                order_row(ann, utc(2025, 3, 1, 1), amount="30.00", refunded="10.00"),
                order_row(ann, utc(2025, 3, 15, 1), amount="70.00"),
                order_row(ann, utc(2025, 5, 1, 1), amount="999.00"),  # after as_of
                order_row(bob, utc(2025, 2, 10, 1), amount="40.00"),
                order_row(bob, utc(2025, 2, 20, 1), amount="40.00", refunded="40.00"),
                order_row(eve, utc(2025, 2, 10, 1), amount="40.00"),
                order_row(eve, utc(2025, 2, 11, 1), amount="40.00"),
            ]
        )
        await session.execute(
            update(CustomerRow).where(CustomerRow.id == eve).values(erased_at=utc(2025, 3, 1))
        )
        await session.commit()
    as_of = utc(2025, 4, 1, 3)  # 11:00 on 1 April in Shanghai
    found = await statistics(database, as_of, SHANGHAI)
    # ann: days 1 Feb, 1 Mar, 15 Mar; repeat days worth 20 (30 less 10 refunded) and 70
    assert found == {ann: (2, 42, 59, 45.0), bob: (0, 0, 50, 0.0)}
    # In UTC the two first orders fall on two days: three repeat days, 50 + 20 + 70.
    x, recency, age, mean = (await statistics(database, as_of, ZoneInfo("UTC")))[ann]
    assert (x, recency, age, round(mean, 2)) == (3, 43, 60, 46.67)
    assert new not in found


async def test_local_days_follow_daylight_saving_time(database):
    async with database.sessions() as session:
        ann = await add_customer(session)
        session.add_all(
            [
                # 23:30 UTC on 29 March is 00:30 on 30 March in Berlin (CET, +1) …
                order_row(ann, utc(2025, 3, 29, 23, 30)),
                # … and 22:30 UTC on 30 March is 00:30 on 31 March (CEST, +2).
                order_row(ann, utc(2025, 3, 30, 22, 30)),
                # 21:30 UTC on 30 March is 23:30 on 30 March: the first order's day.
                order_row(ann, utc(2025, 3, 30, 21, 30)),
            ]
        )
        await session.commit()
    found = await statistics(database, utc(2025, 4, 2), BERLIN)
    assert found[ann][:2] == (1, 1)
    offsets = zone_offsets(BERLIN, utc(2025, 1, 1), utc(2025, 12, 31))
    assert offsets == [
        (0, 3_600_000),
        (int(utc(2025, 3, 30, 1).timestamp() * 1000), 7_200_000),
        (int(utc(2025, 10, 26, 1).timestamp() * 1000), 3_600_000),
    ]


async def test_a_fit_stores_every_buyers_prediction_and_a_failed_fit_keeps_them(database):
    ids = await random_history(database)
    uow = wiring.uow_factory(database)
    as_of = START + timedelta(days=360)
    stored = await fit_and_store(uow, as_of, NOW)
    assert stored.converged, stored.message
    assert stored.customers == len(ids) and 0 < stored.repeat_buyers < len(ids)
    assert stored.bgnbd is not None and stored.gamma_gamma is not None
    async with uow() as u:
        current = await u.repo(PREDICTIONS).current_fit()
        predictions = await u.repo(PREDICTIONS).predictions_of(ids)
    assert current is not None and current.id == stored.id
    assert current.bgnbd == stored.bgnbd and current.as_of == as_of
    assert set(predictions) == set(ids)
    assert all(0 < p.p_alive <= 1 and p.expected_purchases >= 0 for p in predictions.values())
    assert all(p.predicted_clv is not None for p in predictions.values())

    # As of before the first order there is nobody to fit: the attempt is stored as
    # failed, and the good fit and its predictions stay.
    failed = await fit_and_store(uow, START - timedelta(days=1), NOW + timedelta(days=1))
    assert not failed.converged and "no customers" in failed.message
    async with uow() as u:
        assert (await u.repo(PREDICTIONS).current_fit()).id == stored.id
        assert (await u.repo(PREDICTIONS).latest_attempt()).id == failed.id
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerPredictionRow)) == len(
            ids
        )


async def test_calibration_compares_the_holdout_with_what_buyers_did(database):
    await random_history(database)
    uow = wiring.uow_factory(database)
    report = await calibrate(uow, START + timedelta(days=360), 150, NOW)
    assert report.converged, report.message
    assert report.by_frequency[0].frequency == 0
    assert sum(row.customers for row in report.by_frequency) == report.customers
    assert report.actual_total > 0
    assert abs(report.predicted_total - report.actual_total) < report.actual_total
    assert report.mean_absolute_error > 0
