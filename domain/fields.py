"""Checks on single input values, each naming the field at fault."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.errors import DomainError, ErrorCode

MAX_LIST_ITEMS = 1000

# C0 controls, DEL and C1 controls (Unicode category Cc). A NUL cannot be stored by
# PostgreSQL at all, and the others hide in logs, exports and printed receipts.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
# A multi-line free text (a description, a tier's benefits, a comment) keeps its
# line breaks and tabs; everything else is one line.
MULTILINE_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def refuse_control_characters(value: str, field: Sequence[str], *, multiline: bool = False) -> None:
    """Refuses NUL and the other control characters, naming the field.

    `multiline` allows line feeds, carriage returns and tabs (free-text fields)."""
    pattern = MULTILINE_CONTROL_CHARACTERS if multiline else CONTROL_CHARACTERS
    found = pattern.search(value)
    if found is not None:
        raise DomainError(
            ErrorCode.INVALID,
            field,
            f"{field[-1]} contains a control character (U+{ord(found.group()):04X}).",
        )


def required_text(
    value: str | None, field: Sequence[str], *, max_length: int, multiline: bool = False
) -> str:
    """Trimmed, non-empty, at most `max_length` characters and free of control
    characters (line breaks and tabs allowed when `multiline`)."""
    text = (value or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, field, f"{field[-1]} must not be empty.")
    if len(text) > max_length:
        raise DomainError(
            ErrorCode.TOO_LONG, field, f"{field[-1]} is longer than {max_length} characters."
        )
    refuse_control_characters(text, field, multiline=multiline)
    return text


def optional_text(
    value: str | None, field: Sequence[str], *, max_length: int, multiline: bool = False
) -> str | None:
    """Blank means "no value"; anything else is checked as `required_text`."""
    if value is None or not value.strip():
        return None
    return required_text(value, field, max_length=max_length, multiline=multiline)


def bounded_list(
    items: Sequence[object], field: Sequence[str], *, limit: int = MAX_LIST_ITEMS
) -> None:
    if len(items) > limit:
        raise DomainError(
            ErrorCode.TOO_MANY, field, f"{field[-1]} has {len(items)} items; the limit is {limit}."
        )
