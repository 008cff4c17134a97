"""The in-process API key cache: one look-up per key per few seconds, a revocation
through this process's API seen at once, one made elsewhere within the TTL."""

from __future__ import annotations

from api.api_keys.cache import TTL_SECONDS, KeyCache
from domain.access import ApiKeyService, Role, hash_key
from domain.clock import SystemClock
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import GraphQLClient, make_key


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_requests_with_one_key_look_it_up_once(client, admin_key):
    gql = GraphQLClient(client, admin_key)
    keys = client._transport.app.state.keys
    before = keys.lookups
    for _ in range(3):
        await gql("{ apiKeys { id } }")
    assert keys.lookups - before == 1


async def test_a_key_revoked_elsewhere_is_refused_after_the_ttl(database):
    secret = await make_key(database, Role.ADMIN)
    ticks = Ticks()
    cache = KeyCache(monotonic=ticks)
    key = await cache.by_hash(database, hash_key(secret))
    assert key is not None and key.revoked_at is None
    await ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock()).revoke(key.id)
    ticks.now += TTL_SECONDS - 0.5
    assert (await cache.by_hash(database, hash_key(secret))).revoked_at is None  # the bound
    ticks.now += 1
    assert (await cache.by_hash(database, hash_key(secret))).revoked_at is not None
    assert cache.lookups == 2


async def test_forget_drops_both_entries_and_unknown_keys_are_not_kept(database):
    secret = await make_key(database, Role.ADMIN)
    cache = KeyCache(monotonic=Ticks())
    key = await cache.by_hash(database, hash_key(secret))
    assert await cache.by_id(database, key.id) == key
    cache.forget(key.id)
    await cache.by_hash(database, hash_key(secret))
    await cache.by_id(database, key.id)
    assert cache.lookups == 4
    for _ in range(2):
        assert await cache.by_hash(database, hash_key("lg_nobody")) is None
    assert cache.lookups == 6
