"""The A/B verdict's three outcomes and the funnel's rates, on hand-made counts."""

from __future__ import annotations

from decimal import Decimal

from scipy.stats import chi2_contingency

from domain.campaigns import (
    HOLDOUT,
    ArmCounts,
    TouchpointEvent,
    Verdict,
    compare,
    funnel,
    sample_size,
)


def test_too_few_reached_customers_is_not_enough_data_whatever_the_difference():
    result = compare(("A", 1, 99), ("B", 60, 99))
    assert result.verdict is Verdict.NOT_ENOUGH_DATA and result.winner is None
    assert result.p_value is not None and result.p_value < 0.001


def test_a_significant_difference_names_the_better_arm_even_the_baseline():
    result = compare(("A", 60, 200), ("B", 30, 200))
    p = chi2_contingency([[60, 140], [30, 170]], correction=False)[1]
    assert abs(result.p_value - p) < 1e-12
    assert (result.verdict, result.winner) == (Verdict.VARIANT_WINS, "A")


def test_no_difference_needs_arms_large_enough_to_see_a_fifth_more_than_the_baseline():
    underpowered = compare(("A", 20, 200), ("B", 24, 200))
    assert underpowered.p_value > 0.05 and underpowered.more_needed > 0
    assert underpowered.verdict is Verdict.NOT_ENOUGH_DATA
    # 20 % against 24 % needs about 1,700 per arm; 5,000 each saw no difference.
    assert sample_size(0.2, 0.24) < 5000
    powered = compare(("A", 1000, 5000), ("B", 1010, 5000))
    assert powered.p_value > 0.05 and powered.more_needed > 0
    assert powered.verdict is Verdict.NO_DIFFERENCE and powered.winner is None
    same = compare(("A", 100, 1000), ("B", 100, 1000))
    assert (same.lift, same.sample_size_needed, same.more_needed) == (0, None, None)
    assert same.verdict is Verdict.NOT_ENOUGH_DATA  # 1,000 each cannot see 10 % → 12 %
    nobody = compare(("A", 0, 0), ("B", 0, 0))
    assert nobody.verdict is Verdict.NOT_ENOUGH_DATA and nobody.lift is None


def test_funnel_rates_and_lift_against_the_holdout():
    steps = dict.fromkeys(TouchpointEvent, 0)
    a = ArmCounts(
        "A",
        100,
        {**steps, TouchpointEvent.SENT: 80, TouchpointEvent.DELIVERED: 40},
        8,
        9,
        Decimal("900.00"),
    )
    held = ArmCounts(HOLDOUT, 25, steps, 1, 0, Decimal(0))
    arm, holdout = funnel([a, held])
    assert arm.step_conversion["SENT"] == 0.8 and arm.step_conversion["DELIVERED"] == 0.5
    assert arm.step_conversion["OPENED"] == 0 and arm.step_conversion["CLICKED"] is None
    assert arm.conversion_rate == 0.1 and abs(arm.incremental_lift - (0.1 - 0.04)) < 1e-12
    assert holdout.conversion_rate == 0.04 and holdout.incremental_lift is None
