"""The daily triggers: birthdays, repurchase reminders, lifecycle changes and tracked
segment entries and exits, raised once per program-local day by `jobs.run_daily`.

Each trigger is one transaction that first claims its (trigger, local day) and then
does all of its work, so:

- a second run the same program-local day (any `as_of` on that day, by hand or by a
  second worker) finds the day claimed and raises nothing;
- two runs at once on PostgreSQL queue on the claim, and the second finds it taken;
- a run that fails rolls its claim back with its events, and the next run redoes it.

Every trigger finds its customers with set-based statements (persistence/daily.py),
never with a statement per customer, and writes its events in batches.

The rules, in the program time zone:

- `customer.birthday`: customers whose birthday (month and day) is the local date;
  one born on 29 February is greeted on 28 February in common years.
- `customer.repurchase_due`: due on the local date `repurchaseReminderDays` after
  the local date of the customer's last counted order (as of `as_of`), when no
  later counted order exists; once per such order (an order reminded about is never
  reminded about again). Counted in calendar days so the hour the pass runs does not
  matter. A reminder is raised up to `REPURCHASE_CATCH_UP_DAYS` after its due date,
  so a pass missed for a few days catches up, and the first pass ever does not
  remind every customer who ever bought.
- `customer.lifecycle_changed`: the stage as of `as_of` differs from the stage stored
  at the last pass (a customer never stored is a PROSPECT); the new stage is stored.
  The first pass ever only stores every customer's stage (a baseline), without
  events: there is no earlier stage to compare with.
- `segment.entered` / `segment.exited`: for each segment marked `tracked`, the
  members as of `as_of` against the snapshot stored at its last pass; the snapshot
  becomes today's members. A segment's first pass after it became tracked stores
  its members without events (its baseline).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from domain.classification import LifecycleStage
from domain.errors import present
from domain.event_payloads import (
    BirthdayV1,
    LifecycleChangedV1,
    RepurchaseDueV1,
    SegmentEnteredV1,
    SegmentExitedV1,
)
from domain.events import EVENTS, Event, EventPayload
from domain.program import ProgramSettings
from domain.segment_rules import Rule, RuleErrors, parse_rule
from domain.segments import SEGMENTS, Segment
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

REPURCHASE_CATCH_UP_DAYS = 7
EVENT_BATCH = 1000

BIRTHDAYS = "customer.birthday"
REPURCHASE = "customer.repurchase_due"
LIFECYCLE = "customer.lifecycle_changed"


def segment_pass(segment_id: int) -> str:
    return f"segment:{segment_id}"


@dataclass(frozen=True)
class BirthdayCustomer:
    customer_id: int
    birthday: date


@dataclass(frozen=True)
class RepurchaseCandidate:
    customer_id: int
    order_id: int
    order_external_id: str
    placed_at: datetime


@dataclass(frozen=True)
class StageChange:
    customer_id: int
    from_stage: LifecycleStage
    to_stage: LifecycleStage
    last_order_at: datetime | None


@dataclass(frozen=True)
class MembershipDiff:
    entered: list[int]
    exited: list[int]


class DailyRepository(Protocol):
    async def claim(self, name: str, local_day: date, at: datetime) -> bool:
        """True when this transaction took (name, local day); False when it was taken."""
        ...

    async def has_run(self, name: str) -> bool:
        """Whether (name, any day) was ever claimed."""
        ...

    async def birthdays(self, month_days: Sequence[tuple[int, int]]) -> list[BirthdayCustomer]: ...

    async def repurchase_due(
        self, as_of: datetime, placed_from: datetime, placed_before: datetime
    ) -> list[RepurchaseCandidate]:
        """Customers whose last counted order as of `as_of` was placed in
        [placed_from, placed_before), with that order, not reminded about before."""
        ...

    async def remember_reminders(
        self, reminded: Sequence[RepurchaseCandidate], at: datetime
    ) -> None: ...

    async def store_stage_baseline(
        self, as_of: datetime, program: ProgramSettings, at: datetime
    ) -> int: ...

    async def stage_changes(
        self, as_of: datetime, program: ProgramSettings
    ) -> list[StageChange]: ...

    async def store_stages(self, changes: Sequence[StageChange], at: datetime) -> None: ...

    async def tracked_segments(self) -> list[Segment]: ...

    async def store_membership_baseline(
        self, segment_id: int, rule: Rule, as_of: datetime, program: ProgramSettings
    ) -> int: ...

    async def membership_diff(
        self, segment_id: int, rule: Rule, as_of: datetime, program: ProgramSettings
    ) -> MembershipDiff: ...

    async def apply_membership_diff(self, segment_id: int, diff: MembershipDiff) -> None: ...

    async def mark_snapshot(self, segment_id: int, local_day: date) -> None: ...


DAILY: Port[DailyRepository] = Port("daily")


@dataclass
class TriggerCounts:
    birthdays: int = 0
    repurchase_due: int = 0
    lifecycle_changes: int = 0
    segment_entered: int = 0
    segment_exited: int = 0


def local_day(as_of: datetime, program: ProgramSettings) -> date:
    return as_of.astimezone(program.zone).date()


def birthday_month_days(day: date) -> list[tuple[int, int]]:
    """The (month, day) birthdays celebrated on `day`: its own, and 29 February on
    28 February of a common year."""
    found = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        found.append((2, 29))
    return found


def local_midnight(day: date, program: ProgramSettings) -> datetime:
    """The instant the local date `day` starts in the program time zone."""
    return datetime.combine(day, time(), tzinfo=program.zone)


def age_on(birthday: date, day: date) -> int:
    """Whole years from birthday to day, for a day that is the (celebrated) birthday."""
    return day.year - birthday.year


async def run_triggers(
    uow_factory: UnitOfWorkFactory, program: ProgramSettings, as_of: datetime
) -> TriggerCounts:
    counts = TriggerCounts()
    day = local_day(as_of, program)
    counts.birthdays = await _birthdays(uow_factory, day, as_of)
    counts.repurchase_due = await _repurchase(uow_factory, program, day, as_of)
    counts.lifecycle_changes = await _lifecycle(uow_factory, program, day, as_of)
    async with uow_factory() as uow:
        tracked = await uow.repo(DAILY).tracked_segments()
    for segment in tracked:
        entered, exited = await _segment(uow_factory, program, segment, day, as_of)
        counts.segment_entered += entered
        counts.segment_exited += exited
    return counts


async def _append(uow: UnitOfWork, payloads: Sequence[EventPayload], at: datetime) -> None:
    for start in range(0, len(payloads), EVENT_BATCH):
        batch = payloads[start : start + EVENT_BATCH]
        await uow.repo(EVENTS).append_many([Event.of(p, at) for p in batch])


async def _birthdays(uow_factory: UnitOfWorkFactory, day: date, as_of: datetime) -> int:
    async with uow_factory() as uow:
        if not await uow.repo(DAILY).claim(BIRTHDAYS, day, as_of):
            return 0
        found = await uow.repo(DAILY).birthdays(birthday_month_days(day))
        payloads = [
            BirthdayV1(
                c.customer_id, birthday=c.birthday, local_date=day, age=age_on(c.birthday, day)
            )
            for c in found
        ]
        await _append(uow, payloads, as_of)
        await uow.commit()
    return len(payloads)


async def _repurchase(
    uow_factory: UnitOfWorkFactory, program: ProgramSettings, day: date, as_of: datetime
) -> int:
    days = program.repurchase_reminder_days
    async with uow_factory() as uow:
        if not await uow.repo(DAILY).claim(REPURCHASE, day, as_of):
            return 0
        # Due today or in the catch-up window: placed on a local date in
        # (day − days − catch-up, day − days].
        placed_before = local_midnight(day - timedelta(days=days - 1), program)
        placed_from = local_midnight(
            day - timedelta(days=days + REPURCHASE_CATCH_UP_DAYS - 1), program
        )
        due = await uow.repo(DAILY).repurchase_due(as_of, placed_from, placed_before)
        payloads = [
            RepurchaseDueV1(
                c.customer_id,
                order_id=c.order_id,
                order_external_id=c.order_external_id,
                last_order_at=c.placed_at,
                reminder_days=days,
                due_on=local_day(c.placed_at, program) + timedelta(days=days),
            )
            for c in due
        ]
        await uow.repo(DAILY).remember_reminders(due, as_of)
        await _append(uow, payloads, as_of)
        await uow.commit()
    return len(payloads)


async def _lifecycle(
    uow_factory: UnitOfWorkFactory, program: ProgramSettings, day: date, as_of: datetime
) -> int:
    async with uow_factory() as uow:
        daily = uow.repo(DAILY)
        first_ever = not await daily.has_run(LIFECYCLE)
        if not await daily.claim(LIFECYCLE, day, as_of):
            return 0
        if first_ever:
            await daily.store_stage_baseline(as_of, program, as_of)
            await uow.commit()
            return 0
        changes = await daily.stage_changes(as_of, program)
        await daily.store_stages(changes, as_of)
        payloads = [
            LifecycleChangedV1(
                c.customer_id,
                from_stage=c.from_stage,
                to_stage=c.to_stage,
                last_order_at=c.last_order_at,
                local_date=day,
            )
            for c in changes
        ]
        await _append(uow, payloads, as_of)
        await uow.commit()
    return len(payloads)


def _rule(segment: Segment) -> Rule | None:
    """A saved rule parses (it was checked when saved); one that no longer does is
    skipped rather than failing the whole pass."""
    try:
        return parse_rule(segment.rule)
    except RuleErrors:
        return None


async def _segment(
    uow_factory: UnitOfWorkFactory,
    program: ProgramSettings,
    segment: Segment,
    day: date,
    as_of: datetime,
) -> tuple[int, int]:
    segment_id = present(segment.id, "segment id")
    async with uow_factory() as uow:
        daily = uow.repo(DAILY)
        # Read again, locked: an admin may have changed or untracked it since the list.
        current = await uow.repo(SEGMENTS).get(segment_id, for_update=True)
        rule = _rule(current) if current is not None and current.tracked else None
        if current is None or rule is None:
            return 0, 0
        segment = current
        if not await daily.claim(segment_pass(segment_id), day, as_of):
            return 0, 0
        if segment.snapshot_on is None:
            await daily.store_membership_baseline(segment_id, rule, as_of, program)
            await daily.mark_snapshot(segment_id, day)
            await uow.commit()
            return 0, 0
        diff = await daily.membership_diff(segment_id, rule, as_of, program)
        await daily.apply_membership_diff(segment_id, diff)
        await daily.mark_snapshot(segment_id, day)
        payloads: list[EventPayload] = [
            SegmentEnteredV1(c, segment_id=segment_id, segment_name=segment.name, local_date=day)
            for c in diff.entered
        ]
        payloads += [
            SegmentExitedV1(c, segment_id=segment_id, segment_name=segment.name, local_date=day)
            for c in diff.exited
        ]
        await _append(uow, payloads, as_of)
        await uow.commit()
    return len(diff.entered), len(diff.exited)
