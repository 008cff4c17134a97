"""The tier repository's port key, kept outside domain/tiers.py while that file is
being split; it moves beside `TierRepository` when the tiers area is a package.

`TieredUnitOfWork` is transitional too: domain/tiers.py still reads ``uow.tiers``
and ``uow.events`` (its `TierUnitOfWork`), so the services that hand their unit of
work to it (orders, the daily job) ask for these two attributes as well. Once
tiers.py uses ``uow.repo(TIERS)`` they take a plain `UnitOfWork` and this goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from domain.events import EventRepository
from domain.tiers import TierRepository
from domain.unit_of_work import Port, UnitOfWork

TIERS: Port[TierRepository] = Port("tiers")


class TieredUnitOfWork(UnitOfWork, Protocol):
    tiers: TierRepository
    events: EventRepository

    async def __aenter__(self) -> TieredUnitOfWork: ...


TieredUnitOfWorkFactory = Callable[[], TieredUnitOfWork]
