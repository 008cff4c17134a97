"""Tier administration input: the commands and the checks an admin's values pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import optional_text, required_text
from domain.tiers.rules import Tier, plain

MAX_TIER_NAME = 64
MAX_BENEFITS = 2000
MAX_RANK = 1000
MAX_THRESHOLD = Decimal("1000000000000")  # fits Numeric(18, 2) with room to spare
MAX_MULTIPLIER = Decimal("10")


@dataclass(frozen=True)
class CreateTier:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal
    benefits: str | None = None


@dataclass(frozen=True)
class UpdateTier:
    """UNSET leaves a field as it is."""

    tier_id: int
    name: Any = UNSET
    rank: Any = UNSET
    threshold: Any = UNSET
    earn_multiplier: Any = UNSET
    benefits: Any = UNSET


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_threshold(value: Any, field: Sequence[str]) -> Decimal:
    amount = _as_decimal(value, field, "threshold")
    if amount < 0:
        raise DomainError(ErrorCode.INVALID, field, "threshold must not be negative.")
    if amount > MAX_THRESHOLD:
        raise DomainError(ErrorCode.INVALID, field, f"threshold must be at most {MAX_THRESHOLD}.")
    if _decimal_places(amount) > 2:
        raise DomainError(ErrorCode.INVALID, field, "threshold has more than 2 decimal places.")
    return plain(amount)


def check_multiplier(value: Any, field: Sequence[str]) -> Decimal:
    factor = _as_decimal(value, field, "earnMultiplier")
    if not Decimal(0) < factor <= MAX_MULTIPLIER:
        raise DomainError(
            ErrorCode.INVALID,
            field,
            f"earnMultiplier must be above 0 and at most {MAX_MULTIPLIER}.",
        )
    if _decimal_places(factor) > 3:
        raise DomainError(
            ErrorCode.INVALID, field, "earnMultiplier has more than 3 decimal places."
        )
    return plain(factor)


def check_rank(value: Any, field: Sequence[str]) -> int:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, "rank cannot be null.")
    if not 0 <= value <= MAX_RANK:
        raise DomainError(ErrorCode.INVALID, field, f"rank must be between 0 and {MAX_RANK}.")
    return int(value)


def _as_decimal(value: Any, field: Sequence[str], name: str) -> Decimal:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, f"{name} cannot be null.")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(ErrorCode.INVALID, field, f"{name} is not a number.") from None
    if not number.is_finite():
        raise DomainError(ErrorCode.INVALID, field, f"{name} is not a number.")
    return number


def check_order(tier: Tier, others: Sequence[Tier]) -> None:
    """Rank and name unique, and thresholds rising strictly with rank."""
    for other in others:
        if other.key == tier.key:
            raise DomainError(ErrorCode.TAKEN, ("name",), f"A tier {other.name!r} exists.")
        if other.rank == tier.rank:
            raise DomainError(
                ErrorCode.TAKEN, ("rank",), f"Tier {other.name!r} has rank {other.rank}."
            )
    for other in others:
        wrong_below = other.rank < tier.rank and other.threshold >= tier.threshold
        wrong_above = other.rank > tier.rank and other.threshold <= tier.threshold
        if wrong_below or wrong_above:
            side = "above" if wrong_below else "below"
            raise DomainError(
                ErrorCode.INVALID,
                ("threshold",),
                f"threshold must be {side} {other.threshold} of {other.name!r} "
                f"(rank {other.rank}): thresholds rise with rank.",
            )


FIELD_CHECKS: dict[str, Callable[[Any, Sequence[str]], Any]] = {
    "name": lambda v, f: required_text(v, f, max_length=MAX_TIER_NAME),
    "rank": check_rank,
    "threshold": check_threshold,
    "earn_multiplier": check_multiplier,
    "benefits": lambda v, f: optional_text(v, f, max_length=MAX_BENEFITS),
}


def checked_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The given tier fields, cleaned, or every problem among them at once."""
    errors = ErrorCollector()
    clean: dict[str, Any] = {}
    for name, value in values.items():
        try:
            clean[name] = FIELD_CHECKS[name](value, (name,))
        except DomainError as exc:
            errors.capture(exc)
    errors.raise_if_any()
    return clean
