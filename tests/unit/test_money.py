"""The one decimal parser: the same rule for every amount (domain/money.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import DomainError, ErrorCode
from domain.money import parse_decimal, parse_money

FIELD = ("input", "amount")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("10", "10.00"), ("10.000", "10.00"), ("10.5", "10.50"), (7, "7.00"), ("0", "0.00")],
)
def test_money_has_one_spelling_and_trailing_zeros_do_not_count(given, expected):
    assert str(parse_money(given, FIELD)) == expected


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("10.001", ErrorCode.INVALID),
        ("abc", ErrorCode.INVALID),
        ("NaN", ErrorCode.INVALID),
        ("Infinity", ErrorCode.INVALID),
        ("-1", ErrorCode.INVALID),
        ("1e30", ErrorCode.INVALID),
        (None, ErrorCode.REQUIRED),
    ],
)
def test_bad_money_is_refused_naming_the_field(given, code):
    with pytest.raises(DomainError) as refused:
        parse_money(given, FIELD)
    assert refused.value.code is code
    assert refused.value.field == FIELD


def test_positive_money_refuses_zero_and_bounds_are_the_callers():
    with pytest.raises(DomainError, match="greater than 0"):
        parse_money("0", FIELD, positive=True)
    with pytest.raises(DomainError, match="larger than 100"):
        parse_money("100.01", FIELD, high=Decimal(100))


def test_other_decimals_follow_the_same_rule_with_their_own_places():
    field = ("input", "earnRate")
    assert str(parse_decimal("2.50000", field, places=4, low=Decimal(0), high=Decimal(9))) == (
        "2.5000"
    )
    with pytest.raises(DomainError, match="more than 4 decimals"):
        parse_decimal("2.00001", field, places=4, low=Decimal(0), high=Decimal(9))
