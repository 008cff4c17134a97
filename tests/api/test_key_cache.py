"""The in-process API key cache: one look-up per key per few seconds, a revocation
through this process's API seen at once, one made elsewhere within the TTL."""

from __future__ import annotations

import httpx

from api.api_keys.cache import TTL_SECONDS, KeyCache
from api.app import create_app
from api.settings import Settings
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


async def test_requests_with_one_key_look_it_up_once_and_see_its_revocation(
    database, database_url, admin_key
):
    app = create_app(Settings(DATABASE_URL=database_url), database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        gql = GraphQLClient(http, admin_key)
        for _ in range(3):
            keys = (await gql("{ apiKeys { id name } }"))["apiKeys"]
        assert app.state.keys.lookups == 1
        other = await make_key(database, Role.ADMIN, name="other")
        await GraphQLClient(http, other)("{ apiKeys { id } }")  # cached now
        revoked = next(k["id"] for k in keys if k["name"] != "other")
        await gql(  # the admin revokes its own key through this process: seen at once
            "mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) { userErrors { code } } }",
            {"id": revoked},
        )
        body = await gql.raw("{ apiKeys { id } }")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        await GraphQLClient(http, other)("{ apiKeys { id } }")  # another key unaffected


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
