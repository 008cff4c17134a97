"""Opaque global IDs: base64 of "Type:id", so clients never build or parse them."""

from __future__ import annotations

import base64
import binascii


class BadGlobalId(ValueError):
    """The text is not a global ID at all."""


class WrongIdType(ValueError):
    """A valid global ID, but of another type than the field expects."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected a {expected} ID, got a {actual} ID")
        self.expected = expected
        self.actual = actual


def stored_key(key: int | None) -> int:
    """The key of an object read from the database (domain objects carry `id: int |
    None` because a new one has none until it is saved)."""
    if key is None:
        raise ValueError("An object without a key has no global ID: it was never saved.")
    return key


def encode(type_name: str, key: int | None) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{stored_key(key)}".encode()).decode().rstrip("=")


MAX_KEY = 2**63 - 1
"""Keys are BIGINT: a larger number is no ID of ours (and would overflow the column)."""
MAX_GLOBAL_ID_LENGTH = 200


def decode_any(global_id: str) -> tuple[str, int]:
    if len(global_id) > MAX_GLOBAL_ID_LENGTH:
        raise BadGlobalId(global_id[:MAX_GLOBAL_ID_LENGTH])
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
        if not type_name or not (key.isascii() and key.isdigit()) or int(key) > MAX_KEY:
            raise BadGlobalId(global_id)
        return type_name, int(key)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadGlobalId(global_id) from exc


def decode(global_id: str, expected: str) -> int:
    type_name, key = decode_any(global_id)
    if type_name != expected:
        raise WrongIdType(expected, type_name)
    return key
