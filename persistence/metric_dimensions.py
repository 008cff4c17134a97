"""Metrics of a sub-population, metrics broken down by a dimension, and the campaign
figures (触达转化率, attributed revenue) of every metrics read.

A sub-population is a set of groups: the customers of group `gid` in a `members`
CTE (gid, customer_id) when customers are restricted, the orders of a `channel`
when orders are, and the touchpoints and attributions of a `campaign_id` when the
campaign figures are. A filter is one group; a breakdown is one group per value.
Each (group, period) becomes one window of the same `VALUES` list the whole-population
path uses, so the number of statements is fixed whatever the number of values:
orders, ledger, feedback, referrals, liability, outreach, attributed orders, and
for a breakdown the list of values and the customers per value.

The whole population keeps persistence/metrics.py's path (read model included)
and only adds the two campaign statements. A sub-population reads its orders
straight from the orders table (the monthly read model has no channel and is
not per group); the aggregates over those rows are the same statement.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from domain.campaigns import TouchpointEvent
from domain.errors import DomainError, ErrorCode
from domain.metrics import (
    BreakdownRow,
    Bucket,
    Comparison,
    Dimension,
    MetricsFilter,
    MetricsReport,
    Period,
    PeriodMetrics,
    PeriodTotals,
    SeriesPoint,
    compared_period,
    previous_period,
)
from domain.program import ProgramSettings
from domain.segment_rules import RuleErrors, parse_rule
from persistence.campaigns import (
    CampaignAudienceRow,
    CampaignRow,
    OrderAttributionRow,
    TouchpointRow,
)
from persistence.classification import classification_query
from persistence.customers import CustomerRow
from persistence.metrics import (
    BEGINNING,
    _feedback_figures,
    _ledger_figures,
    _order_figures,
    _pairs_cte,
    _referral_figures,
    analytical_read,
    ledger,
    members_only,
    net_cents,
    orders,
    period_totals,
    points_liability_at,
    windows_cte,
)
from persistence.orders import counted
from persistence.segments.compiler import RuleContext, rule_clause, with_classification
from persistence.segments.rows import SegmentRow
from persistence.statements import dialect_name
from persistence.tiers import TierRow
from persistence.types import UtcDateTime

Members = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
"""(gid, customer_id) rows."""
touchpoints = TouchpointRow.__table__
attributions = OrderAttributionRow.__table__
NO_TIER = 0  # the gid of the customers without a tier (ids start at 1)


@dataclass(frozen=True)
class Group:
    gid: int = 0
    channel: str | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class Population:
    """`members` selects (gid, customer_id), or None: every customer. `by_channel`:
    only the orders of each group's channel count. `by_campaign`: the campaign
    figures are those of each group's campaign."""

    members: Members | None
    by_channel: bool
    by_campaign: bool


# ---- the statements -------------------------------------------------------------------


def _group_windows(keys: Sequence[tuple[Period, Group]]) -> CTE:
    rows = [(i, p.start, p.end, g.gid, g.channel, g.campaign_id) for i, (p, g) in enumerate(keys)]
    return (
        values(
            column("wid", Integer),
            column("start_at", UtcDateTime),
            column("end_at", UtcDateTime),
            column("gid", BigInteger),
            column("channel", String),
            column("campaign_id", BigInteger),
            name="w",
        )
        .data(rows)
        .cte("w")
    )


def _of_channel(
    windows: CTE, by_channel: bool, channel: ColumnElement[Any]
) -> list[ColumnElement[bool]]:
    return [channel.is_not_distinct_from(windows.c.channel)] if by_channel else []


def _per_customer(windows: CTE, members: CTE | None, by_channel: bool) -> Select[Any]:
    """The rows persistence.metrics._order_statement aggregates, straight from the
    orders of the group's customers (and channel)."""
    o = orders.alias("o")
    return (
        select(
            windows.c.wid,
            o.c.customer_id,
            func.count().label("n"),
            func.sum(net_cents(o)).label("cents"),
            func.min(o.c.placed_at).label("first_at"),
            func.max(o.c.placed_at).label("last_at"),
            cast(null(), UtcDateTime).label("months_prev_at"),
            literal(1).label("in_head"),
            literal(0).label("in_months"),
        )
        .select_from(
            windows.join(
                o, and_(o.c.placed_at >= windows.c.start_at, o.c.placed_at < windows.c.end_at)
            )
        )
        .where(
            counted(o),
            *members_only(windows, members, o.c.customer_id),
            *_of_channel(windows, by_channel, o.c.channel),
        )
        .group_by(windows.c.wid, o.c.customer_id)
    )


async def _liability(
    session: AsyncSession, members: CTE | None, ends: dict[int, tuple[int, datetime]]
) -> dict[int, int]:
    """Σ of the group's ledger entries before each window's end (`ends`: wid → (gid,
    end)). As points_liability_at does for everyone: the entries are cut into the
    segments between consecutive ends and summed per (group, segment) in one scan,
    then cumulated here, so a long series does not rescan the ledger per bucket."""
    if members is None:
        at = await points_liability_at(session, [end for _, end in ends.values()])
        return {wid: at[end] for wid, (_, end) in ends.items()}
    cuts = sorted({end for _, end in ends.values()})
    segments = windows_cte(
        [Period(start, end) for start, end in zip([BEGINNING, *cuts], cuts, strict=False)],
        name="segments",
    )
    e = ledger.alias("e")
    statement = (
        select(members.c.gid, segments.c.wid, func.coalesce(func.sum(e.c.points), 0))
        .select_from(
            segments.join(
                e, and_(e.c.created_at >= segments.c.start_at, e.c.created_at < segments.c.end_at)
            ).join(members, members.c.customer_id == e.c.customer_id)
        )
        .group_by(members.c.gid, segments.c.wid)
    )
    per_segment = {
        (gid, sid): int(points) for gid, sid, points in (await session.execute(statement)).all()
    }
    result = {}
    for wid, (gid, end) in ends.items():
        last = cuts.index(end)
        result[wid] = sum(per_segment.get((gid, sid), 0) for sid in range(last + 1))
    return result


async def _campaign_figures(
    session: AsyncSession,
    windows: CTE,
    members: CTE | None,
    by_channel: bool,
    by_campaign: bool,
) -> dict[int, dict[str, int]]:
    """Per window: customers with an unflagged SENT in it, those of them with a counted
    order in the attribution window of one of those SENTs (persistence/campaigns.py
    stores it as window_ends_at), and the counted orders of the window attributed to
    a campaign with their net cents."""
    t = touchpoints.alias("t")
    o = orders.alias("co")
    converted = exists().where(
        o.c.customer_id == t.c.customer_id,
        counted(o),
        o.c.placed_at >= t.c.at,
        o.c.placed_at < t.c.window_ends_at,
        *_of_channel(windows, by_channel, o.c.channel),
    )
    of_campaign = [t.c.campaign_id == windows.c.campaign_id] if by_campaign else []
    reached = (
        select(
            windows.c.wid,
            func.count(distinct(t.c.customer_id)).label("reached"),
            func.count(distinct(case((converted, t.c.customer_id)))).label("converted"),
        )
        .select_from(windows.join(t, and_(t.c.at >= windows.c.start_at, t.c.at < windows.c.end_at)))
        .where(
            t.c.event == TouchpointEvent.SENT.value,
            t.c.flag.is_(None),
            *members_only(windows, members, t.c.customer_id),
            *of_campaign,
        )
        .group_by(windows.c.wid)
    )
    found: dict[int, dict[str, int]] = {}
    for wid, n_reached, n_converted in (await session.execute(reached)).all():
        found[wid] = {"reached_customers": int(n_reached), "converted_customers": int(n_converted)}
    # Driven by the attributions (few) rather than by the period's orders (many): the
    # attributed orders with their instant and net cents, then joined to the windows.
    a = attributions.alias("a")
    ao = orders.alias("ao")
    attributed_orders = (
        select(
            ao.c.customer_id,
            ao.c.placed_at,
            ao.c.channel,
            a.c.campaign_id,
            net_cents(ao).label("cents"),
        )
        .select_from(a.join(ao, ao.c.id == a.c.order_id))
        .where(counted(ao))
        .cte("attributed")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    x = attributed_orders
    attributed = (
        select(windows.c.wid, func.count(), func.sum(x.c.cents))
        .select_from(
            windows.join(
                x, and_(x.c.placed_at >= windows.c.start_at, x.c.placed_at < windows.c.end_at)
            )
        )
        .where(
            *members_only(windows, members, x.c.customer_id),
            *_of_channel(windows, by_channel, x.c.channel),
            *([x.c.campaign_id == windows.c.campaign_id] if by_campaign else []),
        )
        .group_by(windows.c.wid)
    )
    for wid, n, cents in (await session.execute(attributed)).all():
        found.setdefault(wid, {}).update(
            attributed_orders=int(n), attributed_revenue_cents=int(cents or 0)
        )
    return found


async def _whole_population_totals(
    session: AsyncSession, periods: Sequence[Period], previous: Sequence[Period], program: Any
) -> list[PeriodTotals]:
    totals = await period_totals(session, periods, previous, program.zone)
    distinct_periods = list(dict.fromkeys(periods))
    windows = windows_cte(distinct_periods)
    figures = await _campaign_figures(session, windows, None, False, False)
    return [
        dataclasses.replace(t, **figures.get(distinct_periods.index(p), {}))
        for p, t in zip(periods, totals, strict=True)
    ]


async def group_totals(
    session: AsyncSession,
    cells: Sequence[tuple[Period, Period, Group]],
    population: Population,
) -> list[PeriodTotals]:
    """The totals of each (period, its previous period, group)."""
    await analytical_read(session)
    keys: dict[tuple[Period, Group], int] = {}
    for period, before, group in cells:
        keys.setdefault((period, group), len(keys))
        keys.setdefault((before, group), len(keys))
    windows = _group_windows(list(keys))
    members = population.members.cte("members") if population.members is not None else None
    pairs = _pairs_cte([(keys[(p, g)], keys[(q, g)]) for p, q, g in cells])
    reported = [keys[(p, g)] for p, _, g in cells]
    by_order = await _order_figures(
        session,
        windows,
        pairs,
        reported,
        _per_customer(windows, members, population.by_channel),
        population.by_channel,
    )
    by_ledger = await _ledger_figures(session, windows, members)
    by_feedback = await _feedback_figures(session, windows, members)
    by_referrals = await _referral_figures(session, windows, members)
    liability = await _liability(
        session, members, {keys[(p, g)]: (g.gid, p.end) for p, _, g in cells}
    )
    by_campaign = await _campaign_figures(
        session, windows, members, population.by_channel, population.by_campaign
    )
    result = []
    for wid in reported:
        result.append(
            PeriodTotals(
                **by_order.get(wid, {}),
                **by_ledger.get(wid, {}),
                **by_feedback.get(wid, {}),
                **by_referrals.get(wid, {}),
                **by_campaign.get(wid, {}),
                points_liability=liability.get(wid, 0),
            )
        )
    return result


# ---- filters --------------------------------------------------------------------------


async def _segment_members(
    session: AsyncSession, segments: Sequence[tuple[int, str]], as_of: datetime, program: Any
) -> Members | None:
    """(segment id, customer id) for every member of each saved segment as of `as_of`,
    in one statement: the rules share one classification subquery (as
    persistence/segments/reads.py's segment_counts does). A rule that no longer
    parses has no members."""
    rules = []
    for segment_id, text in segments:
        try:
            rules.append((segment_id, parse_rule(text)))
        except RuleErrors:
            continue
    if not rules:
        return None
    needs_orders = any(rule.uses_orders for _, rule in rules)
    cls = classification_query(as_of, program).subquery("classification")
    ctx = RuleContext(as_of, program, dialect_name(session), cls if needs_orders else None)

    def member_rows(segment_id: int) -> Select[Any]:
        columns: list[Any] = [
            literal(segment_id, BigInteger).label("gid"),
            CustomerRow.id.label("customer_id"),
        ]
        return select(*columns).select_from(CustomerRow)

    parts = [
        with_classification(member_rows(segment_id), ctx).where(
            CustomerRow.erased_at.is_(None),
            CustomerRow.merged_into_id.is_(None),
            rule_clause(rule, ctx),
        )
        for segment_id, rule in rules
    ]
    if len(parts) == 1:
        return parts[0]
    return union_all(*parts)


def _missing(field: str, what: str) -> DomainError:
    return DomainError(
        ErrorCode.NOT_FOUND, ("filter", field), f"filter.{field}: no {what} has this ID."
    )


async def population_of(
    session: AsyncSession, wanted: MetricsFilter, as_of: datetime, program: ProgramSettings
) -> Population:
    """The one group a filter describes (gid 0); unknown IDs are refused naming the
    filter's field."""
    conditions: list[ColumnElement[bool]] = []
    if wanted.segment_id is not None:
        segment = (
            await session.execute(
                select(SegmentRow.id, SegmentRow.rule).where(SegmentRow.id == wanted.segment_id)
            )
        ).one_or_none()
        if segment is None:
            raise _missing("segment", "saved segment")
        members = await _segment_members(session, [(segment[0], segment[1])], as_of, program)
        if members is None:
            conditions.append(literal(False))
        else:
            ids = members.subquery("segment_members")
            conditions.append(CustomerRow.id.in_(select(ids.c.customer_id)))
    if wanted.tier_id is not None:
        if await session.get(TierRow, wanted.tier_id) is None:
            raise _missing("tier", "tier")
        conditions.append(CustomerRow.tier_id == wanted.tier_id)
    if wanted.campaign_id is not None:
        if await session.get(CampaignRow, wanted.campaign_id) is None:
            raise _missing("campaign", "campaign")
        audience = select(CampaignAudienceRow.customer_id).where(
            CampaignAudienceRow.campaign_id == wanted.campaign_id
        )
        conditions.append(CustomerRow.id.in_(audience))
    if wanted.acquisition_channel is not None:
        conditions.append(CustomerRow.acquisition_channel == wanted.acquisition_channel)
    members_select = None
    if conditions:
        members_select = select(
            literal(0, BigInteger).label("gid"), CustomerRow.id.label("customer_id")
        ).where(*conditions)
    return Population(
        members=members_select,
        by_channel=wanted.channel is not None,
        by_campaign=wanted.campaign_id is not None,
    )


def _group_of(wanted: MetricsFilter) -> Group:
    return Group(gid=0, channel=wanted.channel, campaign_id=wanted.campaign_id)


async def _totals(
    session: AsyncSession,
    program: ProgramSettings,
    periods: Sequence[Period],
    previous: Sequence[Period],
    wanted: MetricsFilter,
    as_of: datetime,
) -> list[PeriodTotals]:
    if wanted.is_empty:
        return await _whole_population_totals(session, periods, previous, program)
    population = await population_of(session, wanted, as_of, program)
    group = _group_of(wanted)
    cells = [(p, q, group) for p, q in zip(periods, previous, strict=True)]
    return await group_totals(session, cells, population)


# ---- the read models the API calls --------------------------------------------------


async def metrics_report(
    session: AsyncSession,
    program: ProgramSettings,
    period: Period,
    comparison: Comparison | None,
    wanted: MetricsFilter = MetricsFilter(),
    as_of: datetime | None = None,
) -> MetricsReport:
    periods = [period]
    if comparison is not None:
        periods.append(compared_period(period, comparison, program.zone))
    totals = await _totals(
        session,
        program,
        periods,
        [previous_period(p) for p in periods],
        wanted,
        as_of or period.end,
    )
    measured = [
        PeriodMetrics(p, t, program.point_value) for p, t in zip(periods, totals, strict=True)
    ]
    return MetricsReport(
        current=measured[0],
        comparison=comparison,
        other=measured[1] if comparison is not None else None,
    )


async def metrics_series(
    session: AsyncSession,
    program: ProgramSettings,
    buckets: Sequence[Bucket],
    wanted: MetricsFilter = MetricsFilter(),
    as_of: datetime | None = None,
) -> list[SeriesPoint]:
    totals = await _totals(
        session,
        program,
        [b.period for b in buckets],
        [b.previous for b in buckets],
        wanted,
        as_of or buckets[-1].period.end,
    )
    return [
        SeriesPoint(b.label, PeriodMetrics(b.period, t, program.point_value))
        for b, t in zip(buckets, totals, strict=True)
    ]


async def _values_of(
    session: AsyncSession, period: Period, by: Dimension, as_of: datetime, program: Any
) -> tuple[list[tuple[Group, int | None, str]], Population]:
    """The groups of a dimension with their key and label, and their population."""
    groups: list[tuple[Group, int | None, str]]
    if by is Dimension.CHANNEL:
        before = previous_period(period)
        o = orders.alias("o")
        channels = await session.execute(
            select(o.c.channel)
            .where(counted(o), o.c.placed_at >= before.start, o.c.placed_at < period.end)
            .group_by(o.c.channel)
        )
        found = sorted((c for (c,) in channels.all()), key=lambda c: (c is None, c or ""))
        groups = [(Group(gid=0, channel=c), None, c if c is not None else "(none)") for c in found]

        return groups, Population(members=None, by_channel=True, by_campaign=False)
    if by is Dimension.TIER:
        tiers = await session.execute(select(TierRow.id, TierRow.name).order_by(TierRow.rank))
        groups = [(Group(gid=tid), tid, name) for tid, name in tiers.all()]
        groups.append((Group(gid=NO_TIER), None, "(no tier)"))
        members = select(
            func.coalesce(CustomerRow.tier_id, NO_TIER).label("gid"),
            CustomerRow.id.label("customer_id"),
        )
        return groups, Population(members=members, by_channel=False, by_campaign=False)
    if by is Dimension.SEGMENT:
        segments = (
            await session.execute(
                select(SegmentRow.id, SegmentRow.name, SegmentRow.rule).order_by(
                    SegmentRow.name_key, SegmentRow.id
                )
            )
        ).all()
        groups = [(Group(gid=sid), sid, name) for sid, name, _ in segments]
        found_members = await _segment_members(
            session, [(sid, rule) for sid, _, rule in segments], as_of, program
        )
        return groups, Population(members=found_members, by_channel=False, by_campaign=False)
    campaigns = await session.execute(
        select(CampaignRow.id, CampaignRow.name)
        .where(CampaignRow.started_at.is_not(None))
        .order_by(CampaignRow.started_at, CampaignRow.id)
    )
    groups = [(Group(gid=cid, campaign_id=cid), cid, name) for cid, name in campaigns.all()]
    members = select(
        CampaignAudienceRow.campaign_id.label("gid"),
        CampaignAudienceRow.customer_id.label("customer_id"),
    )
    return groups, Population(members=members, by_channel=False, by_campaign=True)


async def _customers_per_group(
    session: AsyncSession, period: Period, population: Population
) -> dict[tuple[int, str | None], int]:
    """How many customers each group covers: its members; for CHANNEL, the customers
    with a counted order of that channel placed before the period's end."""
    if population.members is not None:
        m = population.members.subquery("m")
        rows = await session.execute(
            select(m.c.gid, func.count(distinct(m.c.customer_id))).group_by(m.c.gid)
        )
        return {(gid, None): int(n) for gid, n in rows.all()}
    o = orders.alias("o")
    rows = await session.execute(
        select(o.c.channel, func.count(distinct(o.c.customer_id)))
        .where(counted(o), o.c.placed_at < period.end)
        .group_by(o.c.channel)
    )
    return {(0, channel): int(n) for channel, n in rows.all()}


async def metrics_breakdown(
    session: AsyncSession,
    program: ProgramSettings,
    period: Period,
    by: Dimension,
    as_of: datetime,
) -> list[BreakdownRow]:
    """One row per value of the dimension, in the dimension's order (tiers by rank
    then "no tier", segments by name, campaigns by start, channels by name then
    "none"); a fixed number of statements whatever the number of values."""
    await analytical_read(session)
    groups, population = await _values_of(session, period, by, as_of, program)
    if not groups:
        return []
    before = previous_period(period)
    totals = await group_totals(session, [(period, before, g) for g, _, _ in groups], population)
    sizes = await _customers_per_group(session, period, population)
    return [
        BreakdownRow(
            key=key,
            channel=group.channel,
            label=label,
            customers=sizes.get(
                (group.gid, group.channel if population.members is None else None), 0
            ),
            metrics=PeriodMetrics(period, t, program.point_value),
        )
        for (group, key, label), t in zip(groups, totals, strict=True)
    ]
