"""The worker's daily pass, run once per program-local day however many workers run.

A worker claims the day by inserting its row (`worker_days`, the day as the
program's time zone reads it); the insert that loses the race finds the row and
skips. A claim whose worker died before finishing is taken over once it is older
than `stale_after`: the pass itself (domain/jobs.py) is idempotent for a day, so
running it again after a crash changes nothing it already did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from domain import jobs
from domain.clock import Clock
from domain.program import PROGRAM
from domain.unit_of_work import Port, UnitOfWorkFactory


class DayClaimRepository(Protocol):
    async def claim(self, day: date, worker: str, now: datetime, stale_before: datetime) -> bool:
        """True if this worker now holds `day`: nobody had it, or a claim older than
        `stale_before` was never finished."""
        ...

    async def finish(self, day: date, worker: str, now: datetime) -> None: ...


DAY_CLAIMS: Port[DayClaimRepository] = Port("day_claims")

DailyRun = Callable[[UnitOfWorkFactory, datetime], Awaitable[Any]]


class DailyScheduler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        worker: str,
        stale_after: timedelta = timedelta(hours=1),
        recheck_after: timedelta = timedelta(minutes=5),
        run: DailyRun = jobs.run_daily,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.worker = worker
        self.stale_after = stale_after
        self.run = run
        self.recheck_after = recheck_after
        self._skip: tuple[date, datetime] | None = None
        """(day, until): this day needs no claim attempt before `until` (ran here, or
        claimed elsewhere), so an idle worker's turns skip the claim's write."""

    async def local_day(self, at: datetime) -> date:
        async with self.uow_factory() as uow:
            program = await uow.repo(PROGRAM).get()
        return at.astimezone(program.zone).date()

    async def run_if_due(self) -> tuple[date, Any] | None:
        """Runs the pass as of now if no worker has run it for today (program time);
        returns the day and the pass's report, or None when it was not due here."""
        now = self.clock.now()
        if self._skip is not None:
            day, until = self._skip
            if now < until and await self.local_day(now) == day:
                return None
        return await self.run_for(now, force=False)

    async def run_for(self, as_of: datetime, *, force: bool) -> tuple[date, Any] | None:
        """The pass as of `as_of`; `force` runs it even if that day was claimed (by
        hand: `loyalty worker --as-of`), recording the claim all the same."""
        day = await self.local_day(as_of)
        now = self.clock.now()
        async with self.uow_factory() as uow:
            claimed = await uow.repo(DAY_CLAIMS).claim(
                day, self.worker, now, now - self.stale_after
            )
            await uow.commit()
        if not claimed and not force:
            # Claimed elsewhere: look again later in case that worker dies mid-pass.
            self._skip = (day, now + self.recheck_after)
            return None
        report = await self.run(self.uow_factory, as_of)
        async with self.uow_factory() as uow:
            await uow.repo(DAY_CLAIMS).finish(day, self.worker, self.clock.now())
            await uow.commit()
        self._skip = (day, datetime.max.replace(tzinfo=now.tzinfo))
        return day, report
