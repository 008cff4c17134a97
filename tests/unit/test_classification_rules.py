"""The lifecycle and RFM rules in plain Python (domain/classification.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.classification import (
    RFM_SEED_NAMES,
    STAGE_SEED_NAMES,
    Cut,
    LifecycleStage,
    RfmClass,
    RfmFacts,
    classify_population,
    lifecycle_stage,
    rfm_class,
    score,
)
from domain.program import ProgramSettings, RfmCut

T = datetime(2024, 6, 30, 12, tzinfo=UTC)
D = timedelta(days=1)
US = timedelta(microseconds=1)
P = ProgramSettings()


@pytest.mark.parametrize(
    ("first", "last", "stage"),
    [
        (None, None, LifecycleStage.PROSPECT),
        (T - 7 * D + US, T, LifecycleStage.NEW),
        (T - 7 * D, T - 7 * D, LifecycleStage.ACTIVE),
        (T - 180 * D, T - 30 * D, LifecycleStage.LOYAL),
        (T - 180 * D + US, T - 30 * D, LifecycleStage.ACTIVE),
        (T - 180 * D, T - 30 * D - US, LifecycleStage.SILENT),
        (T - 100 * D, T - 90 * D, LifecycleStage.SILENT),
        (T - 100 * D, T - 90 * D - US, LifecycleStage.CHURNED),
        # NEW wins over LOYAL's condition on the last order: first match wins.
        (T - D, T, LifecycleStage.NEW),
    ],
)
def test_lifecycle_stage(first, last, stage) -> None:  # noqa: ANN001
    assert lifecycle_stage(T, first, last, P) == stage


def test_every_stage_and_class_has_its_seed_name() -> None:
    assert set(STAGE_SEED_NAMES) == set(LifecycleStage)
    assert set(RFM_SEED_NAMES) == set(RfmClass)
    assert STAGE_SEED_NAMES[LifecycleStage.SILENT] == "沉默客户"
    assert RFM_SEED_NAMES[RfmClass.IMPORTANT_WINBACK] == "重要挽留客户"


def test_the_eight_classes() -> None:
    assert rfm_class(recent=True, frequent=True, high_value=True) == RfmClass.IMPORTANT_VALUE
    assert rfm_class(recent=True, frequent=False, high_value=True) == RfmClass.IMPORTANT_DEVELOP
    assert rfm_class(recent=False, frequent=True, high_value=True) == RfmClass.IMPORTANT_RETAIN
    assert rfm_class(recent=False, frequent=False, high_value=True) == RfmClass.IMPORTANT_WINBACK
    assert rfm_class(recent=True, frequent=True, high_value=False) == RfmClass.GENERAL_VALUE
    assert rfm_class(recent=True, frequent=False, high_value=False) == RfmClass.GENERAL_DEVELOP
    assert rfm_class(recent=False, frequent=True, high_value=False) == RfmClass.GENERAL_RETAIN
    assert rfm_class(recent=False, frequent=False, high_value=False) == RfmClass.GENERAL_WINBACK


def test_score_reaches_five_only_when_enough_customers_are_worse() -> None:
    assert score(0, 1) == 1  # a population of one scores 1: nobody is worse
    assert score(1, 2) == 3
    assert score(3, 4) == 4  # 1 + floor(15/4)
    assert score(4, 5) == 5
    assert [score(w, 10) for w in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_cuts_are_exact_fractions() -> None:
    mean = Cut.of([1, 2, 2], RfmCut.MEAN)  # 5/3
    assert (mean.numerator, mean.denominator) == (5, 3)
    assert mean.above(2) and not mean.above(1)
    assert Cut.of([4, 1, 3, 2], RfmCut.MEDIAN).value == 2.5
    assert Cut.of([5, 1, 3], RfmCut.MEDIAN).value == 3
    tie = Cut.of([1, 2, 3], RfmCut.MEAN)
    assert not tie.below(2) and not tie.above(2)


def test_classify_population_with_ties_at_the_mean() -> None:
    day = 86_400_000
    facts = {
        1: RfmFacts(1 * day, 2, 15000),
        2: RfmFacts(3 * day, 1, 10000),
        3: RfmFacts(5 * day, 3, 10000),
        4: RfmFacts(3 * day, 2, 5000),
    }
    result = classify_population(facts, RfmCut.MEAN)
    assert {k: (r.r_score, r.f_score, r.m_score, r.rfm_class) for k, r in result.items()} == {
        1: (4, 2, 4, RfmClass.IMPORTANT_DEVELOP),
        2: (2, 1, 2, RfmClass.GENERAL_WINBACK),
        3: (1, 4, 2, RfmClass.GENERAL_RETAIN),
        4: (2, 2, 1, RfmClass.GENERAL_WINBACK),
    }
    assert classify_population({}, RfmCut.MEAN) == {}
