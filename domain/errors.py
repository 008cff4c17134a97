"""Business refusals.

A refusal is a `DomainError(code, field, message)`: the API turns it into a payload's
`userErrors`, never into a top-level GraphQL error. `field` is the path of the value
at fault in the domain's own snake_case names, relative to the command (e.g.
``("email",)``, ``("items", "3", "unit_price")``; list indexes as strings; ``()``
for the command as a whole). The API maps it to the input path the client sent
(``api.errors.user_errors``), so a form can show it beside the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TypeVar


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_MANY = "TOO_MANY"
    NOT_FOUND = "NOT_FOUND"
    WRONG_TYPE = "WRONG_TYPE"
    TAKEN = "TAKEN"
    IN_USE = "IN_USE"
    ERASED = "ERASED"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    REFUND_EXCEEDS_ORDER = "REFUND_EXCEEDS_ORDER"
    SELF_REFERRAL = "SELF_REFERRAL"
    ALREADY_REFERRED = "ALREADY_REFERRED"
    REFEREE_HAS_ORDERS = "REFEREE_HAS_ORDERS"
    REFERRAL_LIMIT_REACHED = "REFERRAL_LIMIT_REACHED"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    TIER_TOO_LOW = "TIER_TOO_LOW"
    REWARD_INACTIVE = "REWARD_INACTIVE"
    ALREADY_USED = "ALREADY_USED"
    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    INVALID_RULE = "INVALID_RULE"
    READ_ONLY = "READ_ONLY"
    # Coupons (domain/coupons.py)
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    MIN_SPEND_NOT_MET = "MIN_SPEND_NOT_MET"
    NOT_STACKABLE = "NOT_STACKABLE"
    TEMPLATE_ARCHIVED = "TEMPLATE_ARCHIVED"
    RULE_INACTIVE = "RULE_INACTIVE"
    DUPLICATE = "DUPLICATE"
    # Identities and lookup keys (domain/identities.py, domain/customers.py)
    IDENTITY_TAKEN = "IDENTITY_TAKEN"
    AMBIGUOUS_CUSTOMER = "AMBIGUOUS_CUSTOMER"


class DomainError(Exception):
    def __init__(self, code: ErrorCode, field: Sequence[str] | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = tuple(field) if field is not None else None
        self.message = message

    def __repr__(self) -> str:
        return f"DomainError({self.code}, {self.field}, {self.message!r})"


class ConcurrentWrite(Exception):
    """Another transaction wrote the same unique row first (e.g. the same order
    externalId at the same moment). The unit of work raises it; services retry, and
    the retry sees the other write (and replays or refuses accordingly)."""


class InvalidInput(Exception):
    """Several refusals found while checking one input; none of it was written."""

    def __init__(self, errors: Iterable[DomainError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


class ErrorCollector:
    """Collects every problem of an input so the caller sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, code: ErrorCode, field: Sequence[str], message: str) -> None:
        self.errors.append(DomainError(code, field, message))

    def capture(self, error: DomainError) -> None:
        self.errors.append(error)

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)


T = TypeVar("T")


def present(value: T | None, what: str) -> T:
    """`value`, which the caller knows exists (an id of a saved row, a row it holds
    locked); None here is a bug, not a refusal, so it is an assertion, not a DomainError."""
    if value is None:
        raise AssertionError(f"{what} is missing")
    return value
