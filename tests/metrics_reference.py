"""The order figures of the metrics as they were computed before the monthly read
model: one full aggregate over every counted order of each period (the statement
persistence/metrics.py ran until then, kept verbatim here as the tests' reference).
tests/service/test_order_months_random.py proves the read-model path returns
exactly these figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CTE, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.metrics import Period
from persistence.metrics import (
    _last_order_before,
    _pairs_cte,
    epoch_seconds,
    net_cents,
    orders,
    windows_cte,
)
from persistence.orders import counted


def _order_statement(windows: CTE, pairs: CTE, reported: Sequence[int]) -> Select[*tuple[Any, ...]]:
    """Per period and customer: orders, cents, first and last order in the period,
    and the last counted order before it (only for reported periods; a period used
    only as some period's "previous" needs just its buyers).

    Consecutive gaps telescope: a customer's gaps whose later order is in the period
    sum to last − first, plus first − before when there was an order before. So
    one probe per buyer replaces one per order, and no window function is needed.
    """
    o = orders.alias("o")
    per_customer = (
        select(
            windows.c.wid,
            windows.c.start_at,
            o.c.customer_id,
            func.count().label("n"),
            func.sum(net_cents(o)).label("cents"),
            func.min(o.c.placed_at).label("first_at"),
            func.max(o.c.placed_at).label("last_at"),
        )
        .select_from(
            windows.join(
                o, and_(o.c.placed_at >= windows.c.start_at, o.c.placed_at < windows.c.end_at)
            )
        )
        .where(counted(o))
        .group_by(windows.c.wid, windows.c.start_at, o.c.customer_id)
        .subquery("per_customer")
    )
    pc = per_customer
    buyers = (
        select(
            pc.c.wid,
            pc.c.customer_id,
            pc.c.n,
            pc.c.cents,
            pc.c.first_at,
            pc.c.last_at,
            case(
                (pc.c.wid.in_(list(reported)), _last_order_before(pc.c.customer_id, pc.c.start_at))
            ).label("before_at"),
        )
        .cte("buyers")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    b = buyers
    since = func.coalesce(b.c.before_at, b.c.first_at)
    per_window = (
        select(
            b.c.wid,
            func.count().label("buyers"),
            func.sum(b.c.n).label("orders"),
            func.sum(b.c.cents).label("cents"),
            func.sum(case((b.c.n >= 2, 1), else_=0)).label("repeat_customers"),
            func.sum(case((b.c.n >= 2, b.c.n - 1), else_=0)).label("repeat_orders"),
            func.count(b.c.before_at).label("came_back"),
            (func.sum(b.c.n - 1) + func.count(b.c.before_at)).label("pairs"),
            func.sum(epoch_seconds(b.c.last_at) - epoch_seconds(since)).label("seconds"),
        )
        .group_by(b.c.wid)
        .subquery("per_window")
    )
    earlier = buyers.alias("earlier")
    later = buyers.alias("later")
    retention = (
        select(
            pairs.c.wid,
            func.count(earlier.c.customer_id).label("previous_buyers"),
            func.count(later.c.customer_id).label("retained"),
        )
        .select_from(
            pairs.join(earlier, earlier.c.wid == pairs.c.prev_wid).outerjoin(
                later,
                and_(later.c.wid == pairs.c.wid, later.c.customer_id == earlier.c.customer_id),
            )
        )
        .group_by(pairs.c.wid)
        .subquery("retention")
    )
    return select(
        windows.c.wid,
        per_window.c.buyers,
        per_window.c.orders,
        per_window.c.cents,
        per_window.c.repeat_customers,
        per_window.c.repeat_orders,
        per_window.c.came_back,
        per_window.c.pairs,
        per_window.c.seconds,
        retention.c.previous_buyers,
        retention.c.retained,
    ).select_from(
        windows.outerjoin(per_window, per_window.c.wid == windows.c.wid).outerjoin(
            retention, retention.c.wid == windows.c.wid
        )
    )


async def reference_order_figures(
    session: AsyncSession, periods: Sequence[Period], previous: Sequence[Period]
) -> list[dict[str, Any]]:
    """Per period: the raw order figures (the PeriodTotals fields they fill)."""
    distinct: dict[Period, int] = {}
    for p in [*periods, *previous]:
        distinct.setdefault(p, len(distinct))
    windows = windows_cte(list(distinct))
    pairs = _pairs_cte([(distinct[p], distinct[q]) for p, q in zip(periods, previous, strict=True)])
    statement = _order_statement(windows, pairs, [distinct[p] for p in periods])
    by_wid = {
        row.wid: {
            "buyers": int(row.buyers or 0),
            "orders": int(row.orders or 0),
            "revenue_cents": int(row.cents or 0),
            "repeat_customers": int(row.repeat_customers or 0),
            "repeat_orders": int(row.repeat_orders or 0),
            "returning_customers": int(row.came_back or 0),
            "repurchase_pairs": int(row.pairs or 0),
            "repurchase_seconds": float(row.seconds or 0),
            "previous_buyers": int(row.previous_buyers or 0),
            "retained_customers": int(row.retained or 0),
        }
        for row in await session.execute(statement)
    }
    return [by_wid[distinct[p]] for p in periods]
