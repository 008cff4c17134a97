"""Per-request context: the caller, the database, and the request's DataLoaders.

Loaders are created per request so nothing is cached across callers. Each batch runs
in its own short read session: one AsyncSession is never shared by concurrent tasks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from api.auth import Anonymous, Principal
from api.settings import Settings
from domain.clock import Clock
from domain.program import ProgramSettings
from persistence import customers as customer_reads
from persistence import segments as segment_reads
from persistence import tags as tag_reads
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork

R = TypeVar("R")


class Loaders:
    def __init__(self, database: Database, program_defaults: ProgramSettings | None = None) -> None:
        self.database = database
        defaults = program_defaults or ProgramSettings()
        self.customer = self._loader(customer_reads.customers_by_ids, missing=None)
        self.customer_by_external_id = self._loader(
            customer_reads.customers_by_external_ids, missing=None
        )
        self.tag = self._loader(tag_reads.tags_by_ids, missing=None)
        self.tags_of_customer = self._loader(tag_reads.tags_of_customers, missing=[])
        self.tag_customer_count = self._loader(tag_reads.customer_counts, missing=0)
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

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.database, self.settings.program_defaults())

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database, self.settings.program_defaults())

    async def read(self, query: Callable[..., Awaitable[R]], *args: Any) -> R:
        """Runs one read-model query in a short session of its own."""
        async with self.database.sessions() as session:
            return await query(session, *args)
