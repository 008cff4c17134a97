"""Retention metrics, aggregated in the database.

One code path for SQLite and PostgreSQL: the periods to measure (a period, the one
it is compared with, their previous periods, or every bucket of a series) are
computed in Python as UTC instants (domain/metrics.py cuts local calendar buckets,
correct across DST) and sent as a `VALUES` list; orders, ledger entries and
feedback are joined to it by range. So the number of statements does not grow with
the number of buckets, and no row is ever loaded into Python — only one row of
figures per period.

Statements per call: orders (buyers, orders, revenue, repeat, returning, intervals,
retention), ledger (points per kind), liability (points before each period end),
feedback (NPS, CSAT), referrals (recorded in the period, and of those the ones
QUALIFIED now). The API reads through persistence/metric_dimensions.py, which adds
the campaign figures (two statements) and runs the same aggregates over a
sub-population or per value of a dimension.

Exactness: money is summed as integer cents (SQLite stores NUMERIC as a float, so
each amount is rounded to its cent before summing; on PostgreSQL it is exact
anyway); counts are integers; only the repurchase interval is a float sum of
seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    BigInteger,
    CompoundSelect,
    Float,
    FromClause,
    Index,
    Integer,
    ScalarSelect,
    Select,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from domain.metrics import (
    Period,
    PeriodTotals,
    local_month,
    local_year,
    whole_months,
)
from domain.referrals import ReferralStatus
from persistence.base import table_of
from persistence.feedback import FeedbackRow
from persistence.orders import (
    MONTH_ZONE_ROW_ID,
    CustomerMonthRow,
    CustomerMonthZoneRow,
    OrderRow,
    counted,
)
from persistence.points import LedgerEntryRow
from persistence.referrals import ReferralRow
from persistence.statements import is_postgresql
from persistence.types import UtcDateTime

orders = OrderRow.__table__
ledger = LedgerEntryRow.__table__
feedback = FeedbackRow.__table__
referrals = ReferralRow.__table__

# Indexes the figures in bench/metrics.py call for (created in migration 0006).
# Period scans read every counted order of the period: with these columns in the
# index neither database visits the table.
Index(
    "ix_orders_placed_at_metrics",
    orders.c.placed_at,
    orders.c.customer_id,
    orders.c.amount,
    orders.c.refunded_amount,
)
# "The customer's last counted order before t" is one backward step in
# ix_orders_customer_id_placed_at_amounts (persistence/orders.py).
# Points per kind in a period, and the liability (Σ points before an instant).
Index(
    "ix_ledger_entries_created_at_kind_points", ledger.c.created_at, ledger.c.kind, ledger.c.points
)

ISSUED_KINDS = ("EARN", "BONUS")
REDEEM_KINDS = ("REDEEM", "REDEEM_CANCEL")
DEDUCTED_KINDS = ("REVERSE",)
BEGINNING = datetime(1, 1, 2, tzinfo=UTC)
# PostgreSQL's default work_mem (4 MB) makes the per-customer aggregate of a year
# spill to disk; bench/metrics.py measured the one-year figure halve with 64 MB.
# JIT off: the per-buyer probe makes the planner's cost estimate huge, so PostgreSQL
# JIT-compiles and optimises the statement; bench/metrics.py measured ~0.8 s of the
# series' time spent compiling (the statement itself is index probes and a hash
# aggregate, which JIT does not speed up).
# SET LOCAL: only for the read's own transaction.
ANALYTICS_WORK_MEM = "64MB"


async def analytical_read(session: AsyncSession) -> None:
    """Gives this read transaction the memory a large aggregate needs (PostgreSQL; JIT
    is off on every connection the app opens: persistence/database.py)."""
    if not is_postgresql(session):
        return
    if not session.in_transaction():
        # A read session runs in autocommit (persistence/database.py), where SET LOCAL
        # does nothing: this read takes a transaction of its own instead.
        await session.connection(execution_options={"isolation_level": "READ COMMITTED"})
    options = (await session.connection()).sync_connection
    if options is not None and options.get_execution_options().get("isolation_level") == (
        "AUTOCOMMIT"
    ):
        return  # already reading in autocommit: the default settings (slower, same rows)
    await session.execute(text(f"SET LOCAL work_mem = '{ANALYTICS_WORK_MEM}'"))


class epoch_seconds(FunctionElement[float]):  # noqa: N801 - a SQL function, named like one
    """Seconds since 1970 of a stored instant, as a number, on either database."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def net_cents(table: FromClause) -> ColumnElement[int]:
    return cast(func.round((table.c.amount - table.c.refunded_amount) * 100), BigInteger)


def windows_cte(periods: Sequence[Period], name: str = "w") -> CTE:
    rows = [(i, p.start, p.end) for i, p in enumerate(periods)]
    return (
        values(
            column("wid", Integer),
            column("start_at", UtcDateTime),
            column("end_at", UtcDateTime),
            name=name,
        )
        .data(rows)
        .cte(name)
    )


def _pairs_cte(pairs: Sequence[tuple[int, int]]) -> CTE:
    return (
        values(column("wid", Integer), column("prev_wid", Integer), name="pairs")
        .data(list(pairs))
        .cte("pairs")
    )


def _last_order_before(
    customer_id: ColumnElement[Any],
    instant: ColumnElement[Any],
    channel: ColumnElement[Any] | None = None,
) -> ScalarSelect[Any]:
    """When the customer placed their last counted order before `instant` (of that
    order `channel` only, when given): one backward step in
    ix_orders_customer_id_placed_at_amounts."""
    p = orders.alias("p")
    conditions = [p.c.customer_id == customer_id, p.c.placed_at < instant, counted(p)]
    if channel is not None:
        conditions.append(p.c.channel.is_not_distinct_from(channel))
    return select(func.max(p.c.placed_at)).where(*conditions).scalar_subquery()


def order_windows_cte(periods: Sequence[Period], zone: ZoneInfo) -> CTE:
    """The periods with their whole local months [a_at, b_at) (domain `whole_months`),
    which are read from the monthly read model; [start_at, a_at) and [b_at, end_at)
    are read from the orders. When the read model is cut in another zone than
    `zone` (checked in the statement itself, so in its snapshot) or no whole month
    fits, a_at = b_at = end_at: the whole period comes from the orders."""
    rows = []
    for i, p in enumerate(periods):
        inner = whole_months(p, zone)
        a, b = (inner.start, inner.end) if inner is not None else (p.end, p.end)
        # One read-model row per customer covers exactly this period: a local month
        # (months = 1) or a local calendar year (months = 12); 0 otherwise.
        single = (
            1 if local_month(p.start, zone) == p else 12 if local_year(p.start, zone) == p else 0
        )
        rows.append((i, p.start, p.end, a, b, single))
    given = (
        values(
            column("wid", Integer),
            column("start_at", UtcDateTime),
            column("end_at", UtcDateTime),
            column("a_at", UtcDateTime),
            column("b_at", UtcDateTime),
            column("single", Integer),
            name="w_given",
        )
        .data(rows)
        .cte("w_given")
    )
    zones = table_of(CustomerMonthZoneRow)
    same_zone = exists().where(
        zones.c.id == MONTH_ZONE_ROW_ID, zones.c.timezone == literal(zone.key)
    )
    return select(
        given.c.wid,
        given.c.start_at,
        given.c.end_at,
        case((same_zone, given.c.a_at), else_=given.c.end_at).label("a_at"),
        case((same_zone, given.c.b_at), else_=given.c.end_at).label("b_at"),
        case((same_zone, given.c.single), else_=0).label("single"),
    ).cte("w")


def _per_customer(windows: CTE) -> CompoundSelect[*tuple[Any, ...]]:
    """Per period and customer: counted orders, net cents, first and last order in
    the period, and (from the read model) the last order before its whole months.
    Whole months come from customer_order_months (one row per customer and month),
    the partial months at either edge from the orders. Grouped by two integers
    only; `in_head`/`in_months` say where the customer's first order of the period
    is (the head edge comes before the whole months, which come before the tail)."""
    w = windows
    o = orders.alias("o")

    def from_orders(low: ColumnElement[Any], high: ColumnElement[Any], head: int) -> Select[Any]:
        return (
            select(
                w.c.wid,
                o.c.customer_id,
                func.count().label("n"),
                func.sum(net_cents(o)).label("cents"),
                func.min(o.c.placed_at).label("first_at"),
                func.max(o.c.placed_at).label("last_at"),
                cast(null(), UtcDateTime).label("prev_at"),
                literal(head).label("in_head"),
                literal(0).label("in_months"),
            )
            .select_from(w.join(o, and_(o.c.placed_at >= low, o.c.placed_at < high)))
            .where(counted(o), w.c.single == 0)
            .group_by(w.c.wid, o.c.customer_id)
        )

    m = table_of(CustomerMonthRow).alias("m")
    from_months = (
        select(
            w.c.wid,
            m.c.customer_id,
            m.c.orders_count,
            m.c.net_cents,
            m.c.first_at,
            m.c.last_at,
            # Only the customer's earliest whole month in the period has its prev_at
            # before the whole months (a later month's is an order in the period).
            case((m.c.prev_at < w.c.a_at, m.c.prev_at)).label("prev_at"),
            literal(0).label("in_head"),
            literal(1).label("in_months"),
        )
        .select_from(
            # a_at and b_at are month boundaries: month_start < b_at means the month
            # ends by b_at. Both bounds on month_start make it one index range.
            w.join(
                m,
                and_(m.c.months == 1, m.c.month_start >= w.c.a_at, m.c.month_start < w.c.b_at),
            )
        )
        .where(w.c.single == 0)
    )
    parts = union_all(
        from_orders(w.c.start_at, w.c.a_at, 1),
        from_months,
        from_orders(w.c.b_at, w.c.end_at, 0),
    ).subquery("parts")
    grouped = select(
        parts.c.wid,
        parts.c.customer_id,
        func.sum(parts.c.n).label("n"),
        func.sum(parts.c.cents).label("cents"),
        func.min(parts.c.first_at).label("first_at"),
        func.max(parts.c.last_at).label("last_at"),
        func.max(parts.c.prev_at).label("months_prev_at"),
        func.max(parts.c.in_head).label("in_head"),
        func.max(parts.c.in_months).label("in_months"),
    ).group_by(parts.c.wid, parts.c.customer_id)
    # A period that is exactly one local month or year has one row per customer.
    single = w.alias("single_w")
    one_month = select(
        single.c.wid,
        m.c.customer_id,
        m.c.orders_count.label("n"),
        m.c.net_cents.label("cents"),
        m.c.first_at,
        m.c.last_at,
        m.c.prev_at.label("months_prev_at"),
        literal(0).label("in_head"),
        literal(1).label("in_months"),
    ).select_from(
        single.join(m, and_(m.c.months == single.c.single, m.c.month_start == single.c.a_at))
    )
    return union_all(grouped, one_month)


def _order_statement(
    windows: CTE,
    pairs: CTE,
    reported: Sequence[int],
    per_customer: CompoundSelect[Any] | Select[Any] | None = None,
    by_channel: bool = False,
) -> Select[*tuple[Any, ...]]:
    """Per period and customer: orders, cents, first and last order in the period,
    and the last counted order before it (only for reported periods; a period used
    only as some period's "previous" needs just its buyers).

    `per_customer` replaces the read-model rows for a sub-population
    (persistence/metric_dimensions.py); with `by_channel` the order before the
    period is looked for among the orders of the window's `channel` only.

    Consecutive gaps telescope: a customer's gaps whose later order is in the period
    sum to last − first, plus first − before when there was an order before. So
    one probe per buyer replaces one per order, and no window function is needed.
    A buyer whose first order in the period falls in its whole months needs no probe
    at all: the read model's prev_at of that month is the order before the period.
    """
    rows = per_customer if per_customer is not None else _per_customer(windows)
    pc = rows.subquery("per_customer")
    in_months = and_(pc.c.in_head == 0, pc.c.in_months == 1)
    start_at = (
        select(windows.c.start_at)
        .where(windows.c.wid == pc.c.wid)
        .correlate_except(windows)
        .scalar_subquery()
    )
    channel = None
    if by_channel:
        channel = (
            select(windows.c.channel)
            .where(windows.c.wid == pc.c.wid)
            .correlate_except(windows)
            .scalar_subquery()
        )
    buyers = (
        select(
            pc.c.wid,
            pc.c.customer_id,
            pc.c.n,
            pc.c.cents,
            pc.c.first_at,
            pc.c.last_at,
            case(
                (in_months, pc.c.months_prev_at),
                (
                    pc.c.wid.in_(list(reported)),
                    _last_order_before(pc.c.customer_id, start_at, channel),
                ),
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


async def _order_figures(
    session: AsyncSession,
    windows: CTE,
    pairs: CTE,
    reported: Sequence[int],
    per_customer: CompoundSelect[Any] | Select[Any] | None = None,
    by_channel: bool = False,
) -> dict[int, dict[str, Any]]:
    statement = _order_statement(windows, pairs, reported, per_customer, by_channel)
    result = await session.execute(statement)
    return {
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
        for row in result
    }


def members_only(
    windows: CTE, members: CTE | None, customer_id: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    """No condition for the whole population; else: the customer is a member of the
    window's group (`members` has columns gid, customer_id; the window a `gid`)."""
    if members is None:
        return []
    return [exists().where(members.c.gid == windows.c.gid, members.c.customer_id == customer_id)]


def _sum_where(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


async def _ledger_figures(
    session: AsyncSession, windows: CTE, members: CTE | None = None
) -> dict[int, dict[str, Any]]:
    e = ledger.alias("e")
    issued = or_(e.c.kind.in_(ISSUED_KINDS), and_(e.c.kind == "ADJUST", e.c.points > 0))
    deducted = or_(e.c.kind.in_(DEDUCTED_KINDS), and_(e.c.kind == "ADJUST", e.c.points < 0))
    statement = (
        select(
            windows.c.wid,
            _sum_where(issued, e.c.points).label("issued"),
            _sum_where(e.c.kind.in_(REDEEM_KINDS), -e.c.points).label("redeemed"),
            _sum_where(e.c.kind == "EXPIRE", -e.c.points).label("expired"),
            _sum_where(deducted, -e.c.points).label("deducted"),
        )
        .select_from(
            windows.join(
                e, and_(e.c.created_at >= windows.c.start_at, e.c.created_at < windows.c.end_at)
            )
        )
        .where(*members_only(windows, members, e.c.customer_id))
        .group_by(windows.c.wid)
    )
    return {
        row.wid: {
            "points_issued": int(row.issued),
            "points_redeemed": int(row.redeemed),
            "points_expired": int(row.expired),
            "points_deducted": int(row.deducted),
        }
        for row in await session.execute(statement)
    }


async def points_liability_at(
    session: AsyncSession, instants: Sequence[datetime]
) -> dict[datetime, int]:
    """Σ of every ledger entry created before each instant, in one scan: the entries
    are cut into the segments between consecutive instants and summed cumulatively."""
    cuts = sorted(set(instants))
    segments = windows_cte(
        [Period(start, end) for start, end in zip([BEGINNING, *cuts], cuts, strict=False)],
        name="segments",
    )
    statement = (
        select(segments.c.wid, func.coalesce(func.sum(ledger.c.points), 0).label("points"))
        .select_from(
            segments.join(
                ledger,
                and_(
                    ledger.c.created_at >= segments.c.start_at,
                    ledger.c.created_at < segments.c.end_at,
                ),
            )
        )
        .group_by(segments.c.wid)
    )
    per_segment = {row.wid: int(row.points) for row in await session.execute(statement)}
    running, result = 0, {}
    for i, cut in enumerate(cuts):
        running += per_segment.get(i, 0)
        result[cut] = running
    return result


async def _feedback_figures(
    session: AsyncSession, windows: CTE, members: CTE | None = None
) -> dict[int, dict[str, Any]]:
    f = feedback.alias("f")
    nps = f.c.kind == "NPS"
    csat = f.c.kind == "CSAT"
    statement = (
        select(
            windows.c.wid,
            _sum_where(nps, literal(1)).label("nps_responses"),
            _sum_where(and_(nps, f.c.score >= 9), literal(1)).label("nps_promoters"),
            _sum_where(and_(nps, f.c.score <= 6), literal(1)).label("nps_detractors"),
            _sum_where(csat, literal(1)).label("csat_responses"),
            _sum_where(and_(csat, f.c.score >= 4), literal(1)).label("csat_satisfied"),
        )
        .select_from(
            windows.join(
                f, and_(f.c.created_at >= windows.c.start_at, f.c.created_at < windows.c.end_at)
            )
        )
        .where(*members_only(windows, members, f.c.customer_id))
        .group_by(windows.c.wid)
    )
    return {
        row.wid: {key: int(value) for key, value in row._mapping.items() if key != "wid"}
        for row in await session.execute(statement)
    }


async def _referral_figures(
    session: AsyncSession, windows: CTE, members: CTE | None = None
) -> dict[int, dict[str, Any]]:
    """Referrals by the period they were recorded in; `qualified` is their status now,
    whenever they qualified (domain/metrics.py says why). A sub-population counts
    the referrals of its referees (the customer a referral row belongs to)."""
    r = referrals.alias("r")
    qualified = r.c.status == ReferralStatus.QUALIFIED.value
    statement = (
        select(
            windows.c.wid,
            func.count().label("referrals_recorded"),
            _sum_where(qualified, literal(1)).label("referrals_qualified"),
        )
        .select_from(
            windows.join(
                r, and_(r.c.recorded_at >= windows.c.start_at, r.c.recorded_at < windows.c.end_at)
            )
        )
        .where(*members_only(windows, members, r.c.customer_id))
        .group_by(windows.c.wid)
    )
    return {
        row.wid: {key: int(value) for key, value in row._mapping.items() if key != "wid"}
        for row in await session.execute(statement)
    }


async def period_totals(
    session: AsyncSession,
    periods: Sequence[Period],
    previous: Sequence[Period],
    zone: ZoneInfo,
) -> list[PeriodTotals]:
    """The exact figures of each period; `previous[i]` is the period whose buyers
    period i's retention is measured against."""
    await analytical_read(session)
    distinct: dict[Period, int] = {}
    for p in [*periods, *previous]:
        distinct.setdefault(p, len(distinct))
    windows = windows_cte(list(distinct))
    pairs = _pairs_cte([(distinct[p], distinct[q]) for p, q in zip(periods, previous, strict=True)])
    by_order = await _order_figures(
        session, order_windows_cte(list(distinct), zone), pairs, [distinct[p] for p in periods]
    )
    by_ledger = await _ledger_figures(session, windows)
    by_feedback = await _feedback_figures(session, windows)
    by_referrals = await _referral_figures(session, windows)
    liability = await points_liability_at(session, [p.end for p in periods])
    result = []
    for p in periods:
        wid = distinct[p]
        result.append(
            PeriodTotals(
                **by_order.get(wid, {}),
                **by_ledger.get(wid, {}),
                **by_feedback.get(wid, {}),
                **by_referrals.get(wid, {}),
                points_liability=liability[p.end],
            )
        )
    return result
