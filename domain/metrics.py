"""Retention metrics: which periods are measured, and what the exact figures mean.

The database returns exact raw figures for a period (counts, sums in cents, point
sums); every rate and ratio is derived here from those counts, so a rate is never
an average of averages and "no denominator" is always `None`, never 0.

Definitions (docs/metrics.md, with the choices a bare definition leaves open):

- A *counted* order is one not refunded in full (`refunded_amount < amount`); its
  net amount is `amount - refunded_amount`. Refund state is the one known now: a
  refund recorded after the period still lowers that period's revenue (and a full
  refund removes the order from it), so past figures change when refunds arrive.
- A period is half-open `[start, end)`, instants in UTC; calendar buckets (day, week
  from Monday, month, quarter) are cut in the program's time zone.
- *Previous period* (retention, churn, CLV, and `PREVIOUS_PERIOD` comparisons) is the
  period of equal length right before: `[start - (end - start), start)`. In a series,
  a bucket's previous period is the calendar bucket before it (February for March).
- *Year ago* is the same local calendar span one year earlier (29 February → 28).
- *Returning* buyers had a counted order before the period; *new* customers are the
  other buyers (their first counted order ever is in the period).
- *Repurchase interval* is the mean, in days, of the time between two consecutive
  counted orders of one customer, over pairs whose later order is in the period
  (the earlier one may be before it). Orders at the same instant are ordered by id.
- *CLV* = AOV × (orders / buyers) × 1 / churn = revenue / buyers / churn, computed
  from the exact figures (not from the rounded AOV); null when churn is 0 or
  undefined, or when there are no buyers.
- *Points issued* = EARN + BONUS + positive ADJUST entries: every point the program
  granted. *Redeemed* = points spent on rewards (REDEEM) net of cancellations
  (REDEEM_CANCEL) recorded in the same period, so a cancellation of an older
  redemption lowers the period it happens in. *Expired* = EXPIRE. *Deducted* =
  REVERSE (refunds) + negative ADJUST. Hence
  `liability(end) = liability(start) + issued - redeemed - expired - deducted`.
- *Points liability* = Σ of every ledger entry created before the period's end
  (pending points are not in the ledger until they become available; a customer's
  points debt nets against the others' balances). Its money value is
  `liability × point_value`, rounded half up to cents.
- *Referral conversion* = of the referrals recorded in the period, the share that
  are QUALIFIED now. A referral counts in the period it was recorded in, whenever it
  qualified (before or after the period's end): the operator's question is "of the
  friends referred in March, how many went on to buy?", so a period's conversion
  still rises while its referrals mature, as its revenue still falls when refunds
  arrive (state as known now, like refunds above). A REVERSED referral (its
  qualifying order refunded in full while the bonus was pending) is not qualified;
  a QUALIFIED one stays qualified even if that order is refunded later, because
  its bonus stood. Null when no referral was recorded in the period.
- Money derived by division (AOV, CLV) is rounded half up to cents.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from domain.errors import DomainError, ErrorCode

CENT = Decimal("0.01")
SECONDS_PER_DAY = 86_400
MAX_BUCKETS = 1000
MAX_COHORT_MONTHS = 120


class Granularity(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"


class Comparison(StrEnum):
    PREVIOUS_PERIOD = "PREVIOUS_PERIOD"
    YEAR_AGO = "YEAR_AGO"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, end: datetime, field: Sequence[str] = ("period",)) -> Period:
        if start.tzinfo is None or end.tzinfo is None:
            raise DomainError(ErrorCode.INVALID, field, "from and to must carry a UTC offset.")
        if start >= end:
            raise DomainError(ErrorCode.INVALID, field, "from must be before to.")
        return cls(start.astimezone(UTC), end.astimezone(UTC))

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def previous_period(period: Period) -> Period:
    return Period(period.start - period.length, period.start)


def _local_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in the zone as a UTC instant (the earlier one when ambiguous;
    a time skipped by a DST jump maps to the instant the jump lands on)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _shift_year(moment: datetime, zone: ZoneInfo, years: int) -> datetime:
    local = moment.astimezone(zone).replace(tzinfo=None)
    year = local.year + years
    day = local.day
    if local.month == 2 and day == 29 and not _is_leap(year):
        day = 28
    return _local_instant(local.replace(year=year, day=day), zone)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def year_ago(period: Period, zone: ZoneInfo) -> Period:
    return Period(_shift_year(period.start, zone, -1), _shift_year(period.end, zone, -1))


def compared_period(period: Period, comparison: Comparison, zone: ZoneInfo) -> Period:
    if comparison is Comparison.PREVIOUS_PERIOD:
        return previous_period(period)
    return year_ago(period, zone)


def _bucket_floor(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _bucket_next(start: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return start + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return start + timedelta(days=7)
    months = 1 if granularity is Granularity.MONTH else 3
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def _bucket_previous(start: date, granularity: Granularity) -> date:
    return _bucket_floor(start - timedelta(days=1), granularity)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return _local_instant(datetime(day.year, day.month, day.day), zone)


@dataclass(frozen=True)
class Bucket:
    """One calendar bucket of a series: its local first day, the (possibly trimmed)
    period it covers, and the full calendar bucket before it."""

    label: date
    period: Period
    previous: Period


def calendar_buckets(
    period: Period, granularity: Granularity, zone: ZoneInfo, *, limit: int = MAX_BUCKETS
) -> list[Bucket]:
    """The local calendar buckets that cover `period`; the first and last are trimmed
    to it. Boundaries are local midnights converted to UTC, so a day is 23 or 25
    hours long across a DST change."""
    first = _bucket_floor(period.start.astimezone(zone).date(), granularity)
    buckets: list[Bucket] = []
    label = first
    previous_start = _midnight(_bucket_previous(first, granularity), zone)
    while True:
        start = _midnight(label, zone)
        if start >= period.end:
            break
        following = _bucket_next(label, granularity)
        end = _midnight(following, zone)
        buckets.append(
            Bucket(
                label=label,
                period=Period(max(start, period.start), min(end, period.end)),
                previous=Period(previous_start, start),
            )
        )
        if len(buckets) > limit:
            raise DomainError(
                ErrorCode.TOO_MANY,
                ("granularity",),
                f"The series would have more than {limit} buckets; choose a coarser "
                "granularity or a shorter period.",
            )
        previous_start, label = start, following
    return buckets


def cohort_months(period: Period, zone: ZoneInfo) -> list[tuple[date, Period]]:
    """Whole local months from the month of `start` to the month of `end`'s last
    instant, each with its first day; the last one stops at `end` (orders after
    `end` never count)."""
    return [
        (b.label, Period(b.previous.end, b.period.end))
        for b in calendar_buckets(period, Granularity.MONTH, zone, limit=MAX_COHORT_MONTHS)
    ]


def local_month(instant: datetime, zone: ZoneInfo) -> Period:
    """The local calendar month (program time zone) that contains `instant`, as UTC
    instants: the bucket the per-customer monthly read model files an order under.
    Its boundaries are the same local midnights `calendar_buckets` cuts."""
    first = instant.astimezone(zone).date().replace(day=1)
    month = _month(first, zone)
    if instant < month.start:  # only where a DST jump swallows the local midnight
        first = _bucket_previous(first, Granularity.MONTH)
        month = _month(first, zone)
    while instant >= month.end:
        first = _bucket_next(first, Granularity.MONTH)
        month = _month(first, zone)
    return month


def local_year(instant: datetime, zone: ZoneInfo) -> Period:
    """The local calendar year that contains `instant`: from the start of its
    January to the end of its December (the same bounds as those months)."""
    return _year(local_month(instant, zone).start.astimezone(zone).year, zone)


# Every order written files itself under its month and year (the read model), and a
# batch's orders share a few dozen of them: the bounds are computed once per process.
@functools.lru_cache(maxsize=4096)
def _month(first: date, zone: ZoneInfo) -> Period:
    """The month that starts on the local date `first` (a 1st), as UTC instants."""
    return Period(_midnight(first, zone), _midnight(_bucket_next(first, Granularity.MONTH), zone))


@functools.lru_cache(maxsize=256)
def _year(year: int, zone: ZoneInfo) -> Period:
    january = local_month(_midnight(date(year, 1, 1), zone), zone)
    december = local_month(_midnight(date(year, 12, 1), zone), zone)
    return Period(january.start, december.end)


def months_covering(start: datetime, last: datetime, zone: ZoneInfo) -> list[Period]:
    """Every local month from the one containing `start` to the one containing
    `last`, consecutive."""
    months = [local_month(start, zone)]
    while months[-1].end <= last:
        months.append(local_month(months[-1].end, zone))
    return months


def whole_months(period: Period, zone: ZoneInfo) -> Period | None:
    """The longest run of whole local months inside `period` (from its first local
    month boundary at or after `start` to its last one at or before `end`), or None
    when no whole month fits. A read can take these months from a per-month
    aggregate and only the two partial edges from the orders themselves."""
    head = local_month(period.start, zone)
    first = head.start if head.start == period.start else head.end
    last = local_month(period.end, zone).start
    if first < last:
        return Period(first, last)
    return None


# ---- figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTotals:
    """The exact raw figures the database returns for one period."""

    buyers: int = 0
    orders: int = 0
    revenue_cents: int = 0
    repeat_customers: int = 0
    repeat_orders: int = 0  # Σ (orders - 1) over customers with ≥ 2 orders
    returning_customers: int = 0
    repurchase_pairs: int = 0
    repurchase_seconds: float = 0.0
    previous_buyers: int = 0
    retained_customers: int = 0
    nps_responses: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    csat_responses: int = 0
    csat_satisfied: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    points_deducted: int = 0
    points_liability: int = 0
    referrals_recorded: int = 0
    referrals_qualified: int = 0  # of those recorded in the period, QUALIFIED now
    reached_customers: int = 0  # customers with an unflagged SENT touchpoint in the period
    converted_customers: int = 0  # of those, with a counted order in a SENT's window
    attributed_orders: int = 0  # counted orders of the period attributed to a campaign
    attributed_revenue_cents: int = 0


def _ratio(numerator: int | Fraction, denominator: int | Fraction) -> float | None:
    return None if denominator == 0 else float(Fraction(numerator) / Fraction(denominator))


def _money(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PeriodMetrics:
    """Every metric of one period, derived from its exact totals."""

    period: Period
    totals: PeriodTotals
    point_value: Decimal

    @property
    def buyers(self) -> int:
        return self.totals.buyers

    @property
    def orders(self) -> int:
        return self.totals.orders

    @property
    def revenue(self) -> Decimal:
        return Decimal(self.totals.revenue_cents).scaleb(-2)

    @property
    def average_order_value(self) -> Decimal | None:
        if self.totals.orders == 0:
            return None
        return _money(Fraction(self.totals.revenue_cents, 100 * self.totals.orders))

    @property
    def new_customers(self) -> int:
        return self.totals.buyers - self.totals.returning_customers

    @property
    def returning_customers(self) -> int:
        return self.totals.returning_customers

    @property
    def repeat_customers(self) -> int:
        return self.totals.repeat_customers

    @property
    def repeat_purchase_rate(self) -> float | None:
        return _ratio(self.totals.repeat_customers, self.totals.buyers)

    @property
    def returning_customer_rate(self) -> float | None:
        return _ratio(self.totals.returning_customers, self.totals.buyers)

    @property
    def repeat_purchase_frequency(self) -> float | None:
        return _ratio(self.totals.repeat_orders, self.totals.repeat_customers)

    @property
    def repurchase_interval_days(self) -> float | None:
        if self.totals.repurchase_pairs == 0:
            return None
        return self.totals.repurchase_seconds / self.totals.repurchase_pairs / SECONDS_PER_DAY

    @property
    def previous_period_buyers(self) -> int:
        return self.totals.previous_buyers

    @property
    def retained_customers(self) -> int:
        return self.totals.retained_customers

    @property
    def nps_responses(self) -> int:
        return self.totals.nps_responses

    @property
    def csat_responses(self) -> int:
        return self.totals.csat_responses

    @property
    def points_issued(self) -> int:
        return self.totals.points_issued

    @property
    def points_redeemed(self) -> int:
        return self.totals.points_redeemed

    @property
    def points_expired(self) -> int:
        return self.totals.points_expired

    @property
    def points_deducted(self) -> int:
        return self.totals.points_deducted

    @property
    def points_liability(self) -> int:
        return self.totals.points_liability

    @property
    def reached_customers(self) -> int:
        return self.totals.reached_customers

    @property
    def converted_customers(self) -> int:
        return self.totals.converted_customers

    @property
    def outreach_conversion_rate(self) -> float | None:
        """触达转化率: of the customers with a SENT in the period, the share who placed a
        counted order within the attribution window of one of those SENTs (the order
        may fall after the period's end)."""
        return _ratio(self.totals.converted_customers, self.totals.reached_customers)

    @property
    def attributed_orders(self) -> int:
        return self.totals.attributed_orders

    @property
    def campaign_revenue(self) -> Decimal:
        return Decimal(self.totals.attributed_revenue_cents).scaleb(-2)

    @property
    def retention_rate(self) -> float | None:
        return _ratio(self.totals.retained_customers, self.totals.previous_buyers)

    @property
    def churn_rate(self) -> float | None:
        previous = self.totals.previous_buyers
        return _ratio(previous - self.totals.retained_customers, previous)

    @property
    def customer_lifetime_value(self) -> Decimal | None:
        previous = self.totals.previous_buyers
        churned = previous - self.totals.retained_customers
        if self.totals.buyers == 0 or previous == 0 or churned == 0:
            return None
        per_buyer = Fraction(self.totals.revenue_cents, 100 * self.totals.buyers)
        return _money(per_buyer * Fraction(previous, churned))

    @property
    def nps(self) -> float | None:
        t = self.totals
        if t.nps_responses == 0:
            return None
        return float(Fraction(100 * (t.nps_promoters - t.nps_detractors), t.nps_responses))

    @property
    def csat(self) -> float | None:
        t = self.totals
        return (
            None
            if t.csat_responses == 0
            else float(Fraction(100 * t.csat_satisfied, t.csat_responses))
        )

    @property
    def redemption_rate(self) -> float | None:
        return _ratio(self.totals.points_redeemed, self.totals.points_issued)

    @property
    def referrals_recorded(self) -> int:
        return self.totals.referrals_recorded

    @property
    def referrals_qualified(self) -> int:
        return self.totals.referrals_qualified

    @property
    def referral_conversion(self) -> float | None:
        return _ratio(self.totals.referrals_qualified, self.totals.referrals_recorded)

    @property
    def points_liability_value(self) -> Decimal:
        return (self.totals.points_liability * self.point_value).quantize(
            CENT, rounding=ROUND_HALF_UP
        )


@dataclass(frozen=True)
class Change:
    """current - other, and that difference relative to |other|; None when either
    value is undefined (relative also when other is 0)."""

    absolute: int | float | Decimal | None
    relative: float | None


def change(current: int | float | Decimal | None, other: int | float | Decimal | None) -> Change:
    if current is None or other is None:
        return Change(None, None)
    absolute: int | float | Decimal
    if isinstance(current, float) or isinstance(other, float):
        absolute = float(current) - float(other)
    else:
        absolute = current - other
    if other == 0:
        return Change(absolute, None)
    if isinstance(absolute, int | Decimal) and isinstance(other, int | Decimal):
        relative = float(Fraction(absolute) / abs(Fraction(other)))
    else:
        relative = float(absolute) / abs(float(other))
    return Change(absolute, relative)


@dataclass(frozen=True)
class MetricsReport:
    current: PeriodMetrics
    comparison: Comparison | None = None
    other: PeriodMetrics | None = None


@dataclass(frozen=True)
class SeriesPoint:
    label: date
    metrics: PeriodMetrics


@dataclass(frozen=True)
class CohortRow:
    """One cohort: customers whose first counted order ever is in `month`;
    `active[k]` of them have a counted order in month + k."""

    month: date
    period: Period
    size: int
    active: list[int]

    @property
    def shares(self) -> list[float | None]:
        return [_ratio(n, self.size) for n in self.active]


# ---- sub-populations and breakdowns ---------------------------------------------------


class Dimension(StrEnum):
    """What `metricsBreakdown` groups by."""

    CHANNEL = "CHANNEL"  # the order's channel (orders without one form their own row)
    TIER = "TIER"  # the customer's tier now (customers without one form their own row)
    SEGMENT = "SEGMENT"  # each saved segment's members now (a customer may be in several)
    CAMPAIGN = "CAMPAIGN"  # each started campaign's frozen audience, holdout included


@dataclass(frozen=True)
class MetricsFilter:
    """A sub-population; every given part must hold (AND).

    segment, tier, campaign and acquisition_channel restrict the customers: every
    figure (orders, points, feedback, referrals of the referee, touchpoints) is then
    that of these customers alone, as if the database held nobody else. Membership
    is taken once per request, as of now (a segment's members now, a customer's
    current tier, a campaign's frozen audience with its holdout), so a period and
    the period it is compared with measure the same customers.

    channel restricts the orders: only orders placed through that channel count
    (also for "returning", "new" and the repurchase interval: the order before the
    period must be of that channel too, and a conversion must be an order of that
    channel); points, feedback and referrals are not per channel and stay those of
    the customers.

    campaign also narrows the campaign figures (touchpoints, conversions, attributed
    orders and revenue) to that campaign; without it they cover every campaign."""

    segment_id: int | None = None
    tier_id: int | None = None
    channel: str | None = None
    campaign_id: int | None = None
    acquisition_channel: str | None = None

    @property
    def restricts_customers(self) -> bool:
        return any(
            v is not None
            for v in (self.segment_id, self.tier_id, self.campaign_id, self.acquisition_channel)
        )

    @property
    def is_empty(self) -> bool:
        return not self.restricts_customers and self.channel is None


@dataclass(frozen=True)
class BreakdownRow:
    """One value of a dimension: its key (tier, segment or campaign id; None for the
    "none" row of TIER), its channel (CHANNEL), a label, the number of customers it
    covers, and the metrics of that sub-population."""

    key: int | None
    channel: str | None
    label: str
    customers: int
    metrics: PeriodMetrics
