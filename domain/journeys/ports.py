"""The journeys' repository port: journeys, the fan-out cursor, runs and their claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domain.events import Event
from domain.journeys.model import Journey
from domain.journeys.runs import JourneyRun, NewRun
from domain.unit_of_work import Port


class JourneyRepository(Protocol):
    async def add(self, journey: Journey) -> Journey: ...
    async def get(self, journey_id: int, *, for_update: bool = False) -> Journey | None: ...
    async def save(self, journey: Journey) -> None: ...

    async def existing(self, kind: str, ids: Sequence[int]) -> set[int]:
        """Which of `ids` exist (and may be used): kind is `coupon_templates`
        (not archived), `earning_rules` (not archived), `segments` (saved) or
        `message_templates`."""
        ...

    async def skip_waiting(self, journey_id: int, reason: str, now: datetime) -> int:
        """Marks the journey's WAITING runs SKIPPED with `reason`; how many."""
        ...

    # ---- the worker

    async def lock_cursor(self) -> tuple[bool, tuple[int, ...] | None]:
        """(False, None) when another worker holds it; else (True, the position)."""
        ...

    async def events_after(
        self, cursor: tuple[int, ...] | None, limit: int
    ) -> list[tuple[Event, tuple[int, ...]]]: ...
    async def save_cursor(self, cursor: tuple[int, ...]) -> None: ...
    async def active(self) -> list[Journey]: ...

    async def matching(self, rule: str, customer_ids: Sequence[int], as_of: datetime) -> set[int]:
        """Which of the (live) customers the segment rule holds for as of `as_of`:
        one statement for all of them."""
        ...

    async def add_runs(self, runs: Sequence[NewRun], now: datetime) -> int:
        """Inserts the runs whose (journey, customer, event) is new; how many were."""
        ...

    async def claim_due(self, now: datetime) -> JourneyRun | None:
        """One WAITING run due at `now` of an ACTIVE journey, locked for this
        transaction (`FOR UPDATE SKIP LOCKED`: another worker takes another run)."""
        ...

    async def save_run(self, run: JourneyRun) -> None: ...
    async def run(self, run_id: int) -> JourneyRun | None: ...
    async def customer_live(self, customer_id: int) -> bool: ...

    async def reown_runs(self, from_customer: int, to_customer: int) -> None:
        """A merge: the merged customer's runs become the survivor's."""
        ...

    async def join_audience(self, campaign_id: int, customer_id: int, arm: str) -> None:
        """Adds the customer to the journey's campaign audience with its arm (once:
        the first arm stays), so its touchpoints count and its orders attribute."""
        ...


JOURNEYS: Port[JourneyRepository] = Port("journeys")
