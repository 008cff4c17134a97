"""Tiers: which tier a customer qualifies for, when they move, and tier admin.

The rules (docs/tiers.md):

- The *qualifying value* is taken over the rolling window (now − tier_window_days, now]:
  with basis POINTS_EARNED it is Σ(points earned − points reversed) of the customer's
  orders placed in the window, with SPEND it is Σ(amount − refunded amount). An order
  refunded in full therefore contributes 0.
- The *qualifying tier* is the highest-ranked tier whose threshold ≤ the value (none
  when even the lowest threshold is out of reach).
- Upgrade at once, in the order's own transaction (`upgrade_after_order`): a customer
  whose qualifying tier ranks above the one they hold moves straight to it, skipping
  tiers if the order crossed several thresholds. A tier with threshold 0 is reached on
  the first order.
- Downgrade only by the daily job (`run_downgrades`): only when the value has fallen
  below the threshold of the tier held *and* the tier has been held at least
  tier_retention_days (exactly that many days counts). The customer moves to the
  qualifying tier, or to no tier. The tier's clock (tier_since) restarts with every
  move, so the retention protects the new tier too and a second run at the same
  instant finds nothing to do.
- Changing a tier's threshold moves nobody by itself: customers move up on their next
  order and down at the next daily run.
- Ranks order tiers, and thresholds must rise with rank: otherwise a higher tier could
  be easier to reach than a lower one, and "highest rank whose threshold ≤ value"
  would skip a tier a customer plainly earned.

This module holds the decisions; the SQL that sums orders and finds candidates lives
in persistence/tiers.py behind `TierRepository`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.events import Event, EventRepository, EventType
from domain.fields import optional_text, required_text
from domain.program import ProgramSettings, TierBasis

MAX_TIER_NAME = 64
MAX_BENEFITS = 2000
MAX_RANK = 1000
MAX_THRESHOLD = Decimal("1000000000000")  # fits Numeric(18, 2) with room to spare
MAX_MULTIPLIER = Decimal("10")
DOWNGRADE_BATCH = 500

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


def _find(tiers: Sequence[Tier], tier_id: int | None) -> Tier | None:
    return next((t for t in tiers if t.id == tier_id), None) if tier_id is not None else None


def decide_upgrade(
    tiers: Sequence[Tier], standing: Standing, value: Decimal, now: datetime
) -> TierChange | None:
    """The move up this value earns, or None. Never moves down."""
    current = _find(tiers, standing.tier_id)
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
    current = _find(tiers, standing.tier_id)
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
    current = _find(ordered, current_id)
    above = [t for t in ordered if current is None or t.rank > current.rank]
    following = above[0] if above else None
    remaining = plain(max(following.threshold - value, Decimal(0))) if following else None
    return TierProgress(current, following, value, remaining)


# ---- ports ---------------------------------------------------------------------------


class TierRepository(Protocol):
    async def all(self) -> list[Tier]: ...
    async def get(self, tier_id: int) -> Tier | None: ...
    async def lock_for_changes(self) -> None: ...
    async def add(self, tier: Tier) -> Tier: ...
    async def save(self, tier: Tier) -> None: ...
    async def delete(self, tier_id: int) -> None: ...
    async def holder_count(self, tier_id: int) -> int: ...
    async def multiplier_of(self, customer_id: int) -> Decimal | None: ...
    async def standing(self, customer_id: int, *, for_update: bool = False) -> Standing | None: ...
    async def lock_downgrade_candidates(
        self,
        held_since_at_most: datetime,
        basis: TierBasis,
        window: Window,
        after_customer_id: int,
        limit: int,
    ) -> list[Standing]: ...
    async def qualifying_values(
        self, customer_ids: Sequence[int], basis: TierBasis, window: Window
    ) -> dict[int, Decimal]: ...
    async def move(self, changes: Sequence[TierChange]) -> None: ...


class TierUnitOfWork(Protocol):
    tiers: TierRepository
    events: EventRepository

    async def __aenter__(self) -> TierUnitOfWork: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...


# ---- what the order flow and the daily job call ---------------------------------------


async def earn_multiplier(uow: TierUnitOfWork, customer_id: int) -> Decimal:
    """The multiplier of the customer's tier; 1 when they hold none."""
    found = await uow.tiers.multiplier_of(customer_id)
    return found if found is not None else Decimal(1)


async def upgrade_after_order(
    uow: TierUnitOfWork, customer_id: int, program: ProgramSettings, now: datetime
) -> TierChange | None:
    """Moves the customer up if their orders now qualify them for a higher tier.

    Runs inside the order's own (entered, uncommitted) unit of work, after the order
    row is written; it locks the customer row, so concurrent orders of one customer
    decide one after the other. It does not commit.
    """
    standing = await uow.tiers.standing(customer_id, for_update=True)
    if standing is None:
        return None
    tiers = await uow.tiers.all()
    if not tiers:
        return None
    values = await uow.tiers.qualifying_values(
        [customer_id], program.tier_basis, qualifying_window(program, now)
    )
    change = decide_upgrade(tiers, standing, values.get(customer_id, Decimal(0)), now)
    if change is not None:
        await _apply(uow, [change], program)
    return change


async def run_downgrades(
    uow_factory: Callable[[], TierUnitOfWork],
    program: ProgramSettings,
    now: datetime,
    *,
    batch_size: int = DOWNGRADE_BATCH,
) -> int:
    """The daily job's tier step: downgrades every customer due, batch by batch.

    Each batch is its own transaction, so the job never holds locks on the whole
    customer table; candidates come from SQL (held long enough and below threshold)
    in customer-id order and are locked, re-checked and moved. Returns how many
    customers changed tier.
    """
    window = qualifying_window(program, now)
    held_since_at_most = now - timedelta(days=program.tier_retention_days)
    after = 0
    changed = 0
    while True:
        async with uow_factory() as uow:
            batch = await uow.tiers.lock_downgrade_candidates(
                held_since_at_most, program.tier_basis, window, after, batch_size
            )
            if not batch:
                return changed
            tiers = await uow.tiers.all()
            values = await uow.tiers.qualifying_values(
                [s.customer_id for s in batch], program.tier_basis, window
            )
            changes = [
                change
                for standing in batch
                if (
                    change := decide_downgrade(
                        tiers,
                        standing,
                        values.get(standing.customer_id, Decimal(0)),
                        now,
                        program.tier_retention_days,
                    )
                )
                is not None
            ]
            await _apply(uow, changes, program)
            await uow.commit()
            changed += len(changes)
        # Only an empty batch ends the walk: on PostgreSQL a LIMIT … FOR UPDATE batch
        # can come back short when a row changed while it waited for its lock.
        after = batch[-1].customer_id


async def _apply(
    uow: TierUnitOfWork, changes: Sequence[TierChange], program: ProgramSettings
) -> None:
    """Writes the moves (customers' tiers and history) and raises one event each."""
    if not changes:
        return
    await uow.tiers.move(changes)
    for change in changes:
        upgrade = change.direction is Direction.UPGRADE
        await uow.events.append(
            Event(
                EventType.TIER_UPGRADED if upgrade else EventType.TIER_DOWNGRADED,
                change.customer_id,
                change.at,
                {
                    "fromTierId": change.from_tier.id if change.from_tier else None,
                    "fromTier": change.from_tier.name if change.from_tier else None,
                    "toTierId": change.to_tier.id if change.to_tier else None,
                    "toTier": change.to_tier.name if change.to_tier else None,
                    "reason": change.reason,
                    "basis": program.tier_basis.value,
                    "qualifyingValue": str(change.qualifying_value),
                },
            )
        )


# ---- tier administration --------------------------------------------------------------


@dataclass(frozen=True)
class CreateTier:
    name: str
    rank: int
    threshold: Decimal
    earn_multiplier: Decimal
    benefits: str | None = None


@dataclass(frozen=True)
class UpdateTier:
    """UNSET leaves a field as it is."""

    tier_id: int
    name: Any = UNSET
    rank: Any = UNSET
    threshold: Any = UNSET
    earn_multiplier: Any = UNSET
    benefits: Any = UNSET


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_threshold(value: Any, field: Sequence[str]) -> Decimal:
    amount = _as_decimal(value, field, "threshold")
    if amount < 0:
        raise DomainError(ErrorCode.INVALID, field, "threshold must not be negative.")
    if amount > MAX_THRESHOLD:
        raise DomainError(ErrorCode.INVALID, field, f"threshold must be at most {MAX_THRESHOLD}.")
    if _decimal_places(amount) > 2:
        raise DomainError(ErrorCode.INVALID, field, "threshold has more than 2 decimal places.")
    return plain(amount)


def check_multiplier(value: Any, field: Sequence[str]) -> Decimal:
    factor = _as_decimal(value, field, "earnMultiplier")
    if not Decimal(0) < factor <= MAX_MULTIPLIER:
        raise DomainError(
            ErrorCode.INVALID,
            field,
            f"earnMultiplier must be above 0 and at most {MAX_MULTIPLIER}.",
        )
    if _decimal_places(factor) > 3:
        raise DomainError(
            ErrorCode.INVALID, field, "earnMultiplier has more than 3 decimal places."
        )
    return plain(factor)


def check_rank(value: Any, field: Sequence[str]) -> int:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, "rank cannot be null.")
    if not 0 <= value <= MAX_RANK:
        raise DomainError(ErrorCode.INVALID, field, f"rank must be between 0 and {MAX_RANK}.")
    return value


def _as_decimal(value: Any, field: Sequence[str], name: str) -> Decimal:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, field, f"{name} cannot be null.")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(ErrorCode.INVALID, field, f"{name} is not a number.") from None
    if not number.is_finite():
        raise DomainError(ErrorCode.INVALID, field, f"{name} is not a number.")
    return number


def check_order(tier: Tier, others: Sequence[Tier]) -> None:
    """Rank and name unique, and thresholds rising strictly with rank."""
    for other in others:
        if other.key == tier.key:
            raise DomainError(ErrorCode.TAKEN, ("input", "name"), f"A tier {other.name!r} exists.")
        if other.rank == tier.rank:
            raise DomainError(
                ErrorCode.TAKEN, ("input", "rank"), f"Tier {other.name!r} has rank {other.rank}."
            )
    for other in others:
        wrong_below = other.rank < tier.rank and other.threshold >= tier.threshold
        wrong_above = other.rank > tier.rank and other.threshold <= tier.threshold
        if wrong_below or wrong_above:
            side = "above" if wrong_below else "below"
            raise DomainError(
                ErrorCode.INVALID,
                ("input", "threshold"),
                f"threshold must be {side} {other.threshold} of {other.name!r} "
                f"(rank {other.rank}): thresholds rise with rank.",
            )


FIELD_CHECKS: dict[str, Callable[[Any, Sequence[str]], Any]] = {
    "name": lambda v, f: required_text(v, f, max_length=MAX_TIER_NAME),
    "rank": check_rank,
    "threshold": check_threshold,
    "earn_multiplier": check_multiplier,
    "benefits": lambda v, f: optional_text(v, f, max_length=MAX_BENEFITS),
}
INPUT_NAMES = {"earn_multiplier": "earnMultiplier"}


def checked_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The given tier fields, cleaned, or every problem among them at once."""
    errors = ErrorCollector()
    clean: dict[str, Any] = {}
    for name, value in values.items():
        try:
            clean[name] = FIELD_CHECKS[name](value, ("input", INPUT_NAMES.get(name, name)))
        except DomainError as exc:
            errors.capture(exc)
    errors.raise_if_any()
    return clean


class TierService:
    """Tier administration. Writes take the tier table's change lock so two admins
    (or two `ensure_defaults` calls) never interleave their checks."""

    def __init__(self, uow: TierUnitOfWork, clock: Clock) -> None:
        self.uow = uow
        self.clock = clock

    async def create(self, command: CreateTier) -> Tier:
        values = checked_fields(
            {
                "name": command.name,
                "rank": command.rank,
                "threshold": command.threshold,
                "earn_multiplier": command.earn_multiplier,
                "benefits": command.benefits,
            }
        )
        async with self.uow as uow:
            await uow.tiers.lock_for_changes()
            tier = Tier(id=None, created_at=self.clock.now(), **values)
            check_order(tier, await uow.tiers.all())
            tier = await uow.tiers.add(tier)
            await uow.commit()
            return tier

    async def update(self, command: UpdateTier) -> Tier:
        given = {
            "name": command.name,
            "rank": command.rank,
            "threshold": command.threshold,
            "earn_multiplier": command.earn_multiplier,
            "benefits": command.benefits,
        }
        changes = checked_fields({k: v for k, v in given.items() if v is not UNSET})
        async with self.uow as uow:
            await uow.tiers.lock_for_changes()
            tiers = await uow.tiers.all()
            tier = _find(tiers, command.tier_id)
            if tier is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("input", "id"), "No tier has this id.")
            updated = replace(tier, **changes)
            check_order(updated, [t for t in tiers if t.id != tier.id])
            if updated != tier:
                await uow.tiers.save(updated)
            await uow.commit()
            return updated

    async def delete(self, tier_id: int) -> Tier:
        """Deletes a tier nobody holds. History entries that name it keep their
        reason and time but lose the link (the tier is gone)."""
        async with self.uow as uow:
            await uow.tiers.lock_for_changes()
            tier = await uow.tiers.get(tier_id)
            if tier is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("input", "id"), "No tier has this id.")
            holders = await uow.tiers.holder_count(tier_id)
            if holders:
                raise DomainError(
                    ErrorCode.IN_USE,
                    ("input", "id"),
                    f"{holders} customer(s) hold tier {tier.name!r}; it can be deleted once "
                    "nobody holds it (change its threshold to move them at the next review).",
                )
            await uow.tiers.delete(tier_id)
            await uow.commit()
            return tier

    async def ensure_defaults(self) -> list[Tier]:
        """Creates DEFAULT_TIERS when the program has no tiers at all (the demo and a
        fresh install); a program with any tier is left exactly as it is."""
        async with self.uow as uow:
            await uow.tiers.lock_for_changes()
            existing = await uow.tiers.all()
            if existing:
                return by_rank(existing)
            now = self.clock.now()
            created = [
                await uow.tiers.add(
                    Tier(
                        None,
                        spec.name,
                        spec.rank,
                        spec.threshold,
                        spec.earn_multiplier,
                        spec.benefits,
                        now,
                    )
                )
                for spec in DEFAULT_TIERS
            ]
            await uow.commit()
            return created
