"""Per-request context: the caller, the database, and the request's DataLoaders.

Loaders are created per request so nothing is cached across callers. Each batch runs
in its own short read session: one AsyncSession is never shared by concurrent tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth import Anonymous, Principal
from api.settings import Settings
from domain.clock import Clock
from domain.program import ProgramSettings
from persistence import customers as customer_reads
from persistence import orders as order_reads
from persistence import points as point_reads
from persistence import tags as tag_reads
from persistence.database import Database
from persistence.program import load_program
from persistence.unit_of_work import SqlUnitOfWork

R = TypeVar("R")


class Loaders:
    def __init__(self, database: Database) -> None:
        self.database = database
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

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.database)

    async def program(self) -> ProgramSettings:
        """The program's settings, read once per request. The read is shared as a task:
        the resolvers of a page's rows ask at the same moment, and each checking for a
        finished result would start a read of its own (one query per row)."""
        if self._program is None:
            self._program = asyncio.ensure_future(
                self.read(load_program, self.settings.program_defaults())
            )
        return await self._program

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.settings.program_defaults())

    async def read(self, query: Callable[..., Awaitable[R]], *args: Any) -> R:
        """Runs one read-model query in a short session of its own."""
        async with self.database.sessions() as session:
            return await query(session, *args)
