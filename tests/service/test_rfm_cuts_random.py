"""`Customer.rfm` from score cuts equals ranking the whole population, on SQLite and
PostgreSQL, for random histories full of ties.

The reference (tests/rfm_reference.py) is the previous read: classification_query
ranks every customer of the population with RANK() and the requested ones are
picked from it. The read under test sorts each measure once to find the values at
the four positions that decide the scores (domain `score_ranks`), and scores only
the requested customers against them. Orders fall on a few instants and amounts,
so equal R, F and M are common; populations from 1 to 40 customers; as of an
instant inside the history (some orders after it) or after it; with and without a
look-back window; mean and median cuts; stored statistics or every order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.classification import score, score_from_cuts, score_ranks
from domain.program import ProgramSettings, RfmCut
from persistence.classification import customer_rfms
from persistence.database import Database
from tests.databases import PostgresTemplate, SqliteTemplate
from tests.order_history import Order, build_history
from tests.rfm_reference import ranked_customer_rfms

T0 = datetime(2025, 6, 1, tzinfo=UTC)
AMOUNTS = ["9.90", "19.90", "50.00", "0.01", "120.00"]


@dataclass(frozen=True)
class Sale:
    customer: int
    hours_before: int  # before T0; negative: after it
    amount: str
    refund: str  # "none", "half", "full"


@dataclass(frozen=True)
class Story:
    customers: int
    sales: list[Sale]
    as_of_hours: int  # T0 minus this
    lookback_days: int | None
    cut: RfmCut
    stored_stats: bool


stories = st.integers(1, 40).flatmap(
    lambda n: st.builds(
        Story,
        customers=st.just(n),
        sales=st.lists(
            st.builds(
                Sale,
                customer=st.integers(0, n - 1),
                hours_before=st.sampled_from([-48, 0, 24, 24 * 10, 24 * 45, 24 * 200]),
                amount=st.sampled_from(AMOUNTS),
                refund=st.sampled_from(["none", "none", "none", "half", "full"]),
            ),
            min_size=1,
            max_size=80,
        ),
        as_of_hours=st.sampled_from([-72, 0, 30, 24 * 20]),
        lookback_days=st.sampled_from([None, None, 30, 100]),
        cut=st.sampled_from(list(RfmCut)),
        stored_stats=st.booleans(),
    )
)


async def play(url: str, story: Story) -> None:
    database = Database.connect(url)
    try:
        names = [f"c{i}" for i in range(story.customers)]
        orders = []
        for sale in story.sales:
            amount = Decimal(sale.amount)
            refund = {
                "none": Decimal(0),
                "half": (amount / 2).quantize(Decimal("0.01"), rounding=ROUND_DOWN),
                "full": amount,
            }[sale.refund]
            orders.append(
                Order(names[sale.customer], T0 - timedelta(hours=sale.hours_before), amount, refund)
            )
        ids = await build_history(database, names, orders)
        as_of = T0 - timedelta(hours=story.as_of_hours)
        keys = [(i, as_of, story.lookback_days) for i in ids.values()]
        program = ProgramSettings(rfm_cut=story.cut)
        async with database.sessions() as session:
            got = await customer_rfms(session, keys, program, stored_stats=story.stored_stats)
        async with database.sessions() as session:
            want = await ranked_customer_rfms(
                session, keys, program, stored_stats=story.stored_stats
            )
        assert got == want
        # A page: the same answers when only some customers are asked for.
        page = keys[: max(1, len(keys) // 3)]
        async with database.sessions() as session:
            some = await customer_rfms(session, page, program, stored_stats=story.stored_stats)
        assert some == {k: v for k, v in want.items() if k in page}
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, sqlite_template: SqliteTemplate, postgres_template: PostgresTemplate | None):  # noqa: ANN001, ANN201
    if request.param == "sqlite":
        yield sqlite_template.fresh
        return
    if postgres_template is None:
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")
    created: list[str] = []

    def fresh() -> str:
        name, url = asyncio.run(postgres_template.fresh())
        created.append(name)
        return url

    yield fresh
    for name in created:
        asyncio.run(postgres_template.drop(name))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=stories)
def test_scores_from_cuts_equal_ranking_the_population(fresh_url, story: Story) -> None:  # noqa: ANN001
    asyncio.run(play(fresh_url(), story))


@given(values=st.lists(st.integers(0, 6), min_size=1, max_size=60))
def test_score_from_cuts_is_the_counting_definition(values: list[int]) -> None:
    # The domain argument on plain integers: larger is better (F, M) and smaller is
    # better (R), against 1 + floor(5 × strictly worse / N), ties included.
    n = len(values)
    ranks = score_ranks(n)
    up = sorted(values)
    down = sorted(values, reverse=True)
    for v in values:
        larger = score_from_cuts(v, [up[t - 1] for t in ranks], larger_is_better=True)
        assert larger == score(sum(1 for x in values if x < v), n)
        smaller = score_from_cuts(v, [down[t - 1] for t in ranks], larger_is_better=False)
        assert smaller == score(sum(1 for x in values if x > v), n)
