"""Points for actions (`activityRecord`): a check-in, a review posted, a share, a
completed profile, a sign-up. Each action type earns by its ACTIVITY rule.

- The rule that applies is the active (not archived, in its window at the action's
  `occurredAt`) ACTIVITY rule for the type with the highest priority (then lowest
  id). None: RULE_INACTIVE.
- Limits count the customer's recorded actions of the type in the program-local
  day, ISO week or month of `occurredAt` (or ever): at the limit, LIMIT_REACHED.
- The same customer, type and `occurredAt` twice (a partner sending one event under
  two keys) is DUPLICATE. The same idempotency key replays the first result; with
  another input it is IDEMPOTENCY_CONFLICT.
- Streaks: with `streakDays` = n, the action that makes a run of n, 2n, 3n…
  consecutive local days with one earns `streakPoints` more.
- Budgets hold as for orders (the rule's row is locked; the customer's use per
  period is the points their actions of the rule earned): a spent budget gives what
  remains, then nothing — the action is still recorded, with the points it got.
- Points arrive as one BONUS entry (available at once) linked to the rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, Customer, CustomerRef, find_or_prepare, ref_as_sent, ref_way
from domain.earning_rules.model import (
    ActivityPeriod,
    BudgetPeriod,
    EarningRule,
    RuleKind,
    activity_type,
    period_of,
)
from domain.earning_rules.service import EARNING_RULES
from domain.errors import DomainError, ErrorCode, ErrorCollector, present
from domain.event_payloads import CustomerCreatedV1, points_earned
from domain.events import EVENTS, Event
from domain.fields import required_text
from domain.idempotency import IDEMPOTENCY, fingerprint, remembered_result, retrying
from domain.orders import CLOCK_SKEW
from domain.points import POINTS, EntryKind, lot_dates
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_ATTRIBUTES_TEXT = 4000
STREAK_LOOKBACK_DAYS = 400


@dataclass
class Activity:
    id: int | None
    customer_id: int
    type: str
    occurred_at: datetime
    rule_id: int
    points: int
    streak_days: int
    idempotency_key: str
    created_at: datetime
    attributes: dict[str, Any] | None = None
    api_key_id: int | None = None


@dataclass(frozen=True)
class RecordActivity:
    customer: CustomerRef
    type: str
    occurred_at: datetime
    idempotency_key: str
    attributes: dict[str, Any] | None = None
    api_key_id: int | None = None


@dataclass(frozen=True)
class ActivityResult:
    activity: Activity
    customer: Customer
    replayed: bool


class ActivityRepository(Protocol):
    async def add(self, activity: Activity) -> Activity: ...
    async def get(self, activity_id: int) -> Activity | None: ...
    async def count(
        self, customer_id: int, type: str, start: datetime | None, end: datetime | None
    ) -> int:
        """The customer's recorded actions of `type` with occurredAt in [start, end)."""
        ...

    async def exists_at(self, customer_id: int, type: str, occurred_at: datetime) -> bool: ...
    async def times(
        self, customer_id: int, type: str, start: datetime, end: datetime
    ) -> list[datetime]:
        """When the customer's actions of `type` in [start, end) happened."""
        ...

    async def points_of_rule(
        self, rule_id: int, customer_id: int, start: datetime, end: datetime
    ) -> int: ...


ACTIVITIES: Port[ActivityRepository] = Port("activities")


def streak_length(days: Iterable[date], today: date) -> int:
    """Consecutive days ending at `today` that are in `days` (0 if today is not)."""
    have = set(days)
    length = 0
    while today - timedelta(days=length) in have:
        length += 1
    return length


def streak_bonus(rule: EarningRule, streak: int) -> int:
    spec = rule.activity
    if spec is None or not spec.streak_days or not spec.streak_points:
        return 0
    return spec.streak_points if streak > 0 and streak % spec.streak_days == 0 else 0


def _bounds(
    local_day: date, period: ActivityPeriod | BudgetPeriod, program: ProgramSettings
) -> tuple[datetime, datetime]:
    start, end = period_of(local_day, BudgetPeriod(period.value))
    zone = program.zone
    return datetime.combine(start, time(), tzinfo=zone), datetime.combine(end, time(), tzinfo=zone)


def choose_rule(rules: Iterable[EarningRule], type: str, at: datetime) -> EarningRule | None:
    found = [
        r
        for r in rules
        if r.kind is RuleKind.ACTIVITY
        and r.activity is not None
        and r.activity.type == type
        and r.is_active(at)
    ]
    found.sort(key=lambda r: (-r.priority, r.id or 0))
    return found[0] if found else None


class ActivityService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, phone_region: str | None
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.phone_region = phone_region

    async def record(self, command: RecordActivity) -> ActivityResult:
        now = self.clock.now()
        errors = ErrorCollector()
        kind = key = None
        try:
            kind = activity_type(command.type, ("type",))
        except DomainError as exc:
            errors.capture(exc)
        try:
            key = required_text(command.idempotency_key, ("idempotency_key",), max_length=128)
        except DomainError as exc:
            errors.capture(exc)
        if command.occurred_at.tzinfo is None:
            errors.add(ErrorCode.INVALID, ("occurred_at",), "occurredAt needs a UTC offset.")
        elif command.occurred_at > now + CLOCK_SKEW:
            errors.add(ErrorCode.INVALID, ("occurred_at",), "occurredAt is in the future.")
        if command.attributes is not None and (
            not isinstance(command.attributes, dict)
            or len(json.dumps(command.attributes, default=str)) > MAX_ATTRIBUTES_TEXT
        ):
            errors.add(
                ErrorCode.INVALID,
                ("attributes",),
                f"attributes must be an object of at most {MAX_ATTRIBUTES_TEXT} characters.",
            )
        ref = command.customer
        way = None
        try:
            way = ref_way(ref, ("customer",))
        except DomainError as exc:
            errors.capture(exc)
        errors.raise_if_any()
        kind, key = present(kind, "type"), present(key, "idempotencyKey")
        request_hash = fingerprint(
            *ref_as_sent(ref, way), kind, command.occurred_at.isoformat(), command.attributes
        )
        return await retrying(lambda: self._once(command, kind, key, request_hash))

    async def _once(
        self, command: RecordActivity, kind: str, key: str, request_hash: str
    ) -> ActivityResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            # The customer is locked before the key is looked up, so a retry racing its
            # original waits for it and then replays it.
            customer, created = await find_or_prepare(
                uow,
                command.customer,
                now,
                phone_region=self.phone_region,
                path=("customer",),
                lock=True,
            )
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "activityRecord", key, request_hash
            )
            if remembered is not None:
                done = present(await uow.repo(ACTIVITIES).get(remembered["activityId"]), "activity")
                customer = present(await uow.repo(CUSTOMERS).get(done.customer_id), "customer")
                return ActivityResult(done, customer, replayed=True)
            program = await uow.repo(PROGRAM).get()
            rule = choose_rule(await uow.repo(EARNING_RULES).live(), kind, command.occurred_at)
            if rule is None or rule.id is None or rule.activity is None:
                raise DomainError(
                    ErrorCode.RULE_INACTIVE,
                    ("type",),
                    f"No earning rule rewards {kind} at this time.",
                )
            if created:
                customer = await uow.repo(CUSTOMERS).add(customer)
                await uow.repo(EVENTS).append(
                    Event.of(
                        CustomerCreatedV1(
                            present(customer.id, "customer id"), customer.external_id
                        ),
                        now,
                    )
                )
            customer_id = present(customer.id, "customer id")
            activities = uow.repo(ACTIVITIES)
            if await activities.exists_at(customer_id, kind, command.occurred_at):
                raise DomainError(
                    ErrorCode.DUPLICATE,
                    ("occurred_at",),
                    f"This customer's {kind} at this instant is already recorded.",
                )
            local_day = command.occurred_at.astimezone(program.zone).date()
            spec = rule.activity
            if spec.limit_count is not None and spec.limit_period is not None:
                start: datetime | None = None
                end: datetime | None = None
                if spec.limit_period is not ActivityPeriod.EVER:
                    start, end = _bounds(local_day, spec.limit_period, program)
                if await activities.count(customer_id, kind, start, end) >= spec.limit_count:
                    period = spec.limit_period.value.lower()
                    raise DomainError(
                        ErrorCode.LIMIT_REACHED,
                        ("type",),
                        f"{kind} earns at most {spec.limit_count} time(s) per {period}"
                        if spec.limit_period is not ActivityPeriod.EVER
                        else f"{kind} earns at most {spec.limit_count} time(s).",
                    )
            streak = 0
            if spec.streak_days:
                zone = program.zone
                day_end = datetime.combine(local_day + timedelta(days=1), time(), tzinfo=zone)
                day_start = day_end - timedelta(days=STREAK_LOOKBACK_DAYS)
                earlier = await activities.times(customer_id, kind, day_start, day_end)
                days = {t.astimezone(zone).date() for t in earlier} | {local_day}
                streak = streak_length(days, local_day)
            wanted = (rule.effect.points or 0) + streak_bonus(rule, streak)
            points = await self._within_budget(uow, rule, customer_id, local_day, program, wanted)
            activity = await activities.add(
                Activity(
                    id=None,
                    customer_id=customer_id,
                    type=kind,
                    occurred_at=command.occurred_at,
                    rule_id=rule.id,
                    points=points,
                    streak_days=streak,
                    idempotency_key=key,
                    created_at=now,
                    attributes=command.attributes,
                    api_key_id=command.api_key_id,
                )
            )
            if points > 0:
                await uow.repo(EARNING_RULES).spend_budget(rule.id, points)
                account = await uow.repo(POINTS).load_account(customer_id)
                available_at, expires_at = lot_dates(now, 0, program.expiry_days)
                entry = present(
                    account.credit(
                        EntryKind.BONUS,
                        points,
                        now=now,
                        available_at=available_at,
                        expires_at=expires_at,
                        reason=f"activity {kind}"
                        + (f" (streak of {streak} days)" if streak_bonus(rule, streak) else ""),
                        rule_id=rule.id,
                    ),
                    "activity entry",
                )
                entry.api_key_id = command.api_key_id
                entry.idempotency_key = key
                await uow.repo(POINTS).save_account(account, [entry])
                await uow.repo(EVENTS).append(Event.of(points_earned(entry), now))
            await uow.repo(IDEMPOTENCY).remember(
                "activityRecord", key, request_hash, {"activityId": activity.id}, now
            )
            fresh = present(await uow.repo(CUSTOMERS).get(customer_id), "customer")
            await uow.commit()
            return ActivityResult(activity, fresh, replayed=False)

    async def _within_budget(
        self,
        uow: UnitOfWork,
        rule: EarningRule,
        customer_id: int,
        local_day: date,
        program: ProgramSettings,
        wanted: int,
    ) -> int:
        rule_id = present(rule.id, "rule id")
        points = wanted
        if rule.budget.total_points is not None:
            spent = (await uow.repo(EARNING_RULES).lock_budgets([rule_id])).get(rule_id, 0)
            points = min(points, max(rule.budget.total_points - spent, 0))
        period = rule.budget.per_customer_period
        if rule.budget.per_customer_points is not None and period is not None:
            start, end = _bounds(local_day, period, program)
            used = await uow.repo(ACTIVITIES).points_of_rule(rule_id, customer_id, start, end)
            points = min(points, max(rule.budget.per_customer_points - used, 0))
        return max(points, 0)
