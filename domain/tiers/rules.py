"""The pure tier rules: qualifying window and tier, when a customer moves up or down,
and where they stand. No I/O: the service applies what these decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from domain.program import ProgramSettings

UPGRADE_REASON = "order"
DOWNGRADE_REASON = "daily review: qualifying value below threshold after retention"


@dataclass
class Tier:
    id: int | None
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal
    benefits: str | None = None
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        return tier_key(self.name)


def plain(value: Decimal) -> Decimal:
    """The number without trailing zeros (1.200 → 1.2, 1000.00 → 1000), so a tier
    reads the same from a mutation's answer and from the database on both backends."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def tier_key(name: str) -> str:
    """The uniqueness key: trimmed and case-folded, so "Gold" and "GOLD" are one tier."""
    return name.strip().casefold()


@dataclass(frozen=True)
class TierSpec:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal
    benefits: str | None = None


DEFAULT_TIERS: tuple[TierSpec, ...] = (
    TierSpec("Bronze", 1, Decimal("0"), Decimal("1.0"), "Welcome tier: 1 point per unit spent."),
    TierSpec("Silver", 2, Decimal("1000"), Decimal("1.2"), "1.2× points on every order."),
    TierSpec("Gold", 3, Decimal("3000"), Decimal("1.5"), "1.5× points on every order."),
    TierSpec("Diamond", 4, Decimal("5000"), Decimal("2.0"), "2× points on every order."),
)


class Direction(StrEnum):
    UPGRADE = "UPGRADE"
    DOWNGRADE = "DOWNGRADE"


@dataclass(frozen=True)
class Window:
    """The half-open-on-the-left window (start, end] whose orders count."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Standing:
    """Which tier a customer holds and since when."""

    customer_id: int
    tier_id: int | None
    since: datetime | None


@dataclass(frozen=True)
class TierChange:
    customer_id: int
    from_tier: Tier | None
    to_tier: Tier | None
    reason: str
    at: datetime
    qualifying_value: Decimal
    direction: Direction


@dataclass(frozen=True)
class TierProgress:
    current: Tier | None
    next: Tier | None
    qualifying_value: Decimal
    remaining_to_next: Decimal | None


@dataclass(frozen=True)
class TierHistoryEntry:
    id: int
    customer_id: int
    from_tier_id: int | None
    to_tier_id: int | None
    reason: str
    at: datetime


# ---- the pure rules ------------------------------------------------------------------


def qualifying_window(program: ProgramSettings, now: datetime) -> Window:
    return Window(now - timedelta(days=program.tier_window_days), now)


def by_rank(tiers: Sequence[Tier]) -> list[Tier]:
    return sorted(tiers, key=lambda t: t.rank)


def qualifying_tier(tiers: Sequence[Tier], value: Decimal) -> Tier | None:
    """The highest-ranked tier whose threshold the value reaches."""
    reached = [t for t in tiers if t.threshold <= value]
    return max(reached, key=lambda t: t.rank) if reached else None


def find_tier(tiers: Sequence[Tier], tier_id: int | None) -> Tier | None:
    return next((t for t in tiers if t.id == tier_id), None) if tier_id is not None else None


def decide_upgrade(
    tiers: Sequence[Tier], standing: Standing, value: Decimal, now: datetime
) -> TierChange | None:
    """The move up this value earns, or None. Never moves down."""
    current = find_tier(tiers, standing.tier_id)
    target = qualifying_tier(tiers, value)
    if target is None or (current is not None and target.rank <= current.rank):
        return None
    return TierChange(
        standing.customer_id, current, target, UPGRADE_REASON, now, value, Direction.UPGRADE
    )


def retention_over(since: datetime | None, now: datetime, retention_days: int) -> bool:
    """True once the tier has been held `retention_days` (the boundary itself counts)."""
    return since is None or now - since >= timedelta(days=retention_days)


def decide_downgrade(
    tiers: Sequence[Tier],
    standing: Standing,
    value: Decimal,
    now: datetime,
    retention_days: int,
) -> TierChange | None:
    """The move down the daily job makes, or None.

    Only when the value is below the held tier's threshold and the retention is over;
    the customer lands on the tier the value qualifies for (or none).
    """
    current = find_tier(tiers, standing.tier_id)
    if current is None or value >= current.threshold:
        return None
    if not retention_over(standing.since, now, retention_days):
        return None
    target = qualifying_tier(tiers, value)
    if target is not None and target.rank >= current.rank:
        return None
    return TierChange(
        standing.customer_id, current, target, DOWNGRADE_REASON, now, value, Direction.DOWNGRADE
    )


def progress(tiers: Sequence[Tier], current_id: int | None, value: Decimal) -> TierProgress:
    """Where a customer stands: the next tier is the one ranked just above the held one."""
    ordered = by_rank(tiers)
    current = find_tier(ordered, current_id)
    above = [t for t in ordered if current is None or t.rank > current.rank]
    following = above[0] if above else None
    remaining = plain(max(following.threshold - value, Decimal(0))) if following else None
    return TierProgress(current, following, value, remaining)
