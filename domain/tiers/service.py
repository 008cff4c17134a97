"""Orchestration: the order flow's upgrade, the daily downgrade walk, and tier admin.

Each opens (or runs inside) a unit of work, asks the rules, writes and raises events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from domain.clock import Clock
from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode
from domain.events import EVENTS, Event, EventType
from domain.program import ProgramSettings
from domain.tiers.admin import CreateTier, UpdateTier, check_order, checked_fields
from domain.tiers.ports import TIERS
from domain.tiers.rules import (
    DEFAULT_TIERS,
    Direction,
    Tier,
    TierChange,
    by_rank,
    decide_downgrade,
    decide_upgrade,
    find_tier,
    qualifying_window,
)
from domain.unit_of_work import UnitOfWork, UnitOfWorkFactory

DOWNGRADE_BATCH = 500


async def earn_multiplier(uow: UnitOfWork, customer_id: int) -> Decimal:
    """The multiplier of the customer's tier; 1 when they hold none."""
    found = await uow.repo(TIERS).multiplier_of(customer_id)
    return found if found is not None else Decimal(1)


async def upgrade_after_order(
    uow: UnitOfWork, customer_id: int, program: ProgramSettings, now: datetime
) -> TierChange | None:
    """Moves the customer up if their orders now qualify them for a higher tier.

    Runs inside the order's own (entered, uncommitted) unit of work, after the order
    row is written; it locks the customer row, so concurrent orders of one customer
    decide one after the other. It does not commit.
    """
    standing = await uow.repo(TIERS).standing(customer_id, for_update=True)
    if standing is None:
        return None
    tiers = await uow.repo(TIERS).all()
    if not tiers:
        return None
    values = await uow.repo(TIERS).qualifying_values(
        [customer_id], program.tier_basis, qualifying_window(program, now)
    )
    change = decide_upgrade(tiers, standing, values.get(customer_id, Decimal(0)), now)
    if change is not None:
        await _apply(uow, [change], program)
    return change


async def run_downgrades(
    uow_factory: UnitOfWorkFactory,
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
            batch = await uow.repo(TIERS).lock_downgrade_candidates(
                held_since_at_most, program.tier_basis, window, after, batch_size
            )
            if not batch:
                return changed
            tiers = await uow.repo(TIERS).all()
            values = await uow.repo(TIERS).qualifying_values(
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
    uow: UnitOfWork, changes: Sequence[TierChange], program: ProgramSettings
) -> None:
    """Writes the moves (customers' tiers and history) and raises one event each."""
    if not changes:
        return
    await uow.repo(TIERS).move(changes)
    for change in changes:
        upgrade = change.direction is Direction.UPGRADE
        await uow.repo(EVENTS).append(
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


class TierService:
    """Tier administration. Writes take the tier table's change lock so two admins
    (or two `ensure_defaults` calls) never interleave their checks."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
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
        async with self.uow_factory() as uow:
            await uow.repo(TIERS).lock_for_changes()
            tier = Tier(id=None, created_at=self.clock.now(), **values)
            check_order(tier, await uow.repo(TIERS).all())
            tier = await uow.repo(TIERS).add(tier)
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
        async with self.uow_factory() as uow:
            await uow.repo(TIERS).lock_for_changes()
            tiers = await uow.repo(TIERS).all()
            tier = find_tier(tiers, command.tier_id)
            if tier is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No tier has this id.")
            updated = replace(tier, **changes)
            check_order(updated, [t for t in tiers if t.id != tier.id])
            if updated != tier:
                await uow.repo(TIERS).save(updated)
            await uow.commit()
            return updated

    async def delete(self, tier_id: int) -> Tier:
        """Deletes a tier nobody holds. History entries that name it keep their
        reason and time but lose the link (the tier is gone)."""
        async with self.uow_factory() as uow:
            await uow.repo(TIERS).lock_for_changes()
            tier = await uow.repo(TIERS).get(tier_id)
            if tier is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No tier has this id.")
            holders = await uow.repo(TIERS).holder_count(tier_id)
            if holders:
                raise DomainError(
                    ErrorCode.IN_USE,
                    ("id",),
                    f"{holders} customer(s) hold tier {tier.name!r}; it can be deleted once "
                    "nobody holds it (change its threshold to move them at the next review).",
                )
            await uow.repo(TIERS).delete(tier_id)
            await uow.commit()
            return tier

    async def ensure_defaults(self) -> list[Tier]:
        """Creates DEFAULT_TIERS when the program has no tiers at all (the demo and a
        fresh install); a program with any tier is left exactly as it is."""
        async with self.uow_factory() as uow:
            await uow.repo(TIERS).lock_for_changes()
            existing = await uow.repo(TIERS).all()
            if existing:
                return by_rank(existing)
            now = self.clock.now()
            created = [
                await uow.repo(TIERS).add(
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
