"""The tier rules without a database: qualification, upgrade, downgrade, progress."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.program import ProgramSettings
from domain.tiers import (
    DEFAULT_TIERS,
    Direction,
    Standing,
    Tier,
    check_order,
    checked_fields,
    decide_downgrade,
    decide_upgrade,
    progress,
    qualifying_tier,
    qualifying_window,
)

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
TIERS = [
    Tier(i + 1, s.name, s.rank, s.threshold, s.earn_multiplier, s.benefits)
    for i, s in enumerate(DEFAULT_TIERS)
]
BRONZE, SILVER, GOLD, DIAMOND = TIERS


def standing(tier: Tier | None, since: datetime | None = None) -> Standing:
    return Standing(7, tier.id if tier else None, since)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", BRONZE), ("999.99", BRONZE), ("1000", SILVER), ("4999", GOLD), ("5000", DIAMOND)],
)
def test_qualifying_tier_is_the_highest_rank_whose_threshold_is_reached(value, expected):
    assert qualifying_tier(TIERS, Decimal(value)) == expected


def test_no_tier_qualifies_below_the_lowest_threshold():
    tiers = [Tier(1, "Silver", 2, Decimal(1000), Decimal("1.2"))]
    assert qualifying_tier(tiers, Decimal(999)) is None


def test_window_ends_now_and_spans_the_window_days():
    window = qualifying_window(ProgramSettings(tier_window_days=30), NOW)
    assert (window.start, window.end) == (NOW - timedelta(days=30), NOW)


def test_first_order_reaches_a_zero_threshold_tier():
    change = decide_upgrade(TIERS, standing(None), Decimal(0), NOW)
    assert change.to_tier == BRONZE and change.from_tier is None
    assert change.direction is Direction.UPGRADE


def test_upgrade_skips_levels_when_an_order_crosses_several_thresholds():
    change = decide_upgrade(TIERS, standing(BRONZE, NOW), Decimal(3200), NOW)
    assert (change.from_tier, change.to_tier) == (BRONZE, GOLD)


def test_upgrade_never_moves_down_or_sideways():
    assert decide_upgrade(TIERS, standing(GOLD, NOW), Decimal(3000), NOW) is None
    assert decide_upgrade(TIERS, standing(GOLD, NOW), Decimal(10), NOW) is None


def test_downgrade_waits_for_the_retention_to_be_over():
    held_since = NOW - timedelta(days=365) + timedelta(seconds=1)
    assert decide_downgrade(TIERS, standing(GOLD, held_since), Decimal(1500), NOW, 365) is None


def test_downgrade_happens_exactly_at_the_retention_boundary():
    held_since = NOW - timedelta(days=365)
    change = decide_downgrade(TIERS, standing(GOLD, held_since), Decimal(1500), NOW, 365)
    assert (change.from_tier, change.to_tier) == (GOLD, SILVER)
    assert change.direction is Direction.DOWNGRADE


def test_no_downgrade_while_the_value_still_reaches_the_threshold():
    long_ago = NOW - timedelta(days=1000)
    assert decide_downgrade(TIERS, standing(GOLD, long_ago), Decimal(3000), NOW, 365) is None


def test_downgrade_can_drop_several_levels_or_to_no_tier():
    long_ago = NOW - timedelta(days=1000)
    change = decide_downgrade(TIERS, standing(DIAMOND, long_ago), Decimal(0), NOW, 365)
    assert change.to_tier == BRONZE
    no_bronze = [SILVER, GOLD]
    change = decide_downgrade(no_bronze, standing(SILVER, long_ago), Decimal(10), NOW, 365)
    assert change.to_tier is None


def test_progress_names_the_next_tier_and_what_remains():
    found = progress(TIERS, SILVER.id, Decimal(1200))
    assert (found.current, found.next, found.remaining_to_next) == (SILVER, GOLD, Decimal(1800))


def test_progress_at_the_top_has_no_next_tier():
    found = progress(TIERS, DIAMOND.id, Decimal(9000))
    assert found.next is None and found.remaining_to_next is None


def test_progress_without_a_tier_points_at_the_lowest():
    found = progress(TIERS, None, Decimal(0))
    assert (found.current, found.next, found.remaining_to_next) == (None, BRONZE, Decimal(0))


def test_field_checks_report_every_problem_with_its_field():
    with pytest.raises(InvalidInput) as caught:
        checked_fields(
            {
                "name": " ",
                "rank": -1,
                "threshold": Decimal("-1"),
                "earn_multiplier": Decimal("0"),
                "benefits": "x" * 2001,
            }
        )
    found = {(e.field, e.code) for e in caught.value.errors}
    assert found == {
        (("name",), ErrorCode.REQUIRED),
        (("rank",), ErrorCode.INVALID),
        (("threshold",), ErrorCode.INVALID),
        (("earn_multiplier",), ErrorCode.INVALID),
        (("benefits",), ErrorCode.TOO_LONG),
    }


@pytest.mark.parametrize("factor", ["0", "-1", "10.001", "1.2345"])
def test_multiplier_must_be_above_zero_and_at_most_ten(factor):
    with pytest.raises(InvalidInput):
        checked_fields({"earn_multiplier": Decimal(factor)})


def test_multiplier_of_ten_is_allowed():
    assert checked_fields({"earn_multiplier": Decimal(10)}) == {"earn_multiplier": Decimal(10)}


def test_names_are_unique_ignoring_case_and_ranks_are_unique():
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, " gold ", 9, Decimal(9000), Decimal(1)), TIERS)
    assert (caught.value.code, caught.value.field) == (ErrorCode.TAKEN, ("name",))
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "Platinum", 3, Decimal(9000), Decimal(1)), TIERS)
    assert (caught.value.code, caught.value.field) == (ErrorCode.TAKEN, ("rank",))


def test_thresholds_must_rise_with_rank():
    with pytest.raises(DomainError) as caught:
        check_order(Tier(None, "Platinum", 5, Decimal(4000), Decimal(3)), TIERS)
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID, ("threshold",))
    check_order(Tier(None, "Platinum", 5, Decimal(8000), Decimal(3)), TIERS)
