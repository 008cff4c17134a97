"""Reward rules and redemption codes, without a database."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from domain.errors import DomainError, ErrorCollector
from domain.redemptions import (
    CODE_ALPHABET,
    CODE_LENGTH,
    check_redeemable,
    display_code,
    new_code,
    normalize_code,
)
from domain.rewards import Reward, RewardFields, RewardKind, apply_fields
from tests.conftest import utc


def test_codes_carry_over_sixty_bits_without_ambiguous_characters():
    assert CODE_LENGTH * math.log2(len(set(CODE_ALPHABET))) >= 60
    assert not set("01OIL") & set(CODE_ALPHABET)
    drawn = {new_code() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in drawn)


def test_a_code_is_found_however_it_is_typed():
    code = new_code()
    shown = display_code(code)
    assert shown.count("-") == 2
    assert normalize_code(shown.lower()) == code
    assert normalize_code(f" {code[:5]} {code[5:]} ") == code
    assert normalize_code(code[:-1] + "0") is None  # 0 is never in a code
    assert normalize_code(code + "A") is None


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("DISCOUNT_PERCENT", "100", True),
        ("DISCOUNT_PERCENT", "0", False),
        ("DISCOUNT_PERCENT", "100.01", False),
        ("DISCOUNT_PERCENT", None, False),
        ("DISCOUNT_AMOUNT", "0.01", True),
        ("DISCOUNT_AMOUNT", "0", False),
        ("DISCOUNT_AMOUNT", "1.005", False),
        ("FREE_PRODUCT", None, True),
        ("CUSTOM", "-1", False),
    ],
)
def test_value_is_checked_per_kind(kind, value, ok):
    errors = ErrorCollector()
    draft = Reward(id=None, name="x", points_cost=1, kind=RewardKind.CUSTOM)
    apply_fields(draft, RewardFields(kind=kind, value=Decimal(value) if value else None), errors)
    assert (errors.errors == []) is ok


def test_refusals_come_in_the_order_a_shopper_should_hear_them():
    now = utc(2026, 6, 1)
    reward = Reward(
        id=1,
        name="x",
        points_cost=1,
        kind=RewardKind.CUSTOM,
        stock=0,
        limit_per_customer=1,
        active_until=utc(2026, 1, 1),
    )

    def code(**kwargs) -> str:  # noqa: ANN003
        args = {"customer_rank": 1, "lowest_rank": 2, "held": 1} | kwargs
        with pytest.raises(DomainError) as caught:
            check_redeemable(reward, now, **args)
        return caught.value.code.value

    assert code() == "REWARD_INACTIVE"
    reward.active_until = None
    assert code() == "TIER_TOO_LOW"
    assert code(customer_rank=None, lowest_rank=0) == "TIER_TOO_LOW"
    assert code(customer_rank=2) == "LIMIT_REACHED"
    assert code(customer_rank=2, held=0) == "OUT_OF_STOCK"
    reward.stock = None
    check_redeemable(reward, now, customer_rank=2, lowest_rank=2, held=0)
