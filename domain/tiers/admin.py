"""Tier administration input: the commands and the checks an admin's values pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import optional_text, required_text
from domain.money import parse_decimal, parse_money
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


def check_threshold(value: Any, field: Sequence[str]) -> Decimal:
    return plain(parse_money(value, field, high=MAX_THRESHOLD, name="threshold"))


def check_multiplier(value: Any, field: Sequence[str]) -> Decimal:
    factor = parse_decimal(
        value,
        field,
        places=3,
        low=Decimal(0),
        low_inclusive=False,
        high=MAX_MULTIPLIER,
        name="earn multiplier",
    )
    return plain(factor)


def check_rank(value: Any, field: Sequence[str]) -> int:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, "rank cannot be null.")
    if not 0 <= value <= MAX_RANK:
        raise DomainError(ErrorCode.INVALID, field, f"rank must be between 0 and {MAX_RANK}.")
    return int(value)


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
    "benefits": lambda v, f: optional_text(v, f, max_length=MAX_BENEFITS, multiline=True),
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
