"""`metrics`, `metricsSeries` and `cohorts`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.metrics.inputs import PeriodInput
from api.metrics.types import (
    Cohort,
    Granularity,
    MetricsBucket,
    MetricsComparison,
    MetricsReport,
    changes,
    to_graphql,
)
from domain import metrics as domain
from domain.access import Scope
from domain.errors import DomainError
from persistence import cohorts as cohort_reads
from persistence import metrics as reads


def _period(start: datetime, end: datetime, field: str) -> domain.Period:
    try:
        return domain.Period.of(start, end, (field,))
    except DomainError as exc:
        raise BadUserInput(exc.message) from None


From = Annotated[datetime, strawberry.argument(name="from", description="Included.")]
To = Annotated[datetime, strawberry.argument(description="Excluded.")]


@query_fields(position=110)
@strawberry.type
class MetricsQuery:
    @strawberry.field(
        description="Every retention metric of a period, optionally compared.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def metrics(
        self,
        info: strawberry.Info,
        period: PeriodInput,
        compare: MetricsComparison | None = None,  # type: ignore[valid-type]
    ) -> MetricsReport:
        measured = _period(period.from_, period.to, "period")
        program = await info.context.program()
        report = await info.context.read(reads.metrics_report, program, measured, compare)
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
    ) -> list[MetricsBucket]:
        measured = _period(from_, to, "from")
        program = await info.context.program()
        try:
            buckets = domain.calendar_buckets(measured, granularity, program.zone)
        except DomainError as exc:
            raise BadUserInput(exc.message) from None
        points = await info.context.read(reads.metrics_series, program, buckets)
        return [
            MetricsBucket(start_date=p.label, metrics=to_graphql(p.metrics, program.currency))
            for p in points
        ]

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
