"""Per-request context: the caller, the database, and the request's DataLoaders.

Loaders are created per request so nothing is cached across callers. Each batch runs
in its own short read session: one AsyncSession is never shared by concurrent tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth import Anonymous, Principal
from api.settings import Settings
from domain.clock import Clock
from domain.program import ProgramSettings
from persistence import classification as classification_reads
from persistence import customers as customer_reads
from persistence import events as event_reads
from persistence import orders as order_reads
from persistence import points as point_reads
from persistence import referrals as referral_reads
from persistence import rewards as reward_reads
from persistence import segments as segment_reads
from persistence import tags as tag_reads
from persistence import tiers as tier_reads
from persistence.database import Database
from persistence.program import load_program
from persistence.unit_of_work import SqlUnitOfWork

R = TypeVar("R")


class Loaders:
    def __init__(
        self,
        database: Database,
        *,
        program_defaults: ProgramSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.database = database
        defaults = program_defaults or ProgramSettings()
        self.customer = self._loader(customer_reads.customers_by_ids, missing=None)
        self.customer_by_external_id = self._loader(
            customer_reads.customers_by_external_ids, missing=None
        )
        self.tag = self._loader(tag_reads.tags_by_ids, missing=None)
        self.tags_of_customer = self._loader(tag_reads.tags_of_customers, missing=[])
        self.tag_customer_count = self._loader(tag_reads.customer_counts, missing=0)
        self.order = self._loader(order_reads.orders_by_ids, missing=None)
        self.order_by_external_id = self._loader(order_reads.orders_by_external_ids, missing=None)
        self.first_orders = self._loader(order_reads.first_orders_of_customers, missing=None)
        self.order_items = self._loader(order_reads.items_of_orders, missing=[])
        self.order_refunds = self._loader(order_reads.refunds_of_orders, missing=[])
        self.ledger_entry = self._loader(point_reads.entries_by_ids, missing=None)
        self.pending_points = self._loader(point_reads.pending_points, missing=0)
        self.expiring_points = self._loader(point_reads.expiring_lots, missing=[])
        self.referral = self._loader(referral_reads.referrals_by_ids, missing=None)
        self.referral_of_referee = self._loader(referral_reads.referrals_by_referee, missing=None)
        self.referral_code = self._loader(referral_reads.referral_codes, missing=None)
        self.tier = self._loader(tier_reads.tiers_by_ids, missing=None)
        self.tier_of_customer = self._loader(tier_reads.tiers_of_customers, missing=None)
        self.tier_customer_count = self._loader(tier_reads.holder_counts, missing=0)
        self.tier_history = self._loader(tier_reads.tier_history_of_customers, missing=[])
        defaults = program_defaults or ProgramSettings()

        async def tier_progress(session: AsyncSession, keys: Sequence[int]) -> dict:
            now = clock.now() if clock else datetime.now(UTC)
            return await tier_reads.tier_progress_of_customers(session, keys, defaults, now)

        self.tier_progress = self._loader(tier_progress, missing=None)
        self.reward = self._loader(reward_reads.rewards_by_ids, missing=None)
        self.redemption = self._loader(reward_reads.redemptions_by_ids, missing=None)
        self.redemption_by_code = self._loader(reward_reads.redemptions_by_codes, missing=None)
        self.event = self._loader(event_reads.events_by_ids, missing=None)
        # Keyed by (customer id, as of[, look-back days]).
        self.lifecycle_stage = self._loader(
            partial(classification_reads.lifecycle_stages, defaults=defaults),
            missing=None,
        )
        self.customer_rfm = self._loader(
            partial(classification_reads.customer_rfms, defaults=defaults), missing=None
        )
        # Keys are (customer id, as-of instant): one query per distinct instant.
        self.segments_of_customer = self._loader(
            partial(segment_reads.segments_of_customers, defaults=defaults), missing=[]
        )

    def _loader(
        self, fetch: Callable[[AsyncSession, Sequence], Awaitable[dict]], *, missing: Any
    ) -> DataLoader:
        database = self.database

        async def batch(keys: list) -> list:
            async with database.sessions() as session:
                found = await fetch(session, keys)
            return [found.get(key, missing) for key in keys]

        return DataLoader(load_fn=batch)


@dataclass
class Context:
    database: Database
    settings: Settings
    clock: Clock
    caller: Principal | Anonymous
    loaders: Loaders = field(init=False)
    _program: asyncio.Future[ProgramSettings] | None = field(init=False, default=None)
    _now: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.loaders = Loaders(
            self.database, program_defaults=self.settings.program_defaults(), clock=self.clock
        )

    async def program(self) -> ProgramSettings:
        """The program's settings, read once per request. The read is shared as a task:
        the resolvers of a page's rows ask at the same moment, and each checking for a
        finished result would start a read of its own (one query per row)."""
        if self._program is None:
            self._program = asyncio.ensure_future(
                self.read(load_program, self.settings.program_defaults())
            )
        return await self._program

    def now(self) -> datetime:
        """The clock read once per request, so every field defaulting to "now" agrees
        (and a DataLoader batch keyed by it stays one batch)."""
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.settings.program_defaults())

    async def read(self, query: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
        """Runs one read-model query in a short session of its own."""
        async with self.database.sessions() as session:
            return await query(session, *args, **kwargs)
