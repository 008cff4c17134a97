"""classification_query on hand-built histories where every answer is worked out here.

as of T; "T - 30d" is exactly 30 × 24 hours earlier. Defaults: NEW under 7 days,
LOYAL from 180 days, ACTIVE within 30, SILENT within 90.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.program import ProgramSettings, RfmCut
from persistence.classification import classification_query
from persistence.database import Database
from tests.conftest import utc
from tests.order_history import Order, build_history

T = utc(2024, 3, 20, 12)  # ten days after New York moved its clocks forward
D = timedelta(days=1)
MS = timedelta(milliseconds=1)
US = timedelta(microseconds=1)


async def classify(
    database: Database,
    ids: dict[str, int],
    program: ProgramSettings | None = None,
    *,
    as_of: datetime = T,
    lookback_days: int | None = None,
) -> dict[str, dict]:
    query = classification_query(as_of, program or ProgramSettings(), lookback_days=lookback_days)
    async with database.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    names = {v: k for k, v in ids.items()}
    return {names[row["customer_id"]]: dict(row) for row in rows}


LIFECYCLE_CUSTOMERS = [
    "no-orders",
    "refunded-in-full",
    "only-after-t",
    "new",
    "seven-days",
    "loyal-at-both-edges",
    "almost-loyal",
    "lapsed-loyal",
    "thirty-days",
    "ninety-days",
    "churned",
]

LIFECYCLE_ORDERS = [
    Order("refunded-in-full", T - 3 * D, "80.00", refunded="80.00"),
    Order("only-after-t", T + US, "10.00"),
    Order("new", T - 7 * D + US, "10.00"),
    Order("new", T, "5.50"),  # placed exactly at T: counts
    Order("seven-days", T - 7 * D, "10.00"),
    Order("loyal-at-both-edges", T - 180 * D, "100.00", refunded="40.00"),  # net 60
    Order("loyal-at-both-edges", T - 30 * D, "20.00"),
    Order("loyal-at-both-edges", T - 2 * D, "70.00", refunded="70.00"),  # not counted
    Order("loyal-at-both-edges", T + D, "900.00"),  # after T: ignored
    Order("almost-loyal", T - 180 * D + US, "10.00"),
    Order("almost-loyal", T - D, "10.00"),
    Order("lapsed-loyal", T - 400 * D, "10.00"),
    Order("lapsed-loyal", T - 30 * D - MS, "10.00"),
    Order("thirty-days", T - 30 * D, "10.00"),
    Order("ninety-days", T - 90 * D, "10.00"),
    Order("churned", T - 90 * D - MS, "10.00"),
]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Shanghai"])
async def test_lifecycle_stages_at_every_edge(database: Database, zone: str) -> None:
    """Durations are exact instants, so the program's time zone (even across a
    daylight-saving change) cannot move a customer from one stage to another."""
    ids = await build_history(database, LIFECYCLE_CUSTOMERS, LIFECYCLE_ORDERS)
    rows = await classify(database, ids, ProgramSettings(timezone=zone))

    assert {name: row["lifecycle"] for name, row in rows.items()} == {
        "no-orders": "PROSPECT",
        "refunded-in-full": "PROSPECT",
        "only-after-t": "PROSPECT",
        "new": "NEW",  # first order 1 µs under 7 days ago
        "seven-days": "ACTIVE",  # exactly 7 days: no longer new
        "loyal-at-both-edges": "LOYAL",  # first exactly 180 days, last exactly 30 days ago
        "almost-loyal": "ACTIVE",  # first 1 µs under 180 days ago
        "lapsed-loyal": "SILENT",  # last 30 days and 1 ms ago
        "thirty-days": "ACTIVE",
        "ninety-days": "SILENT",
        "churned": "CHURNED",
    }


async def test_order_statistics_count_only_counted_orders_up_to_t(database: Database) -> None:
    ids = await build_history(database, LIFECYCLE_CUSTOMERS, LIFECYCLE_ORDERS)
    rows = await classify(database, ids)

    loyal = rows["loyal-at-both-edges"]
    assert loyal["orders_count"] == 2
    assert loyal["net_spent"] == Decimal("80.00")  # 100 − 40 partially refunded, + 20
    assert loyal["first_order_at"] == T - 180 * D
    assert loyal["last_order_at"] == T - 30 * D
    assert loyal["recency_days"] == 30.0
    assert rows["new"]["recency_days"] == 0.0
    assert rows["new"]["net_spent"] == Decimal("15.50")
    assert rows["lapsed-loyal"]["recency_days"] == 30 + 1 / 86_400_000
    for name in ("no-orders", "refunded-in-full", "only-after-t"):
        assert rows[name]["orders_count"] == 0
        assert rows[name]["net_spent"] == Decimal("0.00")
        assert rows[name]["first_order_at"] is None
        assert rows[name]["recency_days"] is None
        assert rows[name]["rfm_class"] is None
        assert rows[name]["r_score"] is None


async def test_lifecycle_thresholds_are_program_settings(database: Database) -> None:
    ids = await build_history(database, LIFECYCLE_CUSTOMERS, LIFECYCLE_ORDERS)
    program = ProgramSettings(
        lifecycle_new_days=8, lifecycle_active_days=29, lifecycle_silent_days=91
    )
    rows = await classify(database, ids, program)
    assert rows["seven-days"]["lifecycle"] == "NEW"
    assert rows["thirty-days"]["lifecycle"] == "SILENT"
    assert rows["loyal-at-both-edges"]["lifecycle"] == "SILENT"
    assert rows["churned"]["lifecycle"] == "SILENT"


# ---- RFM, mean cut, with ties at every mean ------------------------------------------
#
#        R (days)  F   M      recent (R < 3)  frequent (F > 2)  high (M > 100)
#   a    1         2   150    yes             no (= mean)        yes
#   b    3         1   100    no (= mean)     no                 no (= mean)
#   c    5         3   100    no              yes                no (= mean)
#   d    3         2   50     no (= mean)     no (= mean)        no
# means: R 12/4 = 3, F 8/4 = 2, M 400/4 = 100. N = 4.
# Scores, 1 + floor(5 × strictly worse / 4):
#   R worse = larger R: a 3 -> 4, b 1 -> 2, c 0 -> 1, d 1 -> 2
#   F worse = smaller F: a 1 -> 2, b 0 -> 1, c 3 -> 4, d 1 -> 2
#   M worse = smaller M: a 3 -> 4, b 1 -> 2, c 1 -> 2, d 0 -> 1

MEAN_CUSTOMERS = ["a", "b", "c", "d", "refunded-only"]
MEAN_ORDERS = [
    Order("a", T - D, "100.00"),
    Order("a", T - 4 * D, "50.00"),
    Order("a", T + D, "1000.00"),  # after T
    Order("b", T - 3 * D, "100.00"),
    Order("b", T - D / 2, "999.00", refunded="999.00"),  # refunded in full
    Order("c", T - 5 * D, "40.00"),
    Order("c", T - 6 * D, "30.00"),
    Order("c", T - 8 * D, "50.00", refunded="20.00"),  # net 30
    Order("d", T - 3 * D, "25.00"),
    Order("d", T - 20 * D, "25.00"),
    Order("refunded-only", T - D, "10.00", refunded="10.00"),
]


def rfm_of(row: dict) -> tuple:
    return (row["r_score"], row["f_score"], row["m_score"], row["rfm_class"])


async def test_rfm_ties_at_the_mean_are_on_the_low_side(database: Database) -> None:
    ids = await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    rows = await classify(database, ids)

    assert {name: rfm_of(row) for name, row in rows.items()} == {
        "a": (4, 2, 4, "IMPORTANT_DEVELOP"),
        "b": (2, 1, 2, "GENERAL_WINBACK"),
        "c": (1, 4, 2, "GENERAL_RETAIN"),
        "d": (2, 2, 1, "GENERAL_WINBACK"),
        "refunded-only": (None, None, None, None),
    }
    assert [rows[n]["recency_days"] for n in "abcd"] == [1.0, 3.0, 5.0, 3.0]
    assert [rows[n]["rfm_frequency"] for n in "abcd"] == [2, 1, 3, 2]
    assert [rows[n]["rfm_monetary"] for n in "abcd"] == [Decimal(v) for v in (150, 100, 100, 50)]


# ---- RFM, median cut, even N ------------------------------------------------------
#
#        R    F   M      median cut: R (4+10)/2 = 7, F (1+2)/2 = 1.5, M (30+35)/2 = 32.5
#   v    1    10  1000   recent frequent high      IMPORTANT_VALUE
#   w    2    1   40     recent          high      IMPORTANT_DEVELOP
#   x    4    3   10     recent frequent           GENERAL_VALUE
#   y    10   2   30            frequent           GENERAL_RETAIN
#   z    40   1   20                               GENERAL_WINBACK
#   u    100  1   35                      high      IMPORTANT_WINBACK
# N = 6. R worse (larger R): v5 w4 x3 y2 z1 u0 -> 5 4 3 2 1 1
#        F worse (smaller F): v5 w0 x4 y3 z0 u0 -> 5 1 4 3 1 1
#        M worse (smaller M): v5 w4 x0 y2 z1 u3 -> 5 4 1 2 1 3
# With the mean cut instead (R 157/6, F 18/6 = 3, M 1135/6): only v is frequent (x ties
# at 3) and high-value; v, w, x, y are recent.

MEDIAN_CUSTOMERS = ["v", "w", "x", "y", "z", "u"]
MEDIAN_ORDERS = [
    *(Order("v", T - k * D, "100.00") for k in range(1, 11)),
    Order("w", T - 2 * D, "40.00"),
    Order("x", T - 4 * D, "3.00"),
    Order("x", T - 5 * D, "3.00"),
    Order("x", T - 6 * D, "4.00"),
    Order("y", T - 10 * D, "15.00"),
    Order("y", T - 11 * D, "15.00"),
    Order("z", T - 40 * D, "20.00"),
    Order("u", T - 100 * D, "35.00"),
]


async def test_rfm_with_the_median_cut(database: Database) -> None:
    ids = await build_history(database, MEDIAN_CUSTOMERS, MEDIAN_ORDERS)
    rows = await classify(database, ids, ProgramSettings(rfm_cut=RfmCut.MEDIAN))

    assert {name: rfm_of(row) for name, row in rows.items()} == {
        "v": (5, 5, 5, "IMPORTANT_VALUE"),
        "w": (4, 1, 4, "IMPORTANT_DEVELOP"),
        "x": (3, 4, 1, "GENERAL_VALUE"),
        "y": (2, 3, 2, "GENERAL_RETAIN"),
        "z": (1, 1, 1, "GENERAL_WINBACK"),
        "u": (1, 1, 3, "IMPORTANT_WINBACK"),
    }


async def test_same_history_with_the_mean_cut(database: Database) -> None:
    ids = await build_history(database, MEDIAN_CUSTOMERS, MEDIAN_ORDERS)
    rows = await classify(database, ids)

    assert {name: row["rfm_class"] for name, row in rows.items()} == {
        "v": "IMPORTANT_VALUE",
        "w": "GENERAL_DEVELOP",
        "x": "GENERAL_DEVELOP",
        "y": "GENERAL_DEVELOP",
        "z": "GENERAL_WINBACK",
        "u": "GENERAL_WINBACK",
    }
    # Scores do not depend on the cut.
    assert rfm_of(rows["u"])[:3] == (1, 1, 3)


# ---- look-back window --------------------------------------------------------------
#
# lookbackDays 30 keeps orders placed at or after T − 30 days: z and u drop out of the
# population; edge's order exactly 30 days ago stays, its order 31 days ago does not.
#        R    F   M
#   v    1    10  1000
#   w    2    1   40
#   x    4    3   10
#   y    10   2   30
#   edge 30   1   5
# N = 5, means: R 47/5 = 9.4, F 17/5 = 3.4, M 1085/5 = 217.
# R worse: v4 w3 x2 y1 edge0 -> 5 4 3 2 1;  F worse: v4 w0 x3 y2 edge0 -> 5 1 4 3 1;
# M worse: v4 w3 x1 y2 edge0 -> 5 4 2 3 1.


async def test_lookback_narrows_population_frequency_and_monetary(database: Database) -> None:
    ids = await build_history(
        database,
        [*MEDIAN_CUSTOMERS, "edge"],
        [
            *MEDIAN_ORDERS,
            Order("edge", T - 30 * D, "5.00"),
            Order("edge", T - 31 * D, "1000.00"),
        ],
    )
    rows = await classify(database, ids, lookback_days=30)

    assert {name: rfm_of(row) for name, row in rows.items()} == {
        "v": (5, 5, 5, "IMPORTANT_VALUE"),
        "w": (4, 1, 4, "GENERAL_DEVELOP"),
        "x": (3, 4, 2, "GENERAL_DEVELOP"),
        "y": (2, 3, 3, "GENERAL_WINBACK"),
        "edge": (1, 1, 1, "GENERAL_WINBACK"),
        "z": (None, None, None, None),
        "u": (None, None, None, None),
    }
    edge = rows["edge"]
    assert (edge["rfm_frequency"], edge["rfm_monetary"]) == (1, Decimal("5.00"))
    # The profile columns and the stage still see every order up to T.
    assert (edge["orders_count"], edge["net_spent"]) == (2, Decimal("1005.00"))
    assert edge["lifecycle"] == "ACTIVE"
    assert rows["u"]["lifecycle"] == "CHURNED"


async def test_erased_customers_keep_their_rows(database: Database) -> None:
    ids = await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS, erased={"c"})
    rows = await classify(database, ids)
    assert rfm_of(rows["c"]) == (1, 4, 2, "GENERAL_RETAIN")


async def test_customer_ids_filter_keeps_the_whole_population(database: Database) -> None:
    ids = await build_history(database, MEAN_CUSTOMERS, MEAN_ORDERS)
    query = classification_query(T, ProgramSettings(), customer_ids=[ids["a"]])
    async with database.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    assert [rfm_of(dict(r)) for r in rows] == [(4, 2, 4, "IMPORTANT_DEVELOP")]


async def test_nobody_with_an_order(database: Database) -> None:
    ids = await build_history(database, ["p", "q"], [])
    rows = await classify(database, ids)
    assert {n: (r["lifecycle"], r["rfm_class"]) for n, r in rows.items()} == {
        "p": ("PROSPECT", None),
        "q": ("PROSPECT", None),
    }
