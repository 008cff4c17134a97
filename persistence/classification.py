"""Lifecycle stage and RFM of every customer as of an instant, as one SELECT.

`classification_query(as_of, program)` is the read model other reads join to
(segments today; lifecycle and RFM summaries elsewhere). It returns one row per
customer — customers with no counted order included, as PROSPECT with no RFM — with
the columns

    customer_id, orders_count, net_spent, first_order_at, last_order_at, recency_days,
    lifecycle, r_score, f_score, m_score, rfm_class

Definitions (DOMAIN.md): an order counts when it was placed at or before `as_of` and
is not refunded in full (refunded_amount < amount); its net amount is amount −
refunded_amount (refunds are taken as they stand now: a refund row has no effective
date of its own to filter on).

Lifecycle thresholds are compared as instants (``t − last ≤ 30 days`` is
``last ≥ t − 30 days``), which is exact on both databases and needs no date
arithmetic in SQL.

RFM uses the mean cut, written without division so that a tie at the mean stays a
tie: recent iff ``N·epoch(last) > Σ epoch(last)`` (R < mean R), frequent iff
``N·F > Σ F``, high-value iff ``N·M > Σ M``. The 1–5 scores are
``1 + floor(5 × rank_worse / N)`` where ``rank() − 1`` over the "worse first"
ordering counts exactly the customers strictly worse, so ties share a score.
`lookback_days` restricts every column to orders placed in the last that many days.

Shape: buyers (one grouped derived table over orders, with the RFM windows computed
over the grouped rows) UNION ALL prospects (customers with NOT EXISTS a counted
order). A customers LEFT JOIN order_stats shape was measured at 7 s for 20k
customers / 100k orders on SQLite (it scans the derived table once per customer);
this one takes about 0.5 s there and 0.2 s on PostgreSQL.
(The `rfm_cut = MEDIAN` setting is not honoured by this query; the mean is always
used.)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    select,
    union_all,
)

from domain.program import ProgramSettings
from persistence.customers import CustomerRow
from persistence.orders import OrderRow
from persistence.types import UtcDateTime

MONEY = Numeric(18, 2)

RFM_CLASS_BY_FLAGS = {
    (1, 1, 1): "IMPORTANT_VALUE",
    (1, 0, 1): "IMPORTANT_DEVELOP",
    (0, 1, 1): "IMPORTANT_RETAIN",
    (0, 0, 1): "IMPORTANT_WINBACK",
    (1, 1, 0): "GENERAL_VALUE",
    (1, 0, 0): "GENERAL_DEVELOP",
    (0, 1, 0): "GENERAL_RETAIN",
    (0, 0, 0): "GENERAL_WINBACK",
}


def _instant(value: datetime):  # noqa: ANN202
    return literal(value, UtcDateTime())


def counted_orders(as_of: datetime, *, lookback_days: int | None = None):  # noqa: ANN201
    """The WHERE clause of a counted order as of `as_of`."""
    clause = and_(OrderRow.placed_at <= _instant(as_of), OrderRow.refunded_amount < OrderRow.amount)
    if lookback_days is not None:
        clause = and_(clause, OrderRow.placed_at > _instant(as_of - timedelta(days=lookback_days)))
    return clause


def classification_query(
    as_of: datetime, program: ProgramSettings, *, lookback_days: int | None = None
) -> Select:
    # Window functions over the grouped rows: the RFM population is the buyers, and
    # computing it in the same derived table keeps the query one join deep (SQLite
    # scans a second derived table once per customer instead of joining it).
    placed_last = func.max(OrderRow.placed_at)
    orders_count = func.count()
    net_spent = func.sum(OrderRow.amount - OrderRow.refunded_amount, type_=MONEY)
    population = func.count().over()
    last_epoch = extract("epoch", placed_last)

    def score(worse_first) -> object:  # noqa: ANN001
        worse = func.rank().over(order_by=worse_first) - 1
        return 1 + (5 * worse) // population

    def flag(above) -> object:  # noqa: ANN001
        return case((above, 1), else_=0)

    stats = (
        select(
            OrderRow.customer_id.label("customer_id"),
            orders_count.label("orders_count"),
            net_spent.label("net_spent"),
            func.min(OrderRow.placed_at).label("first_order_at"),
            placed_last.label("last_order_at"),
            score(placed_last.asc()).label("r_score"),
            score(orders_count.asc()).label("f_score"),
            score(net_spent.asc()).label("m_score"),
            flag(last_epoch * population > func.sum(last_epoch).over()).label("recent"),
            flag(orders_count * population > func.sum(orders_count).over()).label("frequent"),
            flag(net_spent * population > func.sum(net_spent).over()).label("high_value"),
        )
        .where(counted_orders(as_of, lookback_days=lookback_days))
        .group_by(OrderRow.customer_id)
        .subquery("order_stats")
    )
    last_epoch = extract("epoch", stats.c.last_order_at)
    rfm = stats

    def before(days: int):  # noqa: ANN202
        return _instant(as_of - timedelta(days=days))

    first, last = stats.c.first_order_at, stats.c.last_order_at
    lifecycle = case(
        (first > before(program.lifecycle_new_days), "NEW"),
        (
            and_(
                first <= before(program.lifecycle_loyal_days),
                last >= before(program.lifecycle_active_days),
            ),
            "LOYAL",
        ),
        (last >= before(program.lifecycle_active_days), "ACTIVE"),
        (last >= before(program.lifecycle_silent_days), "SILENT"),
        else_="CHURNED",
    )
    rfm_class = case(
        *(
            (
                and_(rfm.c.recent == r, rfm.c.frequent == f, rfm.c.high_value == m),
                name,
            )
            for (r, f, m), name in RFM_CLASS_BY_FLAGS.items()
        ),
        else_=None,
    )
    recency_days = (literal(as_of.timestamp()) - last_epoch) / 86400.0

    buyers = select(
        stats.c.customer_id,
        stats.c.orders_count,
        stats.c.net_spent,
        first.label("first_order_at"),
        last.label("last_order_at"),
        recency_days.label("recency_days"),
        lifecycle.label("lifecycle"),
        rfm.c.r_score,
        rfm.c.f_score,
        rfm.c.m_score,
        rfm_class.label("rfm_class"),
    )
    # Customers without a counted order: PROSPECT. A NOT EXISTS on the orders index
    # rather than customers LEFT JOIN order_stats, which SQLite plans as a scan of
    # the derived table per customer.
    no_score = literal(None, Integer())
    prospects = select(
        CustomerRow.id.label("customer_id"),
        literal(0, Integer()).label("orders_count"),
        literal(Decimal(0), MONEY).label("net_spent"),
        literal(None, UtcDateTime()).label("first_order_at"),
        literal(None, UtcDateTime()).label("last_order_at"),
        literal(None, Float()).label("recency_days"),
        literal("PROSPECT", String()).label("lifecycle"),
        no_score.label("r_score"),
        no_score.label("f_score"),
        no_score.label("m_score"),
        literal(None, String()).label("rfm_class"),
    ).where(
        ~exists().where(
            OrderRow.customer_id == CustomerRow.id,
            counted_orders(as_of, lookback_days=lookback_days),
        )
    )
    everyone = union_all(buyers, prospects).subquery("classified")
    return select(*everyone.c)
