"""API keys looked up by hash or id, remembered in-process for a few seconds.

Every request authenticates, and on a short read the key's SELECT (a session, a
round trip) was a measurable share of the work (docs/performance.md). A key found is
kept for the TTL (LOYALTY_API_KEY_CACHE_SECONDS, default `TTL_SECONDS`; 0 turns the
cache off); a key not found is never remembered (new keys work at once, and random
bearer strings cannot fill the cache).

The bound on revocation: a key revoked through this process's API is forgotten at
once (`forget`, called by `apiKeyRevoke`); a key revoked elsewhere (another worker
process, another server, `loyalty apikey revoke`) keeps working for at most
the TTL in a process that had it cached. Expiry is not cached: it is checked on
every request against the request's clock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.access import ApiKey
from persistence.api_keys import key_by_hash, key_by_id
from persistence.database import Database

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000


class KeyCache:
    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.monotonic = monotonic
        self._entries: OrderedDict[tuple[str, Any], tuple[float, ApiKey]] = OrderedDict()
        self.lookups = 0
        """Database look-ups done (the tests read it)."""

    async def by_hash(self, database: Database, key_hash: str) -> ApiKey | None:
        return await self._get(database, ("hash", key_hash), key_by_hash)

    async def by_id(self, database: Database, key_id: int) -> ApiKey | None:
        return await self._get(database, ("id", key_id), key_by_id)

    def forget(self, key_id: int | None) -> None:
        """Drops a key (both of its entries) at once, e.g. when it is revoked."""
        for entry, (_, key) in list(self._entries.items()):
            if key.id == key_id:
                del self._entries[entry]

    async def _get(
        self,
        database: Database,
        entry: tuple[str, Any],
        lookup: Callable[[AsyncSession, Any], Awaitable[ApiKey | None]],
    ) -> ApiKey | None:
        now = self.monotonic()
        found = self._entries.get(entry)
        if found is not None and found[0] > now:  # never true with ttl 0
            return found[1]
        self.lookups += 1
        async with database.reads() as session:
            key = await lookup(session, entry[1])
        if key is None:
            self._entries.pop(entry, None)
            return None
        if self.ttl <= 0:
            return key
        self._entries[entry] = (now + self.ttl, key)
        self._entries.move_to_end(entry)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return key
