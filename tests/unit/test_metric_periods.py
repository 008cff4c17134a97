"""Calendar buckets and compared periods, in time zones with and without DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.metrics import (
    Granularity,
    Period,
    PeriodMetrics,
    PeriodTotals,
    calendar_buckets,
    change,
    year_ago,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_a_day_across_the_spring_dst_change_is_23_hours():
    period = Period(datetime(2026, 3, 7, 5, tzinfo=UTC), datetime(2026, 3, 10, 4, tzinfo=UTC))
    days = calendar_buckets(period, Granularity.DAY, NEW_YORK)
    assert [d.label for d in days] == [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    assert [d.period.length for d in days] == [
        timedelta(hours=24),
        timedelta(hours=23),
        timedelta(hours=24),
    ]


def test_year_ago_of_29_february_is_28_february_local():
    shanghai = ZoneInfo("Asia/Shanghai")
    period = Period(datetime(2028, 2, 28, 16, tzinfo=UTC), datetime(2028, 3, 1, 16, tzinfo=UTC))
    assert year_ago(period, shanghai) == Period(
        datetime(2027, 2, 27, 16, tzinfo=UTC), datetime(2027, 3, 1, 16, tzinfo=UTC)
    )


def test_clv_is_null_when_nobody_churned_and_exact_otherwise():
    kept_all = PeriodTotals(
        buyers=2, orders=3, revenue_cents=1000, previous_buyers=2, retained_customers=2
    )
    assert PeriodMetrics(None, kept_all, Decimal("0.01")).customer_lifetime_value is None
    lost_two_of_three = PeriodTotals(
        buyers=3, orders=7, revenue_cents=10_000, previous_buyers=3, retained_customers=1
    )
    # 100.00 / 3 buyers / (2/3) = 50.00, not round(AOV) × 7/3 × 3/2
    assert PeriodMetrics(
        None, lost_two_of_three, Decimal("0.01")
    ).customer_lifetime_value == Decimal("50.00")


def test_change_is_null_when_the_other_value_is_undefined_or_zero():
    assert change(5, None).absolute is None
    assert (change(5, 0).absolute, change(5, 0).relative) == (5, None)
    assert change(Decimal("3.00"), Decimal("4.00")).relative == -0.25
