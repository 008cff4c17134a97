"""Lifecycle stages and RFM classes: names, seed display names and the rules.

The database computes both for whole populations (persistence/classification.py);
the functions here state the same rules in plain Python, one customer or one small
population at a time, so the rules can be read and unit-tested without a database.

Decisions the bare rules leave open, written down here and in docs/lifecycle-and-rfm.md:

- An order *counts* when it is not refunded in full (``refunded_amount < amount``);
  its net amount is ``amount - refunded_amount``. The refund state is the one known
  now, not the one at the as-of instant: a refund recorded after ``t`` of an order
  placed before ``t`` changes the answer "as of t". Refunds carry no instant of their
  own in the order row, and a classification is a view of the orders as they stand.
- Durations are exact instants: "30 days" is 30 × 24 hours, whatever the program's
  time zone or its daylight-saving changes. Lifecycle and RFM therefore do not
  depend on the time zone (no calendar bucket is involved).
- Recency is measured to the millisecond (both databases agree on that resolution);
  every comparison behind classes and scores is exact integer arithmetic: money in
  cents, durations in milliseconds, a mean compared as ``N × x`` against ``Σ x``.
- The look-back window of RFM keeps orders with ``t - placed_at <= lookback_days``
  (inclusive, like "active within 30 days"); it narrows F and M, and which
  customers are in the population, never the lifecycle stage.
- Erased customers stay in every population and summary: erasure removes personal
  data, not the business history that other customers' scores are measured against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.program import ProgramSettings, RfmCut


class LifecycleStage(StrEnum):
    PROSPECT = "PROSPECT"
    NEW = "NEW"
    LOYAL = "LOYAL"
    ACTIVE = "ACTIVE"
    SILENT = "SILENT"
    CHURNED = "CHURNED"


class RfmClass(StrEnum):
    IMPORTANT_VALUE = "IMPORTANT_VALUE"
    IMPORTANT_DEVELOP = "IMPORTANT_DEVELOP"
    IMPORTANT_RETAIN = "IMPORTANT_RETAIN"
    IMPORTANT_WINBACK = "IMPORTANT_WINBACK"
    GENERAL_VALUE = "GENERAL_VALUE"
    GENERAL_DEVELOP = "GENERAL_DEVELOP"
    GENERAL_RETAIN = "GENERAL_RETAIN"
    GENERAL_WINBACK = "GENERAL_WINBACK"


STAGE_SEED_NAMES: dict[LifecycleStage, str] = {
    LifecycleStage.PROSPECT: "潜在客户",
    LifecycleStage.NEW: "新客户",
    LifecycleStage.LOYAL: "忠诚客户",
    LifecycleStage.ACTIVE: "活跃客户",
    LifecycleStage.SILENT: "沉默客户",
    LifecycleStage.CHURNED: "流失客户",
}

RFM_SEED_NAMES: dict[RfmClass, str] = {
    RfmClass.IMPORTANT_VALUE: "重要价值客户",
    RfmClass.IMPORTANT_DEVELOP: "重要发展客户",
    RfmClass.IMPORTANT_RETAIN: "重要保持客户",
    RfmClass.IMPORTANT_WINBACK: "重要挽留客户",
    RfmClass.GENERAL_VALUE: "一般价值客户",
    RfmClass.GENERAL_DEVELOP: "一般发展客户",
    RfmClass.GENERAL_RETAIN: "一般保持客户",
    RfmClass.GENERAL_WINBACK: "一般挽留客户",
}

# (high-value, recent, frequent) -> class: the classic eight-way RFM table.
RFM_TABLE: dict[tuple[bool, bool, bool], RfmClass] = {
    (True, True, True): RfmClass.IMPORTANT_VALUE,
    (True, True, False): RfmClass.IMPORTANT_DEVELOP,
    (True, False, True): RfmClass.IMPORTANT_RETAIN,
    (True, False, False): RfmClass.IMPORTANT_WINBACK,
    (False, True, True): RfmClass.GENERAL_VALUE,
    (False, True, False): RfmClass.GENERAL_DEVELOP,
    (False, False, True): RfmClass.GENERAL_RETAIN,
    (False, False, False): RfmClass.GENERAL_WINBACK,
}

SCORE_LEVELS = 5


@dataclass(frozen=True)
class LifecycleBounds:
    """The rule's thresholds turned into instants: every test is then a comparison of
    an order's instant with one of these, exact on any database."""

    new_after: datetime  # first order later than this: NEW
    loyal_from: datetime  # first order at or before this (and active): LOYAL
    active_from: datetime  # last order at or after this: ACTIVE (or LOYAL)
    silent_from: datetime  # last order at or after this: SILENT; before it: CHURNED

    @classmethod
    def of(cls, as_of: datetime, program: ProgramSettings) -> LifecycleBounds:
        return cls(
            new_after=as_of - timedelta(days=program.lifecycle_new_days),
            loyal_from=as_of - timedelta(days=program.lifecycle_loyal_days),
            active_from=as_of - timedelta(days=program.lifecycle_active_days),
            silent_from=as_of - timedelta(days=program.lifecycle_silent_days),
        )


def lifecycle_stage(
    as_of: datetime,
    first_order_at: datetime | None,
    last_order_at: datetime | None,
    program: ProgramSettings,
) -> LifecycleStage:
    """docs/lifecycle-and-rfm.md#lifecycle-stage, first match wins (counted orders ≤ as_of)."""
    if first_order_at is None or last_order_at is None:
        return LifecycleStage.PROSPECT
    bounds = LifecycleBounds.of(as_of, program)
    if first_order_at > bounds.new_after:
        return LifecycleStage.NEW
    if first_order_at <= bounds.loyal_from and last_order_at >= bounds.active_from:
        return LifecycleStage.LOYAL
    if last_order_at >= bounds.active_from:
        return LifecycleStage.ACTIVE
    if last_order_at >= bounds.silent_from:
        return LifecycleStage.SILENT
    return LifecycleStage.CHURNED


def rfm_class(*, recent: bool, frequent: bool, high_value: bool) -> RfmClass:
    return RFM_TABLE[(high_value, recent, frequent)]


def score(worse: int, population: int) -> int:
    """1 + floor(5 × customers strictly worse / N): 1..5, ties share a score."""
    return 1 + (SCORE_LEVELS * worse) // population


def score_ranks(population: int) -> list[int]:
    """The positions (1-based, worst customer first) whose values decide the scores.

    score = 1 + floor(5w / N) with w the customers strictly worse, so the score is
    at least k + 1 exactly when w >= ceil(kN / 5) = T_k (k = 1..4). Let v_k be the
    value at position T_k of the population sorted worst first. A customer strictly
    better than v_k has the T_k customers up to that position strictly worse than
    them (w >= T_k); a customer no better than v_k has only customers strictly worse
    than v_k below them, all at positions before T_k (w < T_k). Hence
    ``score = 1 + #{k : value strictly better than v_k}``: the same score as
    counting (ties included), from four values per measure instead of a ranking of
    the population."""
    return [-(-k * population // SCORE_LEVELS) for k in range(1, SCORE_LEVELS)]


def score_from_cuts(value: int, cuts: Sequence[int], *, larger_is_better: bool) -> int:
    """The 1–5 score of `value` against the values at `score_ranks` positions
    (worst first): 1 + how many of them it is strictly better than."""
    if larger_is_better:
        return 1 + sum(1 for v in cuts if value > v)
    return 1 + sum(1 for v in cuts if value < v)


@dataclass(frozen=True)
class Cut:
    """A mean or median kept as an exact fraction numerator / denominator, so that
    "x below the cut" is the integer test x × denominator < numerator."""

    numerator: int
    denominator: int

    @classmethod
    def of(cls, values: list[int], method: RfmCut) -> Cut:
        if method is RfmCut.MEAN:
            return cls(sum(values), len(values))
        ordered = sorted(values)
        n = len(ordered)
        return cls(ordered[(n - 1) // 2] + ordered[n // 2], 2)

    def below(self, value: int) -> bool:
        return value * self.denominator < self.numerator

    def above(self, value: int) -> bool:
        return value * self.denominator > self.numerator

    @property
    def value(self) -> Decimal:
        return Decimal(self.numerator) / Decimal(self.denominator)


@dataclass(frozen=True)
class RfmFacts:
    """One customer's RFM inputs in exact units: milliseconds and cents."""

    recency_ms: int
    frequency: int
    monetary_cents: int


@dataclass(frozen=True)
class RfmResult:
    r_score: int
    f_score: int
    m_score: int
    rfm_class: RfmClass


def classify_population(facts: Mapping[int, RfmFacts], method: RfmCut) -> dict[int, RfmResult]:
    """RFM classes and scores of a whole population (customer id -> facts)."""
    if not facts:
        return {}
    n = len(facts)
    recencies = [f.recency_ms for f in facts.values()]
    frequencies = [f.frequency for f in facts.values()]
    monetaries = [f.monetary_cents for f in facts.values()]
    r_cut = Cut.of(recencies, method)
    f_cut = Cut.of(frequencies, method)
    m_cut = Cut.of(monetaries, method)
    results = {}
    for customer_id, f in facts.items():
        results[customer_id] = RfmResult(
            r_score=score(sum(1 for r in recencies if r > f.recency_ms), n),
            f_score=score(sum(1 for x in frequencies if x < f.frequency), n),
            m_score=score(sum(1 for m in monetaries if m < f.monetary_cents), n),
            rfm_class=rfm_class(
                recent=r_cut.below(f.recency_ms),
                frequent=f_cut.above(f.frequency),
                high_value=m_cut.above(f.monetary_cents),
            ),
        )
    return results


@dataclass(frozen=True)
class CustomerRfm:
    """One customer's RFM as of an instant: R in days, F orders, M net amount."""

    recency_days: float
    frequency: int
    monetary: Decimal
    currency: str
    r_score: int
    f_score: int
    m_score: int
    rfm_class: RfmClass


@dataclass(frozen=True)
class RfmClassTotals:
    count: int
    revenue: Decimal
    mean_recency_days: float | None
    mean_frequency: float | None
    mean_monetary: Decimal | None


@dataclass(frozen=True)
class RfmSummary:
    """The population (N), the cuts it was split at, and the totals of each class."""

    cut: RfmCut
    currency: str
    population: int
    recency_cut_days: float | None
    frequency_cut: float | None
    monetary_cut: Decimal | None
    classes: dict[RfmClass, RfmClassTotals]
