"""Lifecycle stages and RFM classes as read models: one SQL statement each.

`classification_query(t, program)` gives one row per customer (erased customers
included; callers filter) with their order statistics as of t, their lifecycle stage
and, for the RFM population, their scores and class. The rules: docs/lifecycle-and-rfm.md, with
the decisions written down in domain/classification.py; the same rules in plain
Python live there too.

How the statement is built, and why:

- ``order_stats``: counted orders (not refunded in full) placed at or before t,
  per customer. Money is summed in cents (persistence/sql_arithmetic.py). The
  statistics each customer row keeps current in every order's transaction are this
  aggregate as of now, so they are read instead of the orders for every customer who
  has not bought since t (see `_stats`); this source is the only thing the fast path
  changes, every stage, score and class below is computed from it the same way.
- The lifecycle stage compares the first and last order instants with instants
  computed in Python (t − 7 days, …): a comparison of two stored instants is exact on
  both databases, where date arithmetic in SQL is not spelled the same.
- ``rfm_facts`` is ``order_stats`` again, or the same aggregate over the look-back
  window; its rows are the RFM population, with R in milliseconds.
- ``rfm_cuts`` is one row: each cut as an exact fraction (Σx over N for the mean;
  the two middle values over 2 for the median, found with ROW_NUMBER since SQLite
  has no percentile_cont). ``x < mean`` is then the integer test ``x × N < Σx``.
- ``rfm_scored`` ranks the population: RANK() − 1 over the order that puts worse
  customers first is the number of customers strictly worse, so ties share a rank
  and a score, whatever order the rows come in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.classification import (
    SCORE_LEVELS,
    CustomerRfm,
    LifecycleBounds,
    LifecycleStage,
    RfmClass,
    RfmClassTotals,
    RfmSummary,
    rfm_class,
    score_from_cuts,
    score_ranks,
)
from domain.program import ProgramSettings, RfmCut
from persistence.customers import CustomerRow
from persistence.metrics import analytical_read
from persistence.orders import OrderRow, counted
from persistence.program import load_program
from persistence.sql_arithmetic import MS_PER_DAY, cents, epoch_ms, instant_ms, money_of_cents

CENT = Decimal("0.01")


def counted_orders(as_of: datetime, *, lookback_days: int | None = None) -> ColumnElement[bool]:
    """The WHERE clause of a counted order as of `as_of` (the segment compiler uses it
    for order-item fields such as category_spent)."""
    clause = and_(counted(), OrderRow.placed_at <= as_of)
    if lookback_days is not None:
        clause = and_(clause, OrderRow.placed_at >= as_of - timedelta(days=lookback_days))
    return clause


def _order_stats(
    as_of: datetime,
    *,
    since: datetime | None = None,
    customer_ids: Sequence[int] | None = None,
    only: ColumnElement[bool] | None = None,  # an extra WHERE clause on orders
) -> Select[*tuple[Any, ...]]:
    """Counted orders at or before as_of (and at or after since), per customer."""
    conditions = [counted(), OrderRow.placed_at <= as_of]
    if since is not None:
        conditions.append(OrderRow.placed_at >= since)
    if customer_ids is not None:
        conditions.append(OrderRow.customer_id.in_(list(customer_ids)))
    if only is not None:
        conditions.append(only)
    return (
        select(
            OrderRow.customer_id.label("customer_id"),
            func.count().label("orders_count"),
            func.sum(cents(OrderRow.amount) - cents(OrderRow.refunded_amount)).label("net_cents"),
            func.min(OrderRow.placed_at).label("first_order_at"),
            func.max(OrderRow.placed_at).label("last_order_at"),
        )
        .where(*conditions)
        .group_by(OrderRow.customer_id)
    )


def _stats(
    as_of: datetime,
    *,
    customer_ids: Sequence[int] | None = None,
    stored: bool = True,
    name: str = "order_stats",
) -> CTE:
    """Every counted order at or before as_of, per customer (no look-back): the
    source every stage, score and class is computed from.

    With ``stored`` (the fast path), a customer whose stored ``last_order_at`` is at
    or before as_of has every counted order at or before as_of, so the statistics
    kept on the customer row in each order's transaction are exactly the aggregate;
    only the customers who bought after as_of have their orders aggregated. As of
    now that second part is empty (found with ix_customers_last_order_at) and no
    order is read. Both parts are one statement, so they see one snapshot.
    ``stored=False`` aggregates every order (the definition, kept for the tests)."""
    if not stored:
        return _order_stats(as_of, customer_ids=customer_ids).cte(name)
    up_to_date = select(
        CustomerRow.id.label("customer_id"),
        CustomerRow.orders_count.label("orders_count"),
        cents(CustomerRow.total_spent).label("net_cents"),
        CustomerRow.first_order_at.label("first_order_at"),
        CustomerRow.last_order_at.label("last_order_at"),
    ).where(CustomerRow.last_order_at <= as_of)
    if customer_ids is not None:
        up_to_date = up_to_date.where(CustomerRow.id.in_(list(customer_ids)))
    bought_since = select(CustomerRow.id).where(CustomerRow.last_order_at > as_of)
    recounted = _order_stats(
        as_of, customer_ids=customer_ids, only=OrderRow.customer_id.in_(bought_since)
    )
    return up_to_date.union_all(recounted).cte(name)


def _lifecycle(stats: CTE, as_of: datetime, program: ProgramSettings) -> ColumnElement[Any]:
    bounds = LifecycleBounds.of(as_of, program)
    first, last = stats.c.first_order_at, stats.c.last_order_at
    return case(
        (stats.c.customer_id.is_(None), LifecycleStage.PROSPECT.value),
        (first > bounds.new_after, LifecycleStage.NEW.value),
        (
            and_(first <= bounds.loyal_from, last >= bounds.active_from),
            LifecycleStage.LOYAL.value,
        ),
        (last >= bounds.active_from, LifecycleStage.ACTIVE.value),
        (last >= bounds.silent_from, LifecycleStage.SILENT.value),
        else_=LifecycleStage.CHURNED.value,
    )


def _days_since(instant: ColumnElement[Any], as_of: datetime) -> ColumnElement[Any]:
    """as_of − instant in days, a float, from the millisecond integers."""
    elapsed = literal(instant_ms(as_of), BigInteger) - epoch_ms(instant)
    return cast(elapsed, Float) / float(MS_PER_DAY)


def _cuts(population: CTE, method: RfmCut) -> CTE:
    """One row: N, and each cut as numerator / den. A mean is Σx / N; a median is the
    sum of the two middle values (the middle one twice when N is odd) over 2, found
    with ROW_NUMBER since SQLite has no percentile_cont. One pass over the population,
    so the planner has nothing to repeat per reference."""
    columns = ("r_ms", "f", "m")
    if method is RfmCut.MEAN:
        return (
            select(
                func.count().label("n"),
                func.count().label("den"),
                *(func.sum(population.c[c]).label(f"{c}_num") for c in columns),
            )
            .select_from(population)
            .cte("rfm_cuts")
        )
    ordered = select(
        *(population.c[c] for c in columns),
        *(func.row_number().over(order_by=population.c[c]).label(f"{c}_rn") for c in columns),
        func.count().over().label("n"),
    ).subquery("rfm_ordered")
    n = ordered.c.n

    def middle_sum(c: str) -> ColumnElement[Any]:
        rn, x = ordered.c[f"{c}_rn"], ordered.c[c]
        low = func.sum(case((rn == (n + 1) // 2, x), else_=0))
        high = func.sum(case((rn == n // 2 + 1, x), else_=0))
        return (low + high).label(f"{c}_num")

    return select(
        func.max(n).label("n"),
        literal(2, BigInteger).label("den"),
        *(middle_sum(c) for c in columns),
    ).cte("rfm_cuts")


def _rfm_population(
    as_of: datetime,
    lookback_days: int | None,
    stats: CTE,
    *,
    customer_ids: Sequence[int] | None = None,
) -> Select[*tuple[Any, ...]]:
    """The RFM population: customer_id, r_ms, f, m (restricted to customer_ids when
    given; the facts of those customers are the same as in the whole population)."""
    if lookback_days is None:
        facts = stats
    else:
        since = as_of - timedelta(days=lookback_days)
        facts = _order_stats(as_of, since=since, customer_ids=customer_ids).cte("rfm_window_stats")
    return select(
        facts.c.customer_id,
        (literal(instant_ms(as_of), BigInteger) - epoch_ms(facts.c.last_order_at)).label("r_ms"),
        facts.c.orders_count.label("f"),
        facts.c.net_cents.label("m"),
    )


def _rfm_ctes(
    as_of: datetime, program: ProgramSettings, lookback_days: int | None, stats: CTE
) -> tuple[CTE, CTE]:
    """(rfm_cuts, rfm_scored): the one-row cuts and the scored population."""
    population = _rfm_population(as_of, lookback_days, stats).cte("rfm_population")

    cuts = _cuts(population, program.rfm_cut)

    recent = population.c.r_ms * cuts.c.den < cuts.c.r_ms_num
    frequent = population.c.f * cuts.c.den > cuts.c.f_num
    high_value = population.c.m * cuts.c.den > cuts.c.m_num
    classes = case(
        *(
            (
                and_(
                    high_value if key[0] else ~high_value,
                    recent if key[1] else ~recent,
                    frequent if key[2] else ~frequent,
                ),
                rfm_class(high_value=key[0], recent=key[1], frequent=key[2]).value,
            )
            for key in _CLASS_KEYS
        )
    )

    def score(order_by: ColumnElement[Any]) -> ColumnElement[Any]:
        worse = func.rank().over(order_by=order_by) - 1
        return cast(1 + (SCORE_LEVELS * worse) // cuts.c.n, Integer)

    scored = (
        select(
            population.c.customer_id,
            population.c.r_ms,
            population.c.f,
            population.c.m,
            score(population.c.r_ms.desc()).label("r_score"),
            score(population.c.f.asc()).label("f_score"),
            score(population.c.m.asc()).label("m_score"),
            cast(classes, String).label("rfm_class"),
            cuts.c.n,
            cuts.c.den,
            cuts.c.r_ms_num,
            cuts.c.f_num,
            cuts.c.m_num,
        )
        .select_from(population)
        .join(cuts, true())
        .cte("rfm_scored")
    )
    return cuts, scored


_CLASS_KEYS = [(h, r, f) for h in (True, False) for r in (True, False) for f in (True, False)]


def lifecycle_query(
    as_of: datetime,
    program: ProgramSettings,
    *,
    customer_ids: Sequence[int] | None = None,
    stored_stats: bool = True,
) -> Select[*tuple[Any, ...]]:
    """classification_query without RFM: the columns up to `lifecycle`, cheaper since no
    population-wide ranking is needed (and restricted to customer_ids when given)."""
    stats = _stats(as_of, customer_ids=customer_ids, stored=stored_stats)
    statement = (
        select(*_profile_columns(stats, as_of, program))
        .select_from(CustomerRow.__table__.outerjoin(stats, stats.c.customer_id == CustomerRow.id))
        # A merged customer lives on as its survivor (docs/merging.md): no stage of its own.
        .where(CustomerRow.merged_into_id.is_(None))
    )
    if customer_ids is not None:
        statement = statement.where(CustomerRow.id.in_(list(customer_ids)))
    return statement


def _profile_columns(stats: CTE, as_of: datetime, program: ProgramSettings) -> list[Any]:
    return [
        CustomerRow.id.label("customer_id"),
        func.coalesce(stats.c.orders_count, 0).label("orders_count"),
        money_of_cents(func.coalesce(stats.c.net_cents, 0)).label("net_spent"),
        stats.c.first_order_at,
        stats.c.last_order_at,
        _days_since(stats.c.last_order_at, as_of).label("recency_days"),
        cast(_lifecycle(stats, as_of, program), String).label("lifecycle"),
    ]


def classification_query(
    as_of: datetime,
    program: ProgramSettings,
    *,
    lookback_days: int | None = None,
    customer_ids: Sequence[int] | None = None,
    stored_stats: bool = True,
) -> Select[*tuple[Any, ...]]:
    """One row per customer: statistics as of `as_of`, lifecycle stage, RFM.

    Columns: customer_id, orders_count, net_spent, first_order_at, last_order_at,
    recency_days, lifecycle (all over every counted order ≤ as_of); r_score, f_score,
    m_score, rfm_class, rfm_frequency, rfm_monetary (null outside the RFM population;
    F and M over the look-back window when one is given). `customer_ids` keeps only
    those rows; the RFM population is still everyone. `stored_stats=False` aggregates
    every order instead of reading the customers' stored statistics (see `_stats`).
    """
    stats = _stats(as_of, stored=stored_stats)
    _, scored = _rfm_ctes(as_of, program, lookback_days, stats)
    statement = select(
        *_profile_columns(stats, as_of, program),
        scored.c.r_score,
        scored.c.f_score,
        scored.c.m_score,
        scored.c.rfm_class,
        scored.c.f.label("rfm_frequency"),
        money_of_cents(scored.c.m).label("rfm_monetary"),
    ).select_from(
        CustomerRow.__table__.outerjoin(stats, stats.c.customer_id == CustomerRow.id).outerjoin(
            scored, scored.c.customer_id == CustomerRow.id
        )
    )
    if customer_ids is not None:
        statement = statement.where(CustomerRow.id.in_(list(customer_ids)))
    return statement


# ---- reads for the API -------------------------------------------------------------

LifecycleKey = tuple[int, datetime]
RfmKey = tuple[int, datetime, int | None]


async def lifecycle_stages(
    session: AsyncSession,
    keys: Sequence[LifecycleKey],
    defaults: ProgramSettings,
    *,
    stored_stats: bool = True,
) -> dict[LifecycleKey, LifecycleStage]:
    """DataLoader fetch: (customer id, as of) -> stage; one statement per as-of."""
    program = await load_program(session, defaults)
    by_as_of: dict[datetime, list[int]] = defaultdict(list)
    for customer_id, as_of in keys:
        by_as_of[as_of].append(customer_id)
    found = {}
    for as_of, ids in by_as_of.items():
        query = lifecycle_query(
            as_of, program, customer_ids=ids, stored_stats=stored_stats
        ).subquery()
        rows = await session.execute(select(query.c.customer_id, query.c.lifecycle))
        for customer_id, stage in rows:
            found[(customer_id, as_of)] = LifecycleStage(stage)
    return found


# (column, worst first): R is worse when larger, F and M when smaller.
_SCORED = (("r_ms", True), ("f", False), ("m", False))


@dataclass(frozen=True)
class _PopulationCuts:
    n: int
    den: int
    numerators: dict[str, int]  # the class cut of each column, over den
    score_cuts: dict[str, list[int]]  # the values at score_ranks(n), worst first


async def _population_cuts(
    session: AsyncSession, population: CTE, method: RfmCut
) -> _PopulationCuts | None:
    """In one statement: N, the class cuts (mean or median, as exact fractions), and
    for each of R, F and M the values at the four positions `score_ranks(N)` of the
    population sorted worst first. One ROW_NUMBER per column; no per-customer rank
    is kept and the population is never joined back."""
    cuts = _cuts(population, method)
    n = cuts.c.n
    # T_k = ceil(k·N/5), k = 1..4, in integer arithmetic (domain `score_ranks`).
    positions = select(
        *(
            ((k * n + (SCORE_LEVELS - 1)) // SCORE_LEVELS).label(f"t{k}")
            for k in range(1, SCORE_LEVELS)
        )
    ).cte("rfm_positions")
    selected = []
    for name, larger_is_worse in _SCORED:
        value = population.c[name]
        ordered = (
            select(
                value.label("value"),
                func.row_number()
                .over(order_by=value.desc() if larger_is_worse else value.asc())
                .label("rn"),
            )
            .select_from(population)
            .subquery(f"rfm_{name}_ordered")
        )
        rn = ordered.c.rn
        at_a_cut = rn.in_([positions.c[f"t{k}"] for k in range(1, SCORE_LEVELS)])
        selected.append(
            select(
                literal(name).label("measure"),
                rn,
                ordered.c.value,
                *(literal(None, BigInteger).label(f"unused_{i}") for i in range(3)),
            )
            .select_from(ordered.join(positions, true()))
            .where(at_a_cut)
        )
    header = select(
        literal("cuts").label("measure"),
        cuts.c.n.label("rn"),
        cuts.c.den.label("value"),
        cuts.c.r_ms_num,
        cuts.c.f_num,
        cuts.c.m_num,
    ).where(cuts.c.n > 0)
    statement = union_all(header, *selected)
    rows = (await session.execute(statement)).all()
    head = next((r for r in rows if r[0] == "cuts"), None)
    if head is None:
        return None
    size = int(head[1])
    at_rank: dict[str, dict[int, int]] = {name: {} for name, _ in _SCORED}
    for row in rows:
        if row[0] != "cuts":
            at_rank[row[0]][int(row[1])] = int(row[2])
    ranks = score_ranks(size)
    return _PopulationCuts(
        n=size,
        den=int(head[2]),
        numerators={"r_ms": int(head[3]), "f": int(head[4]), "m": int(head[5])},
        score_cuts={name: [at_rank[name][t] for t in ranks] for name, _ in _SCORED},
    )


async def customer_rfms(
    session: AsyncSession,
    keys: Sequence[RfmKey],
    defaults: ProgramSettings,
    *,
    stored_stats: bool = True,
) -> dict[RfmKey, CustomerRfm]:
    """DataLoader fetch: (customer id, as of, look-back) -> RFM, absent outside the
    population; two statements per distinct (as of, look-back).

    A score counts the customers strictly worse, so it depends on the whole
    population; but only through four values per measure (domain
    `score_ranks`/`score_from_cuts`: the same scores, ties included). So the
    population is sorted once per measure to read those values and the class cuts
    (`_population_cuts`), and only the requested customers' facts are read; no
    ranking of the population is joined back to them. Exactly equal to ranking the
    population (tests/service/test_rfm_cuts_random.py)."""
    await analytical_read(session)
    program = await load_program(session, defaults)
    groups: dict[tuple[datetime, int | None], list[int]] = defaultdict(list)
    for customer_id, as_of, lookback in keys:
        groups[(as_of, lookback)].append(customer_id)
    found = {}
    for (as_of, lookback), ids in groups.items():
        stats = _stats(as_of, stored=stored_stats)
        population = _rfm_population(as_of, lookback, stats).cte("rfm_population")
        cuts = await _population_cuts(session, population, program.rfm_cut)
        if cuts is None:
            continue
        mine = _rfm_population(
            as_of,
            lookback,
            _stats(as_of, customer_ids=ids, stored=stored_stats),
            customer_ids=ids,
        ).subquery("mine")
        rows = await session.execute(
            select(mine.c.customer_id, mine.c.r_ms, mine.c.f, mine.c.m).where(
                mine.c.customer_id.in_(list(ids))
            )
        )
        den = cuts.den
        for customer_id, r_ms, f, m in rows:
            r_ms, f, m = int(r_ms), int(f), int(m)
            found[(customer_id, as_of, lookback)] = CustomerRfm(
                recency_days=r_ms / MS_PER_DAY,
                frequency=f,
                monetary=_money(Decimal(m)),
                currency=program.currency,
                r_score=score_from_cuts(r_ms, cuts.score_cuts["r_ms"], larger_is_better=False),
                f_score=score_from_cuts(f, cuts.score_cuts["f"], larger_is_better=True),
                m_score=score_from_cuts(m, cuts.score_cuts["m"], larger_is_better=True),
                rfm_class=rfm_class(
                    recent=r_ms * den < cuts.numerators["r_ms"],
                    frequent=f * den > cuts.numerators["f"],
                    high_value=m * den > cuts.numerators["m"],
                ),
            )
    return found


async def lifecycle_summary(
    session: AsyncSession, as_of: datetime, defaults: ProgramSettings, *, stored_stats: bool = True
) -> dict[LifecycleStage, int]:
    """Customers per stage, every stage present (zero when empty)."""
    await analytical_read(session)
    program = await load_program(session, defaults)
    query = lifecycle_query(as_of, program, stored_stats=stored_stats).subquery()
    rows = await session.execute(
        select(query.c.lifecycle, func.count()).group_by(query.c.lifecycle)
    )
    counts = dict.fromkeys(LifecycleStage, 0)
    for stage, count in rows:
        counts[LifecycleStage(stage)] = count
    return counts


@dataclass(frozen=True)
class _ClassSums:
    count: int
    r_ms: int
    f: int
    m_cents: int


async def rfm_summary(
    session: AsyncSession,
    as_of: datetime,
    lookback_days: int | None,
    defaults: ProgramSettings,
    *,
    stored_stats: bool = True,
) -> RfmSummary:
    """Per class: customers, revenue (Σ M), mean R/F/M; plus the cuts and N.

    Sums come from the database as exact integers; the divisions happen here."""
    await analytical_read(session)
    program = await load_program(session, defaults)
    stats = _stats(as_of, stored=stored_stats)
    _, scored = _rfm_ctes(as_of, program, lookback_days, stats)
    rows = (
        await session.execute(
            select(
                scored.c.rfm_class,
                func.count().label("count"),
                func.sum(scored.c.r_ms).label("r_ms"),
                func.sum(scored.c.f).label("f"),
                func.sum(scored.c.m).label("m"),
                func.max(scored.c.n).label("n"),
                func.max(scored.c.den).label("den"),
                func.max(scored.c.r_ms_num).label("r_num"),
                func.max(scored.c.f_num).label("f_num"),
                func.max(scored.c.m_num).label("m_num"),
            ).group_by(scored.c.rfm_class)
        )
    ).all()
    sums = {
        RfmClass(r.rfm_class): _ClassSums(int(r._mapping["count"]), int(r.r_ms), int(r.f), int(r.m))
        for r in rows
    }
    classes = {}
    for cls in RfmClass:
        s = sums.get(cls)
        if s is None:
            classes[cls] = RfmClassTotals(0, Decimal("0.00"), None, None, None)
            continue
        classes[cls] = RfmClassTotals(
            count=s.count,
            revenue=_money(Decimal(s.m_cents)),
            mean_recency_days=s.r_ms / (s.count * MS_PER_DAY),
            mean_frequency=s.f / s.count,
            mean_monetary=_money(Decimal(s.m_cents) / s.count),
        )
    if not rows:
        return RfmSummary(program.rfm_cut, program.currency, 0, None, None, None, classes)
    first = rows[0]
    den = int(first.den)
    return RfmSummary(
        cut=program.rfm_cut,
        currency=program.currency,
        population=int(first.n),
        recency_cut_days=int(first.r_num) / (den * MS_PER_DAY),
        frequency_cut=int(first.f_num) / den,
        monetary_cut=_money(Decimal(int(first.m_num)) / den),
        classes=classes,
    )


def _money(value_in_cents: Decimal) -> Decimal:
    return (value_in_cents / 100).quantize(CENT, rounding=ROUND_HALF_EVEN)
