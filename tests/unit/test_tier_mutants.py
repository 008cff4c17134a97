"""The tier decisions at their edges: equal thresholds and ranks, tiers given out of
rank order, the exact retention boundary, values exactly at a threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import DomainError, ErrorCode
from domain.program import ProgramSettings
from domain.tiers import (
    DOWNGRADE_REASON,
    UPGRADE_REASON,
    Direction,
    Standing,
    Tier,
    by_rank,
    check_order,
    decide_downgrade,
    decide_upgrade,
    progress,
    qualifying_tier,
    qualifying_window,
    retention_over,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
LOW = Tier(11, "Low", 1, Decimal(0), Decimal(1))
MID = Tier(12, "Mid", 2, Decimal(100), Decimal("1.5"))
TOP = Tier(13, "Top", 3, Decimal(500), Decimal(2))
SHUFFLED = [TOP, LOW, MID]  # the decisions must not depend on the order given


def held(tier: Tier | None, days: int | None = 400) -> Standing:
    return Standing(7, tier.id if tier else None, NOW - timedelta(days=days) if days else None)


def test_a_threshold_equal_to_a_lower_ranks_is_refused():
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "New", 4, Decimal(500), Decimal(1)), SHUFFLED)
    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.message == (
        "threshold must be above 500 of 'Top' (rank 3): thresholds rise with rank."
    )
    assert caught.value.field and caught.value.field[-1] == "threshold"


def test_a_threshold_equal_to_a_higher_ranks_is_refused():
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "New", 0, Decimal(0), Decimal(1)), SHUFFLED)
    assert caught.value.code is ErrorCode.INVALID
    assert caught.value.message == (
        "threshold must be below 0 of 'Low' (rank 1): thresholds rise with rank."
    )


def test_a_threshold_between_its_neighbours_is_accepted():
    check_order(Tier(None, "New", 4, Decimal("500.01"), Decimal(1)), SHUFFLED)
    check_order(Tier(None, "New", 0, Decimal("-0.01"), Decimal(1)), SHUFFLED)
    # The tier itself, renamed and re-thresholded in place, is not compared with itself.
    check_order(Tier(12, "Middle", 2, Decimal("499.99"), Decimal(1)), [LOW, TOP])


def test_same_rank_or_name_is_taken_whatever_the_threshold():
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "Other", 2, Decimal(200), Decimal(1)), SHUFFLED)
    assert caught.value.code is ErrorCode.TAKEN
    assert caught.value.message == "Tier 'Mid' has rank 2."
    assert caught.value.field and caught.value.field[-1] == "rank"
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "MID", 9, Decimal(9000), Decimal(1)), SHUFFLED)
    assert caught.value.code is ErrorCode.TAKEN
    assert caught.value.message == "A tier 'Mid' exists."
    assert caught.value.field and caught.value.field[-1] == "name"


def test_qualifying_tier_reaches_a_threshold_exactly_and_picks_the_highest_rank():
    assert qualifying_tier(SHUFFLED, Decimal(100)) is MID
    assert qualifying_tier(SHUFFLED, Decimal("99.99")) is LOW
    assert qualifying_tier(SHUFFLED, Decimal(500)) is TOP
    assert qualifying_tier(SHUFFLED, Decimal(-1)) is None
    assert qualifying_tier([], Decimal(10)) is None
    assert by_rank(SHUFFLED) == [LOW, MID, TOP]


def test_window_spans_the_configured_days():
    window = qualifying_window(ProgramSettings(tier_window_days=30), NOW)
    assert (window.start, window.end) == (NOW - timedelta(days=30), NOW)


def test_upgrade_from_nothing_and_from_a_lower_tier():
    change = decide_upgrade(SHUFFLED, held(None), Decimal(100), NOW)
    assert (change.from_tier, change.to_tier, change.direction) == (None, MID, Direction.UPGRADE)
    assert (change.customer_id, change.reason, change.at, change.qualifying_value) == (
        7,
        UPGRADE_REASON,
        NOW,
        Decimal(100),
    )
    change = decide_upgrade(SHUFFLED, held(MID), Decimal(500), NOW)
    assert (change.from_tier, change.to_tier) == (MID, TOP)


def test_no_upgrade_to_the_same_or_a_lower_tier_or_below_every_threshold():
    assert decide_upgrade(SHUFFLED, held(MID), Decimal(100), NOW) is None
    assert decide_upgrade(SHUFFLED, held(TOP), Decimal(100), NOW) is None
    assert decide_upgrade([MID, TOP], held(None), Decimal(5), NOW) is None


def test_retention_boundary_counts():
    assert retention_over(NOW - timedelta(days=30), NOW, 30)
    assert not retention_over(NOW - timedelta(days=30) + timedelta(seconds=1), NOW, 30)
    assert retention_over(None, NOW, 30)


def test_downgrade_lands_on_the_tier_the_value_reaches():
    change = decide_downgrade(SHUFFLED, held(TOP), Decimal(100), NOW, 30)
    assert (change.from_tier, change.to_tier, change.direction) == (
        TOP,
        MID,
        Direction.DOWNGRADE,
    )
    assert (change.reason, change.at, change.qualifying_value, change.customer_id) == (
        DOWNGRADE_REASON,
        NOW,
        Decimal(100),
        7,
    )
    change = decide_downgrade([MID, TOP], held(MID), Decimal(99), NOW, 30)
    assert change.to_tier is None


def test_no_downgrade_at_exactly_the_threshold_without_a_tier_or_within_retention():
    assert decide_downgrade(SHUFFLED, held(MID), Decimal(100), NOW, 30) is None
    assert decide_downgrade(SHUFFLED, held(None), Decimal(0), NOW, 30) is None
    assert decide_downgrade(SHUFFLED, held(MID, days=29), Decimal(0), NOW, 30) is None
    assert decide_downgrade(SHUFFLED, held(MID, days=30), Decimal(0), NOW, 30) is not None


def test_no_downgrade_to_a_tier_ranked_the_same_or_higher():
    # A threshold edited upwards can leave a held tier below a lower-ranked one's
    # threshold; the daily job never moves anyone up or sideways.
    odd = [Tier(21, "A", 1, Decimal(50), Decimal(1)), Tier(22, "B", 2, Decimal(40), Decimal(1))]
    assert decide_downgrade(odd, Standing(7, 21, None), Decimal(45), NOW, 30) is None
    same = [Tier(21, "A", 1, Decimal(50), Decimal(1))]
    assert decide_downgrade(same, Standing(7, 21, None), Decimal(40), NOW, 30).to_tier is None


def test_progress_next_is_the_rank_just_above():
    at_low = progress(SHUFFLED, LOW.id, Decimal(30))
    assert (at_low.current, at_low.next, at_low.remaining_to_next) == (LOW, MID, Decimal(70))
    assert at_low.qualifying_value == Decimal(30)
    past = progress(SHUFFLED, LOW.id, Decimal(120))  # not upgraded yet: nothing remains
    assert (past.next, past.remaining_to_next) == (MID, Decimal(0))
    none = progress(SHUFFLED, None, Decimal(0))
    assert (none.current, none.next, none.remaining_to_next) == (None, LOW, Decimal(0))
    top = progress(SHUFFLED, TOP.id, Decimal(900))
    assert (top.current, top.next, top.remaining_to_next) == (TOP, None, None)
    unknown = progress(SHUFFLED, 99, Decimal(1))
    assert (unknown.current, unknown.next) == (None, LOW)
