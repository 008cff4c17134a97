"""Retention metrics on a small history where every figure is worked out by hand.

The program runs in Asia/Shanghai (UTC+8): April 2026 is
[2026-03-31T16:00Z, 2026-04-30T16:00Z), so an order at 2026-03-31T16:30Z is on
1 April and one at 2026-04-30T16:00Z is on 1 May. Its previous period of equal
length (30 days) is [2026-03-01T16:00Z, 2026-03-31T16:00Z).

| who | order (UTC)            | amount | refunded | counted in           |
| --- | ---------------------- | ------ | -------- | -------------------- |
| A   | 2026-03-10 02:00       | 100    |          | previous period      |
| A   | 2026-04-05 02:00       | 50     |          | April                |
| A   | 2026-04-20 02:00       | 70     |          | April                |
| A   | 2026-04-28 02:00       | 10     |          | April                |
| B   | 2026-03-31 16:30       | 200    |          | April (1 Apr local)  |
| B   | 2026-04-30 15:59       | 30     |          | April (30 Apr 23:59) |
| B   | 2026-04-30 16:00       | 999    |          | May                  |
| C   | 2026-03-15 02:00       | 80     |          | previous period      |
| C   | 2026-04-10 02:00       | 40     | 40       | nowhere (full refund)|
| D   | 2025-12-01 02:00       | 10     |          | before               |
| D   | 2026-04-12 02:00       | 60     | 20       | April, net 40        |
| E   | 2026-03-20 02:00       | 15     | 15       | nowhere              |
| E   | 2026-04-25 02:00       | 25.50  |          | April                |
| F   | 2026-03-31 15:59       | 5      |          | previous (31 Mar)    |
| G   | 2025-03-31 16:00       | 20     |          | April 2025           |
| G   | 2025-04-15 02:00       | 300    |          | April 2025           |

Referrals (each referee is a customer without orders; status as it stands now):

| referee | recorded (UTC)   | status now | qualified (UTC) | recorded in        |
| ------- | ---------------- | ---------- | --------------- | ------------------ |
| R1      | 2026-03-31 16:00 | QUALIFIED  | 2026-04-10      | April (1 Apr 00:00)|
| R2      | 2026-04-15 02:00 | QUALIFIED  | 2026-05-20      | April (counts: qualified later) |
| R3      | 2026-04-20 02:00 | PENDING    |                 | April              |
| R4      | 2026-04-30 15:59 | REVERSED   | 2026-05-01      | April (not qualified now) |
| R5      | 2026-03-31 15:59 | QUALIFIED  | 2026-04-02      | previous (31 Mar)  |
| R6      | 2026-04-30 16:00 | QUALIFIED  | 2026-05-02      | May                |
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.access import Role
from tests.conftest import make_key, utc
from tests.history import METRICS_FIELDS, History, set_program

APRIL = {"from": "2026-04-01T00:00:00+08:00", "to": "2026-05-01T00:00:00+08:00"}

METRICS = f"""
query($period: PeriodInput!, $compare: MetricsComparison) {{
  metrics(period: $period, compare: $compare) {{
    current {{ {METRICS_FIELDS} }}
    compare
    compared {{ {METRICS_FIELDS} }}
    change {{
      buyers {{ absolute relative }}
      revenue {{ absolute relative }}
      averageOrderValue {{ absolute relative }}
      retentionRate {{ absolute relative }}
      nps {{ absolute relative }}
      referralsRecorded {{ absolute relative }}
      referralConversion {{ absolute relative }}
    }}
  }}
}}
"""


def history() -> History:
    h = History()
    h.order("A", utc(2026, 3, 10, 2), "100")
    h.order("A", utc(2026, 4, 5, 2), "50")
    h.order("A", utc(2026, 4, 20, 2), "70")
    h.order("A", utc(2026, 4, 28, 2), "10")
    h.order("B", utc(2026, 3, 31, 16, 30), "200")
    h.order("B", utc(2026, 4, 30, 15, 59), "30")
    h.order("B", utc(2026, 4, 30, 16), "999")
    h.order("C", utc(2026, 3, 15, 2), "80")
    h.order("C", utc(2026, 4, 10, 2), "40", refunded="40")
    h.order("D", utc(2025, 12, 1, 2), "10")
    h.order("D", utc(2026, 4, 12, 2), "60", refunded="20")
    h.order("E", utc(2026, 3, 20, 2), "15", refunded="15")
    h.order("E", utc(2026, 4, 25, 2), "25.50")
    h.order("F", utc(2026, 3, 31, 15, 59), "5")
    h.order("G", utc(2025, 3, 31, 16), "20")
    h.order("G", utc(2025, 4, 15, 2), "300")
    # Points: 120 before April; in April +150 issued, 10 redeemed net, 12 expired,
    # 12 deducted; a May entry that must not count.
    for kind, points, at in [
        ("EARN", 100, utc(2026, 3, 10, 2)),
        ("ADJUST", 50, utc(2026, 3, 12)),
        ("REDEEM", -30, utc(2026, 3, 20)),
        ("EARN", 50, utc(2026, 4, 5, 2)),
        ("EARN", 70, utc(2026, 4, 20, 2)),
        ("BONUS", 20, utc(2026, 3, 31, 16)),
        ("ADJUST", 10, utc(2026, 4, 2)),
        ("ADJUST", -5, utc(2026, 4, 3)),
        ("REDEEM", -40, utc(2026, 4, 6)),
        ("REDEEM_CANCEL", 30, utc(2026, 4, 7)),
        ("EXPIRE", -12, utc(2026, 4, 8)),
        ("REVERSE", -7, utc(2026, 4, 30, 15, 59)),
        ("EARN", 1000, utc(2026, 4, 30, 16)),
    ]:
        h.entry("A", kind, points, at)
    for score in (10, 9, 9, 7, 3):
        h.answer("B", "NPS", score, utc(2026, 4, 15))
    h.answer("B", "NPS", 0, utc(2026, 3, 31, 15, 59))  # 31 March local
    for score in (5, 4, 2):
        h.answer("D", "CSAT", score, utc(2026, 4, 16))
    h.referral("R1", "A", utc(2026, 3, 31, 16), "QUALIFIED", utc(2026, 4, 10))
    h.referral("R2", "A", utc(2026, 4, 15, 2), "QUALIFIED", utc(2026, 5, 20))
    h.referral("R3", "B", utc(2026, 4, 20, 2))
    h.referral("R4", "B", utc(2026, 4, 30, 15, 59), "REVERSED", utc(2026, 5, 1))
    h.referral("R5", "A", utc(2026, 3, 31, 15, 59), "QUALIFIED", utc(2026, 4, 2))
    h.referral("R6", "B", utc(2026, 4, 30, 16), "QUALIFIED", utc(2026, 5, 2))
    return h


@pytest.fixture
async def shanghai(database):
    await set_program(database, timezone="Asia/Shanghai", point_value=Decimal("0.0125"))
    await history().write(database)


async def test_april_in_shanghai(gql, shanghai):
    data = await gql(METRICS, {"period": APRIL})
    m = data["metrics"]["current"]
    assert m["from"] == "2026-03-31T16:00:00+00:00"
    assert m["to"] == "2026-04-30T16:00:00+00:00"
    assert m["buyers"] == 4  # A, B, D, E
    assert m["orders"] == 7
    assert m["revenue"] == {"amount": "425.50", "currency": "CNY"}
    assert m["averageOrderValue"] == {"amount": "60.79"}  # 425.50 / 7 = 60.7857…
    assert (m["newCustomers"], m["returningCustomers"]) == (2, 2)  # B, E new; A, D back
    assert m["returningCustomerRate"] == 0.5
    assert m["repeatCustomers"] == 2  # A (3 orders), B (2)
    assert m["repeatPurchaseRate"] == 0.5
    assert m["repeatPurchaseFrequency"] == 1.5  # ((3-1) + (2-1)) / 2
    # Pairs ending in April: A 26, 15, 8 days; B 29 d 23 h 29 min; D 132 days (from Dec).
    expected_days = (26 + 15 + 8 + 29 + 1409 / 1440 + 132) / 5
    assert m["repurchaseIntervalDays"] == pytest.approx(expected_days, rel=1e-9)
    # Previous 30 days: A, C, F (E's only order there was refunded in full).
    assert (m["previousPeriodBuyers"], m["retainedCustomers"]) == (3, 1)
    assert m["retentionRate"] == pytest.approx(1 / 3)
    assert m["churnRate"] == pytest.approx(2 / 3)
    # 425.50 / 4 buyers / (2/3) = 159.5625
    assert m["customerLifetimeValue"] == {"amount": "159.56"}
    assert (m["npsResponses"], m["nps"]) == (5, 40.0)  # (3 promoters - 1 detractor) / 5
    assert m["csatResponses"] == 3
    assert m["csat"] == pytest.approx(200 / 3)
    assert m["pointsIssued"] == 150  # 50 + 70 + 20 bonus + 10 adjust
    assert m["pointsRedeemed"] == 10  # 40 - 30 cancelled
    assert m["pointsExpired"] == 12
    assert m["pointsDeducted"] == 12  # 7 reversed + 5 adjusted down
    assert m["redemptionRate"] == pytest.approx(10 / 150)
    assert m["pointsLiability"] == 236  # 120 + 150 - 10 - 12 - 12
    assert m["pointsLiabilityValue"] == {"amount": "2.95", "currency": "CNY"}  # 236 × 0.0125
    # R1..R4 recorded in April; R1 and R2 qualified (R2 in May), R3 pending, R4 reversed.
    assert (m["referralsRecorded"], m["referralsQualified"]) == (4, 2)
    assert m["referralConversion"] == 0.5
    assert data["metrics"]["compared"] is None and data["metrics"]["change"] is None


async def test_compared_with_the_previous_period(gql, shanghai):
    data = (await gql(METRICS, {"period": APRIL, "compare": "PREVIOUS_PERIOD"}))["metrics"]
    before = data["compared"]
    assert data["compare"] == "PREVIOUS_PERIOD"
    assert (before["from"], before["to"]) == ("2026-03-01T16:00:00+00:00", APRIL_START)
    assert (before["buyers"], before["orders"]) == (3, 3)
    assert before["revenue"]["amount"] == "185.00"  # 100 + 80 + 5
    assert before["newCustomers"] == 3
    assert before["previousPeriodBuyers"] == 0
    assert before["retentionRate"] is None and before["customerLifetimeValue"] is None
    assert before["pointsLiability"] == 120
    change = data["change"]
    assert change["buyers"] == {"absolute": 1, "relative": pytest.approx(1 / 3)}
    assert change["revenue"] == {"absolute": "240.50", "relative": pytest.approx(240.5 / 185)}
    assert change["retentionRate"] == {"absolute": None, "relative": None}
    assert before["nps"] == -100.0  # one answer, a 0, at 23:59 on 31 March local
    assert change["nps"] == {"absolute": 140.0, "relative": 1.4}
    # R5, recorded at 23:59 on 31 March local, belongs to March although it qualified
    # in April.
    assert (before["referralsRecorded"], before["referralsQualified"]) == (1, 1)
    assert before["referralConversion"] == 1.0
    assert change["referralsRecorded"] == {"absolute": 3, "relative": 3.0}
    assert change["referralConversion"] == {"absolute": -0.5, "relative": -0.5}


APRIL_START = "2026-03-31T16:00:00+00:00"


async def test_compared_with_a_year_ago(gql, shanghai):
    data = (await gql(METRICS, {"period": APRIL, "compare": "YEAR_AGO"}))["metrics"]
    ago = data["compared"]
    assert (ago["from"], ago["to"]) == ("2025-03-31T16:00:00+00:00", "2025-04-30T16:00:00+00:00")
    assert (ago["buyers"], ago["orders"], ago["revenue"]["amount"]) == (1, 2, "320.00")
    assert ago["averageOrderValue"] == {"amount": "160.00"}
    assert data["change"]["revenue"] == {
        "absolute": "105.50",
        "relative": pytest.approx(105.5 / 320),
    }
    assert data["change"]["averageOrderValue"]["absolute"] == "-99.21"  # 60.79 - 160.00
    assert (ago["referralsRecorded"], ago["referralConversion"]) == (0, None)
    assert data["change"]["referralConversion"] == {"absolute": None, "relative": None}
    assert data["change"]["referralsRecorded"] == {"absolute": 4, "relative": None}


async def test_a_period_without_buyers_has_null_rates(gql, shanghai):
    period = {"from": "2027-01-01T00:00:00+08:00", "to": "2027-02-01T00:00:00+08:00"}
    m = (await gql(METRICS, {"period": period, "compare": "PREVIOUS_PERIOD"}))["metrics"]
    current = m["current"]
    assert (current["buyers"], current["orders"], current["revenue"]["amount"]) == (0, 0, "0.00")
    for rate in (
        "averageOrderValue",
        "repeatPurchaseRate",
        "returningCustomerRate",
        "repeatPurchaseFrequency",
        "repurchaseIntervalDays",
        "retentionRate",
        "churnRate",
        "customerLifetimeValue",
        "nps",
        "csat",
        "redemptionRate",
        "referralConversion",
    ):
        assert current[rate] is None, rate
    assert current["referralsRecorded"] == 0
    assert current["pointsLiability"] == 1236  # every entry, the May one included
    assert m["change"]["buyers"] == {"absolute": 0, "relative": None}


async def test_monthly_series_cut_in_shanghai(gql, shanghai):
    data = await gql(
        f"""query {{ metricsSeries(from: "2026-03-01T00:00:00+08:00",
              to: "2026-05-01T00:00:00+08:00", granularity: MONTH) {{
              startDate metrics {{ {METRICS_FIELDS} }} }} }}"""
    )
    march, april = data["metricsSeries"]
    assert (march["startDate"], april["startDate"]) == ("2026-03-01", "2026-04-01")
    assert march["metrics"]["from"] == "2026-02-28T16:00:00+00:00"
    assert (march["metrics"]["buyers"], march["metrics"]["newCustomers"]) == (3, 3)
    assert march["metrics"]["retentionRate"] is None  # nobody bought in February
    a = april["metrics"]
    # April's previous period is March (local), whose buyers are A, C and F.
    assert (a["buyers"], a["orders"], a["revenue"]["amount"]) == (4, 7, "425.50")
    assert (a["previousPeriodBuyers"], a["retainedCustomers"]) == (3, 1)
    assert a["customerLifetimeValue"] == {"amount": "159.56"}
    assert a["pointsLiability"] == 236 and march["metrics"]["pointsLiability"] == 120
    assert (a["referralsRecorded"], a["referralsQualified"]) == (4, 2)
    assert (march["metrics"]["referralsRecorded"], march["metrics"]["referralConversion"]) == (
        1,
        1.0,
    )


async def test_weekly_series_starts_on_monday(gql, shanghai):
    data = await gql(
        """query { metricsSeries(from: "2026-04-01T00:00:00+08:00",
             to: "2026-04-15T00:00:00+08:00", granularity: WEEK) {
             startDate metrics { from to orders buyers repeatPurchaseRate } } }"""
    )
    weeks = data["metricsSeries"]
    assert [w["startDate"] for w in weeks] == ["2026-03-30", "2026-04-06", "2026-04-13"]
    # The first week is trimmed to 1 April and the last to 15 April.
    assert weeks[0]["metrics"]["from"] == APRIL_START
    assert weeks[2]["metrics"]["to"] == "2026-04-14T16:00:00+00:00"
    assert [w["metrics"]["orders"] for w in weeks] == [2, 1, 0]  # B1+A2 | D1 | none
    assert weeks[2]["metrics"]["repeatPurchaseRate"] is None


async def test_daily_and_quarterly_buckets(gql, shanghai):
    data = await gql(
        """query {
             days: metricsSeries(from: "2026-03-31T00:00:00+08:00",
               to: "2026-04-02T00:00:00+08:00", granularity: DAY) {
               startDate metrics { orders revenue { amount } } }
             quarters: metricsSeries(from: "2026-01-01T00:00:00+08:00",
               to: "2026-07-01T00:00:00+08:00", granularity: QUARTER) {
               startDate metrics { orders buyers } } }"""
    )
    days = data["days"]
    assert [d["startDate"] for d in days] == ["2026-03-31", "2026-04-01"]
    assert [d["metrics"]["orders"] for d in days] == [1, 1]  # F at 23:59, B at 00:30
    quarters = data["quarters"]
    assert [q["startDate"] for q in quarters] == ["2026-01-01", "2026-04-01"]
    assert [q["metrics"]["orders"] for q in quarters] == [3, 8]  # B's May order in Q2


async def test_cohort_table(gql, shanghai):
    data = await gql(
        """query { cohorts(from: "2026-03-01T00:00:00+08:00", to: "2026-06-01T00:00:00+08:00") {
             month size customers retention } }"""
    )
    march, april, may = data["cohorts"]
    # March: A, C, F (D started in December, E's March order was refunded).
    assert march == {
        "month": "2026-03-01",
        "size": 3,
        "customers": [3, 1, 0],
        "retention": [1.0, pytest.approx(1 / 3), 0.0],
    }
    # April: B (00:30 on 1 April local) and E; B came back on 1 May at 00:00.
    assert april == {"month": "2026-04-01", "size": 2, "customers": [2, 1], "retention": [1.0, 0.5]}
    assert may == {"month": "2026-05-01", "size": 0, "customers": [0], "retention": [None]}


async def test_bad_periods_are_refused(gql, shanghai):
    body = await gql.raw(METRICS, {"period": {"from": APRIL["to"], "to": APRIL["from"]}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql.raw(
        """query { metricsSeries(from: "2000-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z",
             granularity: DAY) { startDate } }"""
    )
    assert "more than 1000 buckets" in body["errors"][0]["message"]


async def test_metrics_need_an_analyst_or_admin_key(gql, database, shanghai):
    query = "query($p: PeriodInput!) { metrics(period: $p) { current { buyers } } }"
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    assert (await analyst(query, {"p": APRIL}))["metrics"]["current"]["buyers"] == 4
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    body = await storefront.raw(query, {"p": APRIL})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
