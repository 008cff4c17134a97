"""Per-request context: the caller, the database, and the request's DataLoaders.

Loaders are created per request so nothing is cached across callers, and only when a
resolver first asks for one (`context.loader(KEY)`, the keys living beside their
area). Program settings and "now" are read once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from api.api_keys.cache import KeyCache
from api.auth import Anonymous, Caller
from api.loaders import LoaderKey
from api.settings import Settings
from domain.clock import Clock
from domain.program import ProgramSettings
from persistence.database import Database
from persistence.program import load_program
from persistence.unit_of_work import SqlUnitOfWork

R = TypeVar("R")
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Context:
    database: Database
    settings: Settings
    clock: Clock
    caller: Caller | Anonymous
    keys: KeyCache | None = None
    """The process's API key cache, so a revocation here is seen at once."""
    _loaders: dict[LoaderKey[Any, Any], DataLoader[Any, Any]] = field(
        init=False, default_factory=dict
    )
    _program: asyncio.Future[ProgramSettings] | None = field(init=False, default=None)
    _now: datetime | None = field(init=False, default=None)

    def loader(self, key: LoaderKey[K, V]) -> DataLoader[K, V]:
        """This request's DataLoader for `key`, built on first use."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = key.build(self)
        return found

    def program_defaults(self) -> ProgramSettings:
        """The settings a program row overrides (environment), for read models."""
        return self.settings.program_defaults()

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

    def reading_uow(self) -> SqlUnitOfWork:
        """A unit of work that only reads (`earningPreview`): no write lock on SQLite."""
        return SqlUnitOfWork(self.database, self.settings.program_defaults(), reading=True)

    async def read(self, query: Callable[..., Awaitable[R]], *args: Any, **kwargs: Any) -> R:
        """Runs one read-model query in a short read session of its own (no BEGIN/COMMIT
        round trips on PostgreSQL: persistence/database.py)."""
        async with self.database.reads() as session:
            return await query(session, *args, **kwargs)
