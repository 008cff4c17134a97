"""Lifecycle and RFM types, and the argument checks they share."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.errors import BadUserInput
from api.money import Money
from domain import classification as domain

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
    total: int = strawberry.field(
        description="Every customer, erased ones included; merged ones live on as their survivor."
    )


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
