"""`lifecycleSummary` and `rfmSummary`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.classification.types import (
    LifecycleStageCountType,
    LifecycleSummaryType,
    RfmClassSummaryType,
    RfmCutsType,
    RfmSummaryType,
    as_of_of,
    checked_lookback,
)
from api.money import Money
from domain import classification as domain
from domain.access import Scope
from domain.program import RfmCut
from persistence import classification as reads

AS_OF = "Only orders placed at or before this instant count; default now."
LOOKBACK = "Only orders placed at most this many days before asOf count (F, M, population)."


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)


@query_fields(position=100)
@strawberry.type
class ClassificationQuery:
    @strawberry.field(
        description="How many customers are in each lifecycle stage.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def lifecycle_summary(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
    ) -> LifecycleSummaryType:
        at = as_of_of(info, as_of)
        counts = await info.context.read(
            reads.lifecycle_summary, at, info.context.program_defaults()
        )
        return LifecycleSummaryType(
            as_of=at,
            stages=[
                LifecycleStageCountType(
                    stage=stage, display_name=domain.STAGE_SEED_NAMES[stage], count=count
                )
                for stage, count in counts.items()
            ],
            total=sum(counts.values()),
        )

    @strawberry.field(
        description="The eight RFM classes: size, revenue and means of each.",
        permission_classes=[requires(Scope.METRICS_READ)],
    )
    async def rfm_summary(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
        lookback_days: Annotated[int | None, strawberry.argument(description=LOOKBACK)] = None,
    ) -> RfmSummaryType:
        at = as_of_of(info, as_of)
        lookback = checked_lookback(lookback_days)
        summary = await info.context.read(
            reads.rfm_summary, at, lookback, info.context.program_defaults()
        )
        currency = summary.currency
        return RfmSummaryType(
            as_of=at,
            lookback_days=lookback,
            population_size=summary.population,
            cuts=RfmCutsType(
                median=summary.cut is RfmCut.MEDIAN,
                recency=summary.recency_cut_days,
                frequency=summary.frequency_cut,
                monetary=_money(summary.monetary_cut, currency),
            ),
            classes=[
                RfmClassSummaryType(
                    rfm_class=cls,
                    display_name=domain.RFM_SEED_NAMES[cls],
                    count=totals.count,
                    revenue=Money(amount=totals.revenue, currency=currency),
                    mean_recency=totals.mean_recency_days,
                    mean_frequency=totals.mean_frequency,
                    mean_monetary=_money(totals.mean_monetary, currency),
                )
                for cls, totals in summary.classes.items()
            ],
        )
