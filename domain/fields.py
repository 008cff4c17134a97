"""Checks on single input values, each naming the field at fault."""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import DomainError, ErrorCode

MAX_LIST_ITEMS = 1000


def required_text(value: str | None, field: Sequence[str], *, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, field, f"{field[-1]} must not be empty.")
    if len(text) > max_length:
        raise DomainError(
            ErrorCode.TOO_LONG, field, f"{field[-1]} is longer than {max_length} characters."
        )
    return text


def optional_text(value: str | None, field: Sequence[str], *, max_length: int) -> str | None:
    """Blank means "no value"; anything else is trimmed and length-checked."""
    if value is None or not value.strip():
        return None
    return required_text(value, field, max_length=max_length)


def bounded_list(
    items: Sequence[object], field: Sequence[str], *, limit: int = MAX_LIST_ITEMS
) -> None:
    if len(items) > limit:
        raise DomainError(
            ErrorCode.TOO_MANY, field, f"{field[-1]} has {len(items)} items; the limit is {limit}."
        )
