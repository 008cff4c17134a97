"""Bounds on free-text arguments that reach SQL patterns.

A search becomes a LIKE pattern; SQLite refuses patterns over 50,000 bytes ("LIKE
pattern too complex") and PostgreSQL scans longer for longer ones. No name, email,
phone or tag a search looks for is longer than this.
"""

from __future__ import annotations

from api.errors import BadUserInput

MAX_SEARCH_LENGTH = 200


def bounded_search(value: str | None, field: str) -> str | None:
    """`value`, refused as BAD_USER_INPUT naming `field` when too long or holding NUL."""
    if value is None:
        return None
    if len(value) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"{field} is longer than {MAX_SEARCH_LENGTH} characters.")
    if "\x00" in value:
        raise BadUserInput(f"{field} contains a NUL character.")
    return value
