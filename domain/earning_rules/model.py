"""An earning rule: what it gives (kind and effect), when and to what it applies
(conditions, active window), in which order (priority, stackable) and up to how
much (budgets). Checked here, so a rule that reaches the database can be evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import MAX_LIST_ITEMS, required_text
from domain.money import parse_decimal, parse_money
from domain.points import MAX_ADJUSTMENT

MAX_NAME = 200
MAX_POINTS = MAX_ADJUSTMENT
MAX_MULTIPLIER = Decimal(100)
MAX_BUDGET = 1_000_000_000
MAX_PRIORITY = 1_000_000


class RuleKind(StrEnum):
    MULTIPLIER = "MULTIPLIER"
    POINTS_PER_AMOUNT = "POINTS_PER_AMOUNT"
    FIXED_BONUS = "FIXED_BONUS"
    FIRST_ORDER_BONUS = "FIRST_ORDER_BONUS"
    BIRTHDAY_MONTH = "BIRTHDAY_MONTH"
    ACTIVITY = "ACTIVITY"


class BudgetPeriod(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


class ActivityPeriod(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    EVER = "EVER"


@dataclass(frozen=True)
class ActivitySpec:
    """What an ACTIVITY rule rewards: actions of `type` (CHECK_IN, REVIEW, SHARE,
    PROFILE_COMPLETED, SIGN_UP, or any name of yours), at most `limit_count` per
    customer per program-local `limit_period` (EVER: in a lifetime), and, every
    `streak_days` consecutive local days with one, `streak_points` more."""

    type: str
    limit_count: int | None = None
    limit_period: ActivityPeriod | None = None
    streak_days: int | None = None
    streak_points: int | None = None


@dataclass(frozen=True)
class Conditions:
    """Every condition given must hold (they combine with AND). `skus` and
    `categories` pick the lines a rule works on (a line matches either list); the
    others are about the order or the customer. Days of week are ISO (1 = Monday);
    the time window is [time_from, time_until) in the program time zone and may
    wrap past midnight (22:00–02:00)."""

    channels: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_order_amount: Decimal | None = None
    days_of_week: tuple[int, ...] = ()
    days_of_month: tuple[int, ...] = ()
    time_from: time | None = None
    time_until: time | None = None
    tier_ids: tuple[int, ...] = ()
    segment_id: int | None = None
    first_order_only: bool = False

    @property
    def picks_lines(self) -> bool:
        return bool(self.skus or self.categories)


@dataclass(frozen=True)
class Effect:
    """What a rule gives: `multiplier` (MULTIPLIER, or BIRTHDAY_MONTH as a
    multiplier), `points` (the bonus, or n of "n points per m"), `per_amount` (m)."""

    multiplier: Decimal | None = None
    points: int | None = None
    per_amount: Decimal | None = None


@dataclass(frozen=True)
class Budget:
    """`total_points` over the rule's life; `per_customer_points` per customer per
    `per_customer_period` (a program-local day, ISO week or month)."""

    total_points: int | None = None
    per_customer_points: int | None = None
    per_customer_period: BudgetPeriod | None = None


@dataclass
class EarningRule:
    id: int | None
    name: str
    kind: RuleKind
    conditions: Conditions = field(default_factory=Conditions)
    effect: Effect = field(default_factory=Effect)
    budget: Budget = field(default_factory=Budget)
    activity: ActivitySpec | None = None
    priority: int = 0
    stackable: bool = True
    tier_multiplied: bool = False
    active_from: datetime | None = None
    active_until: datetime | None = None
    budget_used: int = 0
    archived_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def is_active(self, at: datetime) -> bool:
        if self.archived_at is not None:
            return False
        if self.active_from is not None and at < self.active_from:
            return False
        return self.active_until is None or at < self.active_until

    @property
    def budget_left(self) -> int | None:
        total = self.budget.total_points
        return None if total is None else max(total - self.budget_used, 0)


def period_of(local_day: date, period: BudgetPeriod) -> tuple[date, date]:
    """The program-local [first day, day after the last) of the period holding
    `local_day`: the day, its ISO week (Monday first) or its month."""
    if period is BudgetPeriod.DAY:
        return local_day, local_day + timedelta(days=1)
    if period is BudgetPeriod.WEEK:
        start = local_day - timedelta(days=local_day.isoweekday() - 1)
        return start, start + timedelta(days=7)
    start = local_day.replace(day=1)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


@dataclass(frozen=True)
class RuleFields:
    """Rule fields as sent. UNSET leaves a field alone (updates); `conditions`,
    `effect` and `budget` are replaced whole when given."""

    name: Any = UNSET
    kind: Any = UNSET
    conditions: Any = UNSET
    effect: Any = UNSET
    budget: Any = UNSET
    activity: Any = UNSET
    priority: Any = UNSET
    stackable: Any = UNSET
    tier_multiplied: Any = UNSET
    active_from: Any = UNSET
    active_until: Any = UNSET


def _whole(value: Any, path: tuple[str, ...], low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(
            ErrorCode.INVALID, path, f"{path[-1]} must be a whole number from {low} to {high}."
        )
    return value


def _texts(values: Sequence[str], path: tuple[str, ...], max_length: int) -> tuple[str, ...]:
    if len(values) > MAX_LIST_ITEMS:
        raise DomainError(
            ErrorCode.TOO_MANY, path, f"{path[-1]} has more than {MAX_LIST_ITEMS} entries."
        )
    clean = [required_text(v, (*path, str(i)), max_length=max_length) for i, v in enumerate(values)]
    return tuple(dict.fromkeys(clean))


def _numbers(values: Sequence[int], path: tuple[str, ...], low: int, high: int) -> tuple[int, ...]:
    return tuple(sorted({_whole(v, (*path, str(i)), low, high) for i, v in enumerate(values)}))


def check_conditions(given: Conditions, errors: ErrorCollector) -> Conditions:
    path = ("conditions",)
    changes: dict[str, Any] = {}

    def check(name: str, fn: Callable[[Any], object]) -> None:
        try:
            changes[name] = fn(getattr(given, name))
        except DomainError as exc:
            errors.capture(exc)

    check("channels", lambda v: _texts(v, (*path, "channels"), 64))
    check("skus", lambda v: _texts(v, (*path, "skus"), 128))
    check("categories", lambda v: _texts(v, (*path, "categories"), 100))
    check(
        "min_order_amount",
        lambda v: None if v is None else parse_money(v, (*path, "min_order_amount")),
    )
    check("days_of_week", lambda v: _numbers(v, (*path, "days_of_week"), 1, 7))
    check("days_of_month", lambda v: _numbers(v, (*path, "days_of_month"), 1, 31))
    if (
        given.time_from is not None
        and given.time_until is not None
        and given.time_from == given.time_until
    ):
        errors.add(
            ErrorCode.INVALID,
            (*path, "time_until"),
            "timeUntil equals timeFrom: the window would be empty.",
        )
    return replace(given, **changes)


def check_effect(kind: RuleKind, given: Effect, errors: ErrorCollector) -> Effect:
    """Each kind takes the effect fields it uses, and only those."""
    path = ("effect",)
    multiplier = points = per_amount = None
    try:
        if given.multiplier is not None:
            multiplier = parse_decimal(
                given.multiplier,
                (*path, "multiplier"),
                places=4,
                low=Decimal(1),
                high=MAX_MULTIPLIER,
                low_inclusive=False,
            )
    except DomainError as exc:
        errors.capture(exc)
    try:
        if given.points is not None:
            points = _whole(given.points, (*path, "points"), 1, MAX_POINTS)
    except DomainError as exc:
        errors.capture(exc)
    try:
        if given.per_amount is not None:
            per_amount = parse_money(given.per_amount, (*path, "per_amount"), positive=True)
    except DomainError as exc:
        errors.capture(exc)
    wants: dict[RuleKind, set[str]] = {
        RuleKind.MULTIPLIER: {"multiplier"},
        RuleKind.POINTS_PER_AMOUNT: {"points", "per_amount"},
        RuleKind.FIXED_BONUS: {"points"},
        RuleKind.FIRST_ORDER_BONUS: {"points"},
        RuleKind.ACTIVITY: {"points"},
    }
    given_names = {
        name for name in ("multiplier", "points", "per_amount") if getattr(given, name) is not None
    }
    if kind is RuleKind.BIRTHDAY_MONTH:
        if len(given_names & {"multiplier", "points"}) != 1 or "per_amount" in given_names:
            errors.add(
                ErrorCode.REQUIRED,
                (*path,),
                "A BIRTHDAY_MONTH rule takes either a multiplier or fixed points.",
            )
    else:
        for name in sorted(wants[kind] - given_names):
            errors.add(ErrorCode.REQUIRED, (*path, name), f"A {kind} rule needs {name}.")
        for name in sorted(given_names - wants[kind]):
            errors.add(ErrorCode.INVALID, (*path, name), f"A {kind} rule takes no {name}.")
    return Effect(multiplier, points, per_amount)


ACTIVITY_TYPE = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")


def activity_type(value: Any, path: tuple[str, ...]) -> str:
    """An activity's name, upper case: CHECK_IN, REVIEW, SHARE…"""
    text = (value or "").strip().upper() if isinstance(value, str) else ""
    if not ACTIVITY_TYPE.match(text):
        raise DomainError(
            ErrorCode.INVALID,
            path,
            f"{path[-1]} must be a name of letters, digits and _ starting with a letter "
            "(at most 64), e.g. CHECK_IN.",
        )
    return text


def check_activity(rule: EarningRule, errors: ErrorCollector) -> ActivitySpec | None:
    """An ACTIVITY rule names its activity and takes no order conditions; no other
    kind takes an activity."""
    path = ("activity",)
    given = rule.activity
    if rule.kind is not RuleKind.ACTIVITY:
        if given is not None:
            errors.add(ErrorCode.INVALID, path, f"A {rule.kind} rule takes no activity.")
        return None
    if given is None:
        errors.add(ErrorCode.REQUIRED, path, "An ACTIVITY rule needs activity { type }.")
        return None
    if rule.conditions != Conditions():
        errors.add(
            ErrorCode.INVALID, ("conditions",), "An ACTIVITY rule takes no order conditions."
        )
    kind = limit = streak_days = streak_points = None
    try:
        kind = activity_type(given.type, (*path, "type"))
    except DomainError as exc:
        errors.capture(exc)
    try:
        if given.limit_count is not None:
            limit = _whole(given.limit_count, (*path, "limit_count"), 1, MAX_BUDGET)
    except DomainError as exc:
        errors.capture(exc)
    if (given.limit_count is None) != (given.limit_period is None):
        errors.add(
            ErrorCode.REQUIRED,
            (*path, "limit_period"),
            "limitCount and limitPeriod go together.",
        )
    try:
        if given.streak_days is not None:
            streak_days = _whole(given.streak_days, (*path, "streak_days"), 2, 366)
        if given.streak_points is not None:
            streak_points = _whole(given.streak_points, (*path, "streak_points"), 1, MAX_POINTS)
    except DomainError as exc:
        errors.capture(exc)
    if (given.streak_days is None) != (given.streak_points is None):
        errors.add(
            ErrorCode.REQUIRED,
            (*path, "streak_points"),
            "streakDays and streakPoints go together.",
        )
    period = None if given.limit_period is None else ActivityPeriod(given.limit_period)
    return ActivitySpec(kind or "", limit, period, streak_days, streak_points)


def check_budget(given: Budget, errors: ErrorCollector) -> Budget:
    path = ("budget",)
    total = per_customer = None
    try:
        if given.total_points is not None:
            total = _whole(given.total_points, (*path, "total_points"), 1, MAX_BUDGET)
    except DomainError as exc:
        errors.capture(exc)
    try:
        if given.per_customer_points is not None:
            per_customer = _whole(
                given.per_customer_points, (*path, "per_customer_points"), 1, MAX_BUDGET
            )
    except DomainError as exc:
        errors.capture(exc)
    if (given.per_customer_points is None) != (given.per_customer_period is None):
        errors.add(
            ErrorCode.REQUIRED,
            (*path, "per_customer_period"),
            "perCustomerPoints and perCustomerPeriod go together.",
        )
    period = None if given.per_customer_period is None else BudgetPeriod(given.per_customer_period)
    return Budget(total, per_customer, period)


def apply_fields(rule: EarningRule, fields: RuleFields, errors: ErrorCollector) -> EarningRule:
    """The rule with `fields` applied and checked; problems go to `errors`."""
    changes: dict[str, Any] = {}
    if fields.name is not UNSET:
        try:
            changes["name"] = required_text(fields.name, ("name",), max_length=MAX_NAME)
        except DomainError as exc:
            errors.capture(exc)
    if fields.kind is not UNSET:
        changes["kind"] = RuleKind(fields.kind)
    for name in ("conditions", "effect", "budget", "activity", "stackable", "tier_multiplied"):
        value = getattr(fields, name)
        if value is not UNSET:
            changes[name] = value
    if fields.priority is not UNSET:
        try:
            changes["priority"] = _whole(fields.priority, ("priority",), 0, MAX_PRIORITY)
        except DomainError as exc:
            errors.capture(exc)
    for name in ("active_from", "active_until"):
        value = getattr(fields, name)
        if value is not UNSET:
            if value is not None and value.tzinfo is None:
                errors.add(ErrorCode.INVALID, (name,), f"{name} needs a UTC offset.")
            changes[name] = value
    result = replace(rule, **changes)
    result.conditions = check_conditions(result.conditions, errors)
    result.effect = check_effect(result.kind, result.effect, errors)
    result.budget = check_budget(result.budget, errors)
    result.activity = check_activity(result, errors)
    if result.budget.total_points is not None and result.budget.total_points < result.budget_used:
        errors.add(
            ErrorCode.INVALID,
            ("budget", "total_points"),
            f"This rule has already given {result.budget_used} points; the total budget "
            "cannot be lower.",
        )
    if (
        result.active_from is not None
        and result.active_until is not None
        and result.active_until <= result.active_from
    ):
        errors.add(ErrorCode.INVALID, ("active_until",), "activeUntil is not after activeFrom.")
    return result
