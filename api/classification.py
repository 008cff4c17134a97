"""Lifecycle stages and RFM over GraphQL: per customer and as summaries.

`Customer.lifecycleStage` and `Customer.rfm` go through DataLoaders keyed by
(customer, asOf[, lookbackDays]): a page of customers costs one statement per
field, whatever its size. The summaries need `metrics:read`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from api.auth import require
from api.errors import BadUserInput
from api.money import Money
from domain import classification as domain
from domain.access import Scope
from domain.program import RfmCut
from persistence import classification as reads

MAX_LOOKBACK_DAYS = 3650

LifecycleStage = strawberry.enum(
    domain.LifecycleStage,
    name="LifecycleStage",
    description="Where a customer stands, from their first and last counted orders.",
)
RfmClass = strawberry.enum(
    domain.RfmClass,
    name="RfmClass",
    description="The classic eight RFM classes: above/below the cut on R, F and M.",
)

AS_OF = "Only orders placed at or before this instant count; default now."
LOOKBACK = "Only orders placed at most this many days before asOf count (F, M, population)."


def as_of_of(info: strawberry.Info, as_of: datetime | None) -> datetime:
    if as_of is None:
        return info.context.now()
    if as_of.tzinfo is None:
        raise BadUserInput("asOf needs a UTC offset, e.g. 2024-06-01T00:00:00+08:00.")
    return as_of


def checked_lookback(lookback_days: int | None) -> int | None:
    if lookback_days is not None and not 1 <= lookback_days <= MAX_LOOKBACK_DAYS:
        raise BadUserInput(f"lookbackDays must be between 1 and {MAX_LOOKBACK_DAYS}.")
    return lookback_days


@strawberry.type(name="CustomerRfm", description="One customer's RFM as of an instant.")
class CustomerRfmType:
    recency: float = strawberry.field(description="Days from the last counted order to asOf.")
    frequency: int = strawberry.field(description="Counted orders.")
    monetary: Money = strawberry.field(description="Net amount of those orders.")
    r_score: int = strawberry.field(description="1-5; 5 is the most recent.")
    f_score: int
    m_score: int
    rfm_class: RfmClass = strawberry.field(name="class")  # type: ignore[valid-type]

    @classmethod
    def from_domain(cls, rfm: domain.CustomerRfm) -> CustomerRfmType:
        return cls(
            recency=rfm.recency_days,
            frequency=rfm.frequency,
            monetary=Money(amount=rfm.monetary, currency=rfm.currency),
            r_score=rfm.r_score,
            f_score=rfm.f_score,
            m_score=rfm.m_score,
            rfm_class=rfm.rfm_class,
        )


async def customer_lifecycle_stage(
    info: strawberry.Info, customer_id: int, as_of: datetime | None
) -> domain.LifecycleStage:
    key = (customer_id, as_of_of(info, as_of))
    return await info.context.loaders.lifecycle_stage.load(key)


async def customer_rfm(
    info: strawberry.Info, customer_id: int, as_of: datetime | None, lookback_days: int | None
) -> CustomerRfmType | None:
    key = (customer_id, as_of_of(info, as_of), checked_lookback(lookback_days))
    rfm = await info.context.loaders.customer_rfm.load(key)
    return CustomerRfmType.from_domain(rfm) if rfm else None


@strawberry.type(name="LifecycleStageCount")
class LifecycleStageCountType:
    stage: LifecycleStage  # type: ignore[valid-type]
    display_name: str
    count: int


@strawberry.type(name="LifecycleSummary", description="Customers per lifecycle stage.")
class LifecycleSummaryType:
    as_of: datetime
    stages: list[LifecycleStageCountType] = strawberry.field(
        description="All six stages, in rule order, zeros included."
    )
    total: int = strawberry.field(description="Every customer, erased ones included.")


@strawberry.type(name="RfmClassSummary")
class RfmClassSummaryType:
    rfm_class: RfmClass = strawberry.field(name="class")  # type: ignore[valid-type]
    display_name: str
    count: int
    revenue: Money = strawberry.field(description="Σ M of the class's customers.")
    mean_recency: float | None = strawberry.field(description="Days; null for an empty class.")
    mean_frequency: float | None
    mean_monetary: Money | None


@strawberry.type(name="RfmCuts", description="Where the population was split.")
class RfmCutsType:
    median: bool = strawberry.field(description="True: medians; false: means (the default).")
    recency: float | None = strawberry.field(description="Days; recent iff R < this.")
    frequency: float | None = strawberry.field(description="Frequent iff F > this.")
    monetary: Money | None = strawberry.field(
        description="High-value iff M > this (rounded to the cent here; compared exactly)."
    )


@strawberry.type(name="RfmSummary", description="The RFM population split into eight classes.")
class RfmSummaryType:
    as_of: datetime
    lookback_days: int | None
    population_size: int = strawberry.field(description="N: customers with a counted order.")
    cuts: RfmCutsType
    classes: list[RfmClassSummaryType] = strawberry.field(description="All eight, zeros included.")


def _money(amount: Decimal | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)


@strawberry.type
class ClassificationQuery:
    @strawberry.field(description="How many customers are in each lifecycle stage.")
    async def lifecycle_summary(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
    ) -> LifecycleSummaryType:
        require(info, Scope.METRICS_READ)
        at = as_of_of(info, as_of)
        defaults = info.context.settings.program_defaults()
        counts = await info.context.read(reads.lifecycle_summary, at, defaults)
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

    @strawberry.field(description="The eight RFM classes: size, revenue and means of each.")
    async def rfm_summary(
        self,
        info: strawberry.Info,
        as_of: Annotated[datetime | None, strawberry.argument(description=AS_OF)] = None,
        lookback_days: Annotated[int | None, strawberry.argument(description=LOOKBACK)] = None,
    ) -> RfmSummaryType:
        require(info, Scope.METRICS_READ)
        at = as_of_of(info, as_of)
        lookback = checked_lookback(lookback_days)
        defaults = info.context.settings.program_defaults()
        summary = await info.context.read(reads.rfm_summary, at, lookback, defaults)
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
