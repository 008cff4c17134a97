"""The one source of "now", so jobs and tests can run as of any instant.

One way to read "now": a service reads its `Clock` (``self.clock.now()``) once per
command and hands that instant to everything it writes, repositories included
(e.g. an idempotency record's ``at``); persistence/ never reads the system time.
The API reads the same clock once per request (``Context.now()``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stays where it is put; jobs run with ``--as-of`` use it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
