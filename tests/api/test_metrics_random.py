"""A seeded random history checked against a straightforward Python implementation.

The oracle below is written from docs/metrics.md alone, one customer and one order at a
time, with no code shared with the SQL path: if both agree on every metric of a
period, its comparisons, three series and the cohort table (in a time zone with
DST changes, with ties, full and partial refunds), the SQL is right.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.history import METRICS_FIELDS, History, set_program

ZONE = ZoneInfo("America/New_York")
SEED = 20260323


def random_history(rng: random.Random) -> History:
    h = History()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    span = int((datetime(2026, 12, 31, tzinfo=UTC) - start).total_seconds())
    customers = [f"c{i}" for i in range(40)]
    last_at: dict[str, datetime] = {}
    for _ in range(400):
        who = rng.choice(customers)
        if who in last_at and rng.random() < 0.08:
            at = last_at[who]  # two orders at the same instant
        else:
            at = start + timedelta(seconds=rng.randrange(span))
        last_at[who] = at
        cents = rng.randrange(100, 50_000)
        roll = rng.random()
        refunded = cents if roll < 0.12 else rng.randrange(1, cents) if roll < 0.25 else 0
        h.order(who, at, str(Decimal(cents).scaleb(-2)), str(Decimal(refunded).scaleb(-2)))
    kinds = ["EARN", "BONUS", "ADJUST", "REDEEM", "REDEEM_CANCEL", "REVERSE", "EXPIRE"]
    for _ in range(300):
        kind = rng.choice(kinds)
        size = rng.randrange(1, 500)
        sign = {"EARN": 1, "BONUS": 1, "REDEEM_CANCEL": 1, "ADJUST": rng.choice([1, -1])}.get(
            kind, -1
        )
        h.entry(
            rng.choice(customers), kind, sign * size, start + timedelta(seconds=rng.randrange(span))
        )
    for _ in range(150):
        kind = rng.choice(["NPS", "CSAT"])
        score = rng.randint(0, 10) if kind == "NPS" else rng.randint(1, 5)
        h.answer(rng.choice(customers), kind, score, start + timedelta(seconds=rng.randrange(span)))
    # One referral per referee: some referees are buyers, most are new customers.
    referees = rng.sample(customers, 15) + [f"r{i}" for i in range(60)]
    for referee in referees:
        referrer = rng.choice([c for c in customers if c != referee])
        at = start + timedelta(seconds=rng.randrange(span))
        status = rng.choices(["PENDING", "QUALIFIED", "REVERSED"], [3, 5, 2])[0]
        # Qualification may come after the end of the period the referral is in.
        qualified_at = None if status == "PENDING" else at + timedelta(days=rng.randrange(90))
        h.referral(referee, referrer, at, status, qualified_at)
    return h


# ---- the oracle ---------------------------------------------------------------------


class Oracle:
    def __init__(self, h: History) -> None:
        self.h = h
        # (customer, at, net cents, sequence) for orders not refunded in full.
        self.counted = [
            (who, at, int((amount - refunded) * 100), i)
            for i, (who, at, amount, refunded) in enumerate(h.orders)
            if refunded < amount
        ]
        by_customer = defaultdict(list)
        for who, at, _, seq in self.counted:
            by_customer[who].append((at, seq))
        # Every (earlier, later) pair of consecutive counted orders of one customer.
        self.pairs = []
        for orders in by_customer.values():
            orders.sort()
            self.pairs += [(a[0], b[0]) for a, b in zip(orders, orders[1:], strict=False)]
        self.first = {who: min(at for at, _ in orders) for who, orders in by_customer.items()}

    def buyers(self, inside) -> set[str]:  # noqa: ANN001
        return {who for who, at, _, _ in self.counted if inside(at)}

    def metrics(self, inside, previous_inside, end: datetime, start: datetime) -> dict:  # noqa: ANN001
        orders = [(who, cents) for who, at, cents, _ in self.counted if inside(at)]
        per = defaultdict(int)
        for who, _ in orders:
            per[who] += 1
        buyers = set(per)
        revenue = sum(c for _, c in orders)
        repeaters = [n for n in per.values() if n >= 2]
        returning = {who for who in buyers if self.first[who] < start}
        gaps = [(b - a).total_seconds() / 86400 for a, b in self.pairs if inside(b)]
        before = self.buyers(previous_inside)
        retained = before & buyers

        def rate(n, d):  # noqa: ANN001, ANN202
            return None if d == 0 else n / d

        def money(value):  # noqa: ANN001, ANN202
            return None if value is None else str(value.quantize(Decimal("0.01"), ROUND_HALF_UP))

        churn = rate(len(before) - len(retained), len(before))
        rev = Decimal(revenue) / 100
        clv = None
        if buyers and churn:
            clv = rev / len(buyers) * len(before) / (len(before) - len(retained))
        nps = [s for _, k, s, at in self.h.answers if k == "NPS" and inside(at)]
        csat = [s for _, k, s, at in self.h.answers if k == "CSAT" and inside(at)]
        entries = [(k, p) for _, k, p, at in self.h.entries if inside(at)]
        issued = sum(p for k, p in entries if k in ("EARN", "BONUS") or (k == "ADJUST" and p > 0))
        redeemed = -sum(p for k, p in entries if k in ("REDEEM", "REDEEM_CANCEL"))
        liability = sum(p for _, _, p, at in self.h.entries if at < end)
        referred = [status for _, _, at, status, _ in self.h.referrals if inside(at)]
        converted = sum(status == "QUALIFIED" for status in referred)
        return {
            "buyers": len(buyers),
            "orders": len(orders),
            "revenue": str(rev.quantize(Decimal("0.01"))),
            "averageOrderValue": money(rev / len(orders) if orders else None),
            "newCustomers": len(buyers - returning),
            "returningCustomers": len(returning),
            "repeatCustomers": len(repeaters),
            "repeatPurchaseRate": rate(len(repeaters), len(buyers)),
            "returningCustomerRate": rate(len(returning), len(buyers)),
            "repeatPurchaseFrequency": rate(sum(n - 1 for n in repeaters), len(repeaters)),
            "repurchaseIntervalDays": rate(sum(gaps), len(gaps)),
            "previousPeriodBuyers": len(before),
            "retainedCustomers": len(retained),
            "retentionRate": rate(len(retained), len(before)),
            "churnRate": churn,
            "customerLifetimeValue": money(clv),
            "npsResponses": len(nps),
            "nps": rate(100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)), len(nps)),
            "csatResponses": len(csat),
            "csat": rate(100 * sum(s >= 4 for s in csat), len(csat)),
            "pointsIssued": issued,
            "pointsRedeemed": redeemed,
            "pointsExpired": -sum(p for k, p in entries if k == "EXPIRE"),
            "pointsDeducted": -sum(
                p for k, p in entries if k == "REVERSE" or (k == "ADJUST" and p < 0)
            ),
            "redemptionRate": rate(redeemed, issued),
            "pointsLiability": liability,
            "referralsRecorded": len(referred),
            "referralsQualified": converted,
            "referralConversion": rate(converted, len(referred)),
        }

    def period(self, start: datetime, end: datetime) -> dict:
        length = end - start
        return self.metrics(
            lambda at: start <= at < end,
            lambda at: start - length <= at < start,
            end,
            start,
        )


def local_label(at: datetime, granularity: str) -> date:
    day = at.astimezone(ZONE).date()
    if granularity == "DAY":
        return day
    if granularity == "WEEK":
        return day - timedelta(days=day.weekday())
    if granularity == "MONTH":
        return day.replace(day=1)
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def year_earlier(at: datetime) -> datetime:
    local = at.astimezone(ZONE).replace(tzinfo=None)
    try:
        shifted = local.replace(year=local.year - 1)
    except ValueError:  # 29 February
        shifted = local.replace(year=local.year - 1, day=28)
    return shifted.replace(tzinfo=ZONE).astimezone(UTC)


def assert_same(actual: dict, expected: dict, where: str) -> None:
    for key, value in expected.items():
        got = actual[key]
        if isinstance(got, dict):
            got = got["amount"]
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9), (where, key)
        else:
            assert got == value, (where, key)


# ---- the test -------------------------------------------------------------------------

PERIOD = (datetime(2026, 2, 10, 5, tzinfo=UTC), datetime(2026, 5, 20, tzinfo=UTC))


@pytest.fixture
async def oracle(database) -> Oracle:
    await set_program(database, timezone="America/New_York")
    h = random_history(random.Random(SEED))
    await h.write(database)
    return Oracle(h)


async def test_period_and_comparisons_match_the_oracle(gql, oracle):
    start, end = PERIOD
    for compare, other in [
        ("PREVIOUS_PERIOD", (start - (end - start), start)),
        ("YEAR_AGO", (year_earlier(start), year_earlier(end))),
    ]:
        data = await gql(
            f"""query($p: PeriodInput!, $c: MetricsComparison) {{ metrics(period: $p, compare: $c)
                {{ current {{ {METRICS_FIELDS} }} compared {{ {METRICS_FIELDS} }} }} }}""",
            {"p": {"from": start.isoformat(), "to": end.isoformat()}, "c": compare},
        )
        report = data["metrics"]
        assert report["current"]["buyers"] > 5  # the sample is not trivially empty
        assert report["current"]["referralsQualified"] > 0
        assert_same(report["current"], oracle.period(start, end), "current")
        assert datetime.fromisoformat(report["compared"]["from"]) == other[0]
        assert_same(report["compared"], oracle.period(*other), compare)


@pytest.mark.parametrize(
    ("granularity", "start", "end"),
    [
        ("DAY", "2026-03-06T00:00:00-05:00", "2026-03-10T12:00:00-04:00"),  # DST on 8 March
        ("WEEK", "2026-02-20T00:00:00-05:00", "2026-04-10T00:00:00-04:00"),
        ("MONTH", "2025-10-15T00:00:00-04:00", "2026-06-01T00:00:00-04:00"),
        ("QUARTER", "2025-01-01T00:00:00-05:00", "2027-01-01T00:00:00-05:00"),
    ],
)
async def test_series_match_the_oracle(gql, oracle, granularity, start, end):
    data = await gql(
        f"""query($f: DateTime!, $t: DateTime!, $g: Granularity!) {{
              metricsSeries(from: $f, to: $t, granularity: $g) {{
                startDate metrics {{ {METRICS_FIELDS} }} }} }}""",
        {"f": start, "t": end, "g": granularity},
    )
    buckets = data["metricsSeries"]
    lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
    hours = int((hi - lo).total_seconds() // 3600) + 1
    labels = sorted(
        {
            local_label(min(lo + timedelta(hours=n), hi - timedelta(microseconds=1)), granularity)
            for n in range(hours)
        }
    )
    assert [date.fromisoformat(b["startDate"]) for b in buckets] == labels
    for bucket in buckets:
        label = date.fromisoformat(bucket["startDate"])
        midnight = datetime.combine(label, time(), ZONE).astimezone(UTC)
        previous = local_label(midnight - timedelta(hours=1), granularity)
        bucket_start = max(midnight, lo)
        assert datetime.fromisoformat(bucket["metrics"]["from"]) == bucket_start
        expected = oracle.metrics(
            lambda at, label=label: lo <= at < hi and local_label(at, granularity) == label,
            lambda at, previous=previous: local_label(at, granularity) == previous,
            datetime.fromisoformat(bucket["metrics"]["to"]),
            bucket_start,
        )
        assert_same(bucket["metrics"], expected, f"{granularity} {label}")


async def test_cohort_table_matches_the_oracle(gql, oracle):
    end = datetime(2026, 10, 15, tzinfo=UTC)
    data = await gql(
        """query($t: DateTime!) { cohorts(from: "2025-01-01T00:00:00-05:00", to: $t) {
             month size customers retention } }""",
        {"t": end.isoformat()},
    )
    active = defaultdict(set)
    for who, at, _, _ in oracle.counted:
        if at < end:
            active[local_label(at, "MONTH")].add(who)
    months = [date(2025 + m // 12, m % 12 + 1, 1) for m in range(24)]
    months = [m for m in months if m <= local_label(end, "MONTH")]
    assert [date.fromisoformat(r["month"]) for r in data["cohorts"]] == months
    for row in data["cohorts"]:
        month = date.fromisoformat(row["month"])
        members = {w for w, first in oracle.first.items() if local_label(first, "MONTH") == month}
        later = [m for m in months if m >= month]
        expected = [len(members & active[m]) for m in later]
        assert (row["size"], row["customers"]) == (len(members), expected), month
        assert row["retention"] == [n / len(members) if members else None for n in expected]
