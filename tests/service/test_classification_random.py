"""classification_query against a straightforward Python reference on a seeded
random history (~300 customers, ~2000 orders), on both databases.

The reference below is written from docs/lifecycle-and-rfm.md alone: it loops over orders, keeps
exact fractions for means and medians, and counts "strictly worse" customers one by
one. It shares no code with the SQL (nor with domain/classification.py).
Order instants fall on whole hours and amounts on a few values, so ties are common.
"""

from __future__ import annotations

import random
import statistics
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from domain.program import ProgramSettings, RfmCut
from persistence.classification import classification_query
from persistence.database import Database
from tests.conftest import utc
from tests.order_history import Order, build_history

T = utc(2024, 6, 30, 12)
SEED = 20240630
CUSTOMERS = 300
ORDERS = 2000


def random_history() -> tuple[list[str], list[Order]]:
    rng = random.Random(SEED)
    names = [f"c{i:03d}" for i in range(CUSTOMERS)]
    # Some customers buy a lot, many a little, some never.
    weights = [rng.choice([0, 1, 1, 2, 3, 8]) for _ in names]
    # How long ago each customer arrived: one in ten within the last week.
    arrived = {
        name: rng.randint(1, 24 * 7) if rng.random() < 0.1 else rng.randint(1, 24 * 400)
        for name in names
    }
    orders = []
    for _ in range(ORDERS):
        name = rng.choices(names, weights)[0]
        placed = T - timedelta(hours=rng.randint(-24 * 20, arrived[name]))  # some after T
        amount = Decimal(rng.choice(["9.90", "19.90", "50.00", "99.99", "120.00", "0.01"]))
        refunded = Decimal(0)
        roll = rng.random()
        if roll < 0.1:
            refunded = amount
        elif roll < 0.2:
            refunded = (amount * Decimal(rng.choice(["0.1", "0.5", "0.99"]))).quantize(
                Decimal("0.01")
            )
        orders.append(Order(name, placed, amount, refunded))
    return names, orders


def reference(
    names: list[str], orders: list[Order], program: ProgramSettings, lookback_days: int | None
) -> dict[str, dict]:
    day = timedelta(days=1)
    counted = [o for o in orders if o.refunded < o.amount and o.placed_at <= T]
    result = {}
    for name in names:
        mine = [o for o in counted if o.customer == name]
        row = {
            "orders_count": len(mine),
            "net_spent": sum((o.amount - o.refunded for o in mine), Decimal("0.00")),
        }
        if not mine:
            row["lifecycle"] = "PROSPECT"
            row["recency_days"] = None
        else:
            first = min(o.placed_at for o in mine)
            last = max(o.placed_at for o in mine)
            since_first, since_last = T - first, T - last
            if since_first < program.lifecycle_new_days * day:
                stage = "NEW"
            elif (
                since_first >= program.lifecycle_loyal_days * day
                and since_last <= program.lifecycle_active_days * day
            ):
                stage = "LOYAL"
            elif since_last <= program.lifecycle_active_days * day:
                stage = "ACTIVE"
            elif since_last <= program.lifecycle_silent_days * day:
                stage = "SILENT"
            else:
                stage = "CHURNED"
            row["lifecycle"] = stage
            row["recency_days"] = float(Fraction(since_last / timedelta(seconds=1)) / 86400)
        result[name] = row

    # RFM over the look-back window.
    window = [
        o for o in counted if lookback_days is None or T - o.placed_at <= timedelta(lookback_days)
    ]
    facts = {}
    for name in names:
        mine = [o for o in window if o.customer == name]
        if mine:
            r = Fraction((T - max(o.placed_at for o in mine)) / timedelta(seconds=1)) / 86400
            f = len(mine)
            m = sum((o.amount - o.refunded for o in mine), Decimal(0))
            facts[name] = (r, f, Fraction(m))
    n = len(facts)

    def cut(values: list[Fraction]) -> Fraction:
        if program.rfm_cut is RfmCut.MEDIAN:
            return Fraction(statistics.median(values))
        return sum(values, Fraction(0)) / len(values)

    if facts:
        r_cut = cut([r for r, _, _ in facts.values()])
        f_cut = cut([Fraction(f) for _, f, _ in facts.values()])
        m_cut = cut([m for _, _, m in facts.values()])
    for name in names:
        row = result[name]
        if name not in facts:
            row.update(r_score=None, f_score=None, m_score=None, rfm_class=None)
            continue
        r, f, m = facts[name]
        worse_r = sum(1 for other in facts.values() if other[0] > r)
        worse_f = sum(1 for other in facts.values() if other[1] < f)
        worse_m = sum(1 for other in facts.values() if other[2] < m)
        recent, frequent, high = r < r_cut, f > f_cut, m > m_cut
        kind = "IMPORTANT" if high else "GENERAL"
        part = {
            (True, True): "VALUE",
            (True, False): "DEVELOP",
            (False, True): "RETAIN",
            (False, False): "WINBACK",
        }[(recent, frequent)]
        row.update(
            r_score=1 + (5 * worse_r) // n,
            f_score=1 + (5 * worse_f) // n,
            m_score=1 + (5 * worse_m) // n,
            rfm_class=f"{kind}_{part}",
            rfm_frequency=f,
            rfm_monetary=Decimal(m.numerator) / Decimal(m.denominator),
        )
    return result


@pytest.mark.parametrize(
    ("cut", "lookback_days"),
    [(RfmCut.MEAN, None), (RfmCut.MEDIAN, None), (RfmCut.MEAN, 90), (RfmCut.MEDIAN, 120)],
)
async def test_random_history_matches_the_reference(
    database: Database, cut: RfmCut, lookback_days: int | None
) -> None:
    names, orders = random_history()
    ids = await build_history(database, names, orders)
    program = ProgramSettings(rfm_cut=cut)
    expected = reference(names, orders, program, lookback_days)

    query = classification_query(T, program, lookback_days=lookback_days)
    async with database.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    by_id = {v: k for k, v in ids.items()}
    actual = {}
    for row in rows:
        keys = expected[by_id[row["customer_id"]]].keys()
        actual[by_id[row["customer_id"]]] = {k: row[k] for k in keys}

    assert actual == expected
    # The history exercises what it is meant to.
    stages = {row["lifecycle"] for row in expected.values()}
    classes = {row["rfm_class"] for row in expected.values()} - {None}
    assert stages == {"PROSPECT", "NEW", "LOYAL", "ACTIVE", "SILENT", "CHURNED"}
    assert len(classes) >= 6
    assert {row["r_score"] for row in expected.values()} >= {1, 2, 3, 4, 5}
