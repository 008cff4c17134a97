"""`metrics`, `metricsSeries` and `cohorts`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from api.areas import query_fields
from api.auth import require, requires
from api.errors import BadUserInput, decode_input_id
from api.metrics.inputs import MetricsFilter, PeriodInput
from api.metrics.types import (
    Cohort,
    Granularity,
    MetricsBreakdownRow,
    MetricsBucket,
    MetricsComparison,
    MetricsDimension,
    MetricsReport,
    changes,
    to_graphql,
)
from domain import metrics as domain
from domain.access import Scope
from domain.errors import DomainError
from persistence import cohorts as cohort_reads
from persistence import metric_dimensions as reads


def _period(start: datetime, end: datetime, field: str) -> domain.Period:
    try:
        return domain.Period.of(start, end, (field,))
    except DomainError as exc:
        raise BadUserInput(exc.message) from None


def _filter(info: strawberry.Info, given: MetricsFilter | None) -> domain.MetricsFilter:
    if given is None:
        return domain.MetricsFilter()
    # A filter by campaign or segment reads them: the caller must be allowed to.
    if given.campaign is not None:
        require(info, Scope.CAMPAIGNS_READ)
    if given.segment is not None:
        require(info, Scope.SEGMENTS_READ)

    def key(value: strawberry.ID | None, expected: str, field: str) -> int | None:
        if value is None:
            return None
        try:
            return decode_input_id(value, expected, ("filter", field))
        except DomainError as exc:
            raise BadUserInput(f"filter.{exc.message}") from None

    return domain.MetricsFilter(
        segment_id=key(given.segment, "Segment", "segment"),
        tier_id=key(given.tier, "Tier", "tier"),
        channel=given.channel,
        campaign_id=key(given.campaign, "Campaign", "campaign"),
        acquisition_channel=given.acquisition_channel,
    )


async def _read(info: strawberry.Info, query: Any, *args: Any) -> Any:
    try:
        return await info.context.read(query, *args)
    except DomainError as exc:
        raise BadUserInput(exc.message) from None


MAX_BREAKDOWN_ROWS = 100
# The rows name campaigns and segments: listing them needs their own read scope too.
SCOPE_OF_DIMENSION = {
    domain.Dimension.CAMPAIGN: Scope.CAMPAIGNS_READ,
    domain.Dimension.SEGMENT: Scope.SEGMENTS_READ,
}

From = Annotated[datetime, strawberry.argument(name="from", description="Included.")]
To = Annotated[datetime, strawberry.argument(description="Excluded.")]


@query_fields(position=110)
@strawberry.type
class MetricsQuery:
    @strawberry.field(
        description="Every retention metric of a period, optionally compared, of the whole "
        "population or of the sub-population `filter` describes.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def metrics(
        self,
        info: strawberry.Info,
        period: PeriodInput,
        compare: MetricsComparison | None = None,  # type: ignore[valid-type]
        filter: MetricsFilter | None = None,
    ) -> MetricsReport:
        measured = _period(period.from_, period.to, "period")
        wanted = _filter(info, filter)
        program = await info.context.program()
        report = await _read(
            info, reads.metrics_report, program, measured, compare, wanted, info.context.now()
        )
        other = report.other
        return MetricsReport(
            current=to_graphql(report.current, program.currency),
            compare=compare,
            compared=to_graphql(other, program.currency) if other else None,
            change=changes(report.current, other) if other else None,
            period=measured,
        )

    @strawberry.field(
        description="The same metrics per calendar bucket (program time zone, weeks from "
        "Monday), at most 1000 buckets.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def metrics_series(
        self,
        info: strawberry.Info,
        from_: From,
        to: To,
        granularity: Granularity,  # type: ignore[valid-type]
        filter: MetricsFilter | None = None,
    ) -> list[MetricsBucket]:
        measured = _period(from_, to, "from")
        wanted = _filter(info, filter)
        program = await info.context.program()
        try:
            buckets = domain.calendar_buckets(measured, granularity, program.zone)
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        points = await _read(
            info, reads.metrics_series, program, buckets, wanted, info.context.now()
        )
        return [
            MetricsBucket(start_date=p.label, metrics=to_graphql(p.metrics, program.currency))
            for p in points
        ]

    @strawberry.field(
        description="The metrics of a period per value of a dimension: order CHANNEL, "
        "current TIER (and the customers without one), saved SEGMENT (members now), or "
        "started CAMPAIGN (its frozen audience; the campaign figures are that campaign's "
        "own: attributed orders and revenue, reached and converted customers). Each row "
        "equals `metrics(period, filter: {that value})`. Rows are sorted by revenue, "
        "highest first (ties by label), at most `first` (≤ 100).",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def metrics_breakdown(
        self,
        info: strawberry.Info,
        period: PeriodInput,
        by: MetricsDimension,  # type: ignore[valid-type]
        first: int = 100,
    ) -> list[MetricsBreakdownRow]:
        measured = _period(period.from_, period.to, "period")
        if by in SCOPE_OF_DIMENSION:
            require(info, SCOPE_OF_DIMENSION[by])
        if not 0 <= first <= MAX_BREAKDOWN_ROWS:
            raise BadUserInput(f"first must be between 0 and {MAX_BREAKDOWN_ROWS}.")
        program = await info.context.program()
        rows = await _read(info, reads.metrics_breakdown, program, measured, by, info.context.now())
        ranked = sorted(rows, key=lambda r: (-r.metrics.revenue, r.label))[:first]
        return [MetricsBreakdownRow.of(by, r, program.currency) for r in ranked]

    @strawberry.field(
        description="Monthly cohort retention: one row per local month from the month of "
        "`from` to the month of `to` (at most 120); only orders placed before `to` count.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def cohorts(self, info: strawberry.Info, from_: From, to: To) -> list[Cohort]:
        measured = _period(from_, to, "from")
        program = await info.context.program()
        try:
            rows = await info.context.read(cohort_reads.cohort_table, program, measured)
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        return [
            Cohort(month=r.month, size=r.size, customers=r.active, retention=r.shares) for r in rows
        ]
