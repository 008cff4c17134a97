"""DataLoaders declared beside their area, built lazily per request.

An area declares a `LoaderKey` next to its reads (`api/tiers/loaders.py`) and a
resolver asks `info.context.loader(TIER_OF_CUSTOMER)`: the request's context builds
that DataLoader the first time it is asked for, and never for a request that does
not need it. Each batch is one query in its own short session (one AsyncSession is
never shared by concurrent tasks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

if TYPE_CHECKING:
    from api.context import Context

K = TypeVar("K")
V = TypeVar("V")
M = TypeVar("M")

Fetch = Callable[[AsyncSession, Sequence[Any]], Awaitable[Mapping[Any, Any]]]


@dataclass(frozen=True, eq=False)
class LoaderKey(Generic[K, V]):
    """Names one kind of batch load. `bind` gives the batch query for a request: most
    ignore the request; some need its program defaults or its "now"."""

    name: str
    bind: Callable[[Context], Fetch]
    missing: V

    def build(self, context: Context) -> DataLoader[K, V]:
        fetch = self.bind(context)
        database = context.database
        missing = self.missing

        async def batch(keys: list[K]) -> list[V]:
            async with database.reads() as session:
                found = await fetch(session, keys)
            return [found.get(key, missing) for key in keys]

        return DataLoader(load_fn=batch)


def loader(
    name: str,
    fetch: Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]],
    *,
    missing: M,
) -> LoaderKey[K, V | M]:
    """A loader whose batch query needs nothing from the request; `missing` is what a
    key the query did not find loads as (None, 0, [])."""
    return LoaderKey(name, lambda _context: fetch, missing)


def request_loader(
    name: str,
    bind: Callable[[Context], Callable[[AsyncSession, Sequence[K]], Awaitable[Mapping[K, V]]]],
    *,
    missing: M,
) -> LoaderKey[K, V | M]:
    """A loader whose batch query needs the request (its settings, its "now")."""
    return LoaderKey(name, bind, missing)
