"""Retried writes: recognising a replay, refusing a conflicting reuse of a key, and
retrying a transaction that lost a unique-key race."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from domain.errors import ConcurrentWrite, DomainError, ErrorCode
from domain.unit_of_work import Port

RETRIES = 5
T = TypeVar("T")


def fingerprint(*parts: Any) -> str:
    """A stable hash of a request, to tell a replay from a conflicting reuse."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class IdempotencyRepository(Protocol):
    async def find(self, operation: str, key: str) -> tuple[str, dict[str, Any]] | None: ...
    async def remember(
        self, operation: str, key: str, request_hash: str, result: dict[str, Any], at: datetime
    ) -> None:
        """Stores the result; `at` is the service's clock reading (the one "now")."""
        ...

    async def copy_scope(self, operation: str, old_prefix: str, new_prefix: str) -> int:
        """Copies every remembered key of `operation` that starts with `old_prefix` to
        the same key under `new_prefix`, keeping any such key already there; returns
        how many were copied. (Merges: a key scoped by a customer also answers
        under the survivor's scope.)"""
        ...


IDEMPOTENCY: Port[IdempotencyRepository] = Port("idempotency")


async def remembered_result(
    repository: IdempotencyRepository, operation: str, key: str, request_hash: str
) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None for a first call.
    The same key with a different request is refused."""
    found = await repository.find(operation, key)
    if found is None:
        return None
    stored_hash, result = found
    if stored_hash != request_hash:
        raise DomainError(
            ErrorCode.IDEMPOTENCY_CONFLICT,
            ("idempotency_key",),
            f"This idempotencyKey was already used for a different {operation} request.",
        )
    return result


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Runs a transaction again when it lost a race on a unique key; the next
    attempt sees the winner's row and replays or refuses accordingly.

    The one way a lost unique race is handled, in every area: write plainly (no
    ``ON CONFLICT DO NOTHING`` special cases), let the unit of work turn the unique
    violation into `ConcurrentWrite`, and retry the whole transaction here. The
    attempt must open a fresh unit of work (hence services take a factory)."""
    for number in range(RETRIES):
        try:
            return await attempt()
        except ConcurrentWrite:
            if number == RETRIES - 1:
                raise
    raise AssertionError("unreachable")
