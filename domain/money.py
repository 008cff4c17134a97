"""The one parser for decimal input: money amounts (orders, refunds, item prices,
reward values, tier spend thresholds, the referral minimum order) and the other
decimal settings.

The rule, the same everywhere:
- the value is read from its text (``Decimal(str(value))``), so a float arrives as
  the number it prints as, and anything else that is not a number is refused;
- it must be finite (no NaN, no Infinity);
- its decimals are counted after dropping trailing zeros, so ``"10.000"`` is
  ``10.00`` and accepted, while ``"10.001"`` is refused: money has at most the
  currency's 2 minor-unit decimals (every supported program currency has 2);
- it must lie within the bounds the caller names (every caller has an upper bound,
  so a stored amount always fits its column);
- it comes back quantized to exactly that many places, one spelling per amount
  ("100", "100.0" and "100.00" alike), so a retried request fingerprints the same
  and every read shows what was stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import DomainError, ErrorCode

MONEY_PLACES = 2
# The largest amount a money column (NUMERIC(18, 2)) can hold.
MAX_MONEY = Decimal("9999999999999999.99")


def decimal_places(value: Decimal) -> int:
    """Decimals that carry a digit (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def parse_decimal(
    value: Any,
    field: Sequence[str],
    *,
    places: int,
    low: Decimal,
    high: Decimal,
    low_inclusive: bool = True,
    name: str | None = None,
) -> Decimal:
    """`value` as a Decimal with at most `places` decimals within [low, high] (or
    (low, high] without `low_inclusive`); a refusal names `field`."""
    label = name or field[-1]
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, f"{label} cannot be null.")
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError(ErrorCode.INVALID, field, f"{label} is not a number.") from None
    if not number.is_finite():
        raise DomainError(ErrorCode.INVALID, field, f"{label} is not a number.")
    if low_inclusive and number < low:
        below = "must not be negative" if low == 0 else f"must be at least {low}"
        raise DomainError(ErrorCode.INVALID, field, f"{label} {below}.")
    if not low_inclusive and number <= low:
        raise DomainError(ErrorCode.INVALID, field, f"{label} must be greater than {low}.")
    if number > high:
        raise DomainError(ErrorCode.INVALID, field, f"{label} is larger than {high}.")
    if decimal_places(number) > places:
        raise DomainError(ErrorCode.INVALID, field, f"{label} has more than {places} decimals.")
    return number.quantize(Decimal(1).scaleb(-places))


def parse_money(
    value: Any,
    field: Sequence[str],
    *,
    positive: bool = False,
    high: Decimal = MAX_MONEY,
    name: str | None = None,
) -> Decimal:
    """An amount of money: 0 or more (above 0 when `positive`), at most `high`, at
    most 2 decimals."""
    return parse_decimal(
        value,
        field,
        places=MONEY_PLACES,
        low=Decimal(0),
        high=high,
        low_inclusive=not positive,
        name=name,
    )
