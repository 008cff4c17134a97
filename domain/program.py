"""The program's settings: every default of docs/time-and-money.md#program-settings.

An admin changes them with `programUpdate`; a change applies to what happens next
(new orders, new lots, the next job run) and never rewrites the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.clock import Clock
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.money import parse_decimal, parse_money
from domain.unit_of_work import Port, UnitOfWorkFactory


class TierBasis(StrEnum):
    POINTS_EARNED = "POINTS_EARNED"
    SPEND = "SPEND"


class RfmCut(StrEnum):
    MEAN = "MEAN"
    MEDIAN = "MEDIAN"


@dataclass(frozen=True)
class ProgramSettings:
    currency: str = "CNY"
    timezone: str = "UTC"
    earn_rate: Decimal = Decimal("1")
    point_value: Decimal = Decimal("0.01")
    pending_days: int = 0
    expiry_days: int | None = 365
    expiring_soon_days: int = 30
    tier_basis: TierBasis = TierBasis.POINTS_EARNED
    tier_window_days: int = 365
    tier_retention_days: int = 365
    referrer_bonus: int = 100
    referee_bonus: int = 100
    referral_min_order_amount: Decimal = Decimal("0")
    referral_monthly_limit: int = 10
    lifecycle_new_days: int = 7
    lifecycle_loyal_days: int = 180
    lifecycle_active_days: int = 30
    lifecycle_silent_days: int = 90
    rfm_cut: RfmCut = RfmCut.MEAN
    attribution_days: int = 7
    repurchase_reminder_days: int = 30
    coupon_expiring_soon_days: int = 3
    coupon_restore_on_refund: bool = False
    # A phone or e-mail belongs to one customer (not erased) at most, so both are
    # dependable lookup keys (domain/customers.py: refuse_shared_contacts).
    unique_contact_keys: bool = False
    # Messaging (docs/messaging.md): at most `message_cap` marketing messages per
    # customer in any `message_cap_days` days, over every channel (null: no cap);
    # quiet hours per channel as "HH:MM-HH:MM" in the program time zone (a marketing
    # message due inside them waits for their end); sends per minute per channel.
    message_cap: int | None = None
    message_cap_days: int = 7
    sms_quiet_hours: str | None = None
    email_quiet_hours: str | None = None
    wechat_quiet_hours: str | None = None
    webhook_quiet_hours: str | None = None
    sms_rate_per_minute: int | None = None
    email_rate_per_minute: int | None = None
    wechat_rate_per_minute: int | None = None
    webhook_rate_per_minute: int | None = None
    updated_at: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# Decimals of earnRate and pointValue (their columns hold 4).
RATE_PLACES = 4

# Bounds for integer settings: (smallest, largest).
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "pending_days": (0, 365),
    "expiry_days": (1, 3650),
    "expiring_soon_days": (1, 365),
    "tier_window_days": (1, 3650),
    "tier_retention_days": (0, 3650),
    "referrer_bonus": (0, 1_000_000),
    "referee_bonus": (0, 1_000_000),
    "referral_monthly_limit": (0, 100_000),
    "lifecycle_new_days": (1, 3650),
    "lifecycle_loyal_days": (1, 3650),
    "lifecycle_active_days": (1, 3650),
    "lifecycle_silent_days": (1, 3650),
    "attribution_days": (1, 365),
    "repurchase_reminder_days": (1, 3650),
    "coupon_expiring_soon_days": (1, 365),
    "message_cap": (0, 1000),
    "message_cap_days": (1, 365),
    "sms_rate_per_minute": (1, 1_000_000),
    "email_rate_per_minute": (1, 1_000_000),
    "wechat_rate_per_minute": (1, 1_000_000),
    "webhook_rate_per_minute": (1, 1_000_000),
}

# Settings that may be null (null: never expire, no cap, no quiet hours, no limit).
NULLABLE = frozenset(
    {
        "expiry_days",
        "message_cap",
        "sms_quiet_hours",
        "email_quiet_hours",
        "wechat_quiet_hours",
        "webhook_quiet_hours",
        "sms_rate_per_minute",
        "email_rate_per_minute",
        "wechat_rate_per_minute",
        "webhook_rate_per_minute",
    }
)
QUIET_HOURS = ("sms_quiet_hours", "email_quiet_hours", "wechat_quiet_hours", "webhook_quiet_hours")


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """ "21:00-09:00" → (21:00, 09:00); a window may cross midnight. Raises ValueError."""
    start_text, sep, end_text = text.strip().partition("-")
    if not sep:
        raise ValueError(text)
    start = time.fromisoformat(start_text.strip())
    end = time.fromisoformat(end_text.strip())
    if len(start_text.strip()) != 5 or len(end_text.strip()) != 5 or start == end:
        raise ValueError(text)
    return start, end


def _words(name: str) -> str:
    """A setting named in words for a message (the path names the field exactly)."""
    return name.replace("_", " ")


def apply_changes(current: ProgramSettings, changes: dict[str, Any]) -> ProgramSettings:
    """The settings with `changes` applied, or every problem found (each naming the
    setting at fault by its own name)."""
    errors = ErrorCollector()
    known = {f.name for f in fields(ProgramSettings)} - {"updated_at"}
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        path = (name,)
        if name not in known:
            errors.add(ErrorCode.INVALID, path, f"{_words(name)} is not a program setting.")
            continue
        if value is None and name not in NULLABLE:
            errors.add(ErrorCode.REQUIRED, path, f"{_words(name)} cannot be null.")
            continue
        if name in INT_BOUNDS and value is not None:
            low, high = INT_BOUNDS[name]
            if not low <= value <= high:
                errors.add(
                    ErrorCode.INVALID, path, f"{_words(name)} must be between {low} and {high}."
                )
                continue
        if name == "currency":
            value = str(value).strip().upper()
            if len(value) != 3 or not value.isalpha():
                errors.add(ErrorCode.INVALID, path, "currency must be an ISO 4217 code.")
                continue
        if name in QUIET_HOURS and value is not None:
            try:
                start, end = parse_quiet_hours(str(value))
            except ValueError:
                errors.add(
                    ErrorCode.INVALID,
                    path,
                    f"{_words(name)} must be two different times as HH:MM-HH:MM, e.g. 21:00-09:00.",
                )
                continue
            value = f"{start:%H:%M}-{end:%H:%M}"
        if name == "timezone":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                errors.add(ErrorCode.INVALID, path, f"{value!r} is not an IANA time zone.")
                continue
        try:
            if name in {"earn_rate", "point_value"}:
                value = parse_decimal(
                    value,
                    path,
                    places=RATE_PLACES,
                    low=Decimal(0),
                    high=Decimal(1000),
                    name=_words(name),
                )
            if name == "referral_min_order_amount":
                value = parse_money(value, path, name=_words(name))
        except DomainError as exc:
            errors.capture(exc)
            continue
        clean[name] = value
    errors.raise_if_any()
    result = replace(current, **clean)
    if not (
        result.lifecycle_active_days < result.lifecycle_silent_days
        and result.lifecycle_new_days <= result.lifecycle_loyal_days
    ):
        raise DomainError(
            ErrorCode.INVALID,
            ("lifecycle_silent_days",),
            "lifecycleActiveDays must be below lifecycleSilentDays, and lifecycleNewDays "
            "at most lifecycleLoyalDays.",
        )
    return result


class ProgramRepository(Protocol):
    async def get(self) -> ProgramSettings: ...
    async def save(self, settings: ProgramSettings) -> None: ...


PROGRAM: Port[ProgramRepository] = Port("program")


class ProgramService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def update(self, changes: dict[str, Any]) -> ProgramSettings:
        async with self.uow_factory() as uow:
            current = await uow.repo(PROGRAM).get()
            updated = replace(apply_changes(current, changes), updated_at=self.clock.now())
            await uow.repo(PROGRAM).save(updated)
            await uow.commit()
            return updated
