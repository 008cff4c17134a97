"""Rate limits per API key, per customer token, per address without credentials, and
on failed authentications per address; in memory and in Redis."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from limits import parse
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings
from domain.access import KEY_PREFIX, Role
from persistence.database import Database
from tests.conftest import make_key

REDIS_URL = "redis://127.0.0.1:6379/0"
PROTECTED = {"query": "{ customers(first: 1) { totalCount } }"}
TYPENAME = {"query": "{ __typename }"}
UPSERT = """mutation { customerUpsert(input: {externalId: "rl-1", email: "rl@example.com"}) { customer { id } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }"""


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    if not redis_reachable():
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis at 127.0.0.1:6379 for the shared rate-limit store")
        pytest.skip("Redis run skipped: nothing listens on 127.0.0.1:6379")
    return REDIS_URL


AppFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
async def limited(database: Database, database_url: str, storage: str) -> AsyncIterator[AppFactory]:
    """Builds clients of apps that share one store and one key prefix (as the
    processes of one deployment do), unique to this test."""
    prefix = f"test-{uuid.uuid4().hex}"
    clients: list[httpx.AsyncClient] = []
    apps: dict[tuple, object] = {}

    def client(
        address: str = "203.0.113.1", app_number: int = 0, **limits: str
    ) -> httpx.AsyncClient:
        key = (app_number, tuple(sorted(limits.items())))
        if key not in apps:
            settings = Settings(
                DATABASE_URL=database_url,
                LOYALTY_RATE_LIMIT_STORAGE=storage,
                LOYALTY_RATE_LIMIT_PREFIX=prefix,
                **limits,
            )
            apps[key] = create_app(settings, database=database)
        transport = httpx.ASGITransport(app=apps[key], client=(address, 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        clients.append(http)
        return http

    yield client
    for http in clients:
        await http.aclose()


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert "retry in" in error["message"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_per_api_key(limited, database):
    first = await make_key(database, Role.ADMIN, name="a")
    second = await make_key(database, Role.ADMIN, name="b")
    http = limited(LOYALTY_RATE_LIMIT_KEY="3/minute")
    for _ in range(3):
        ok = await http.post("/graphql", json=PROTECTED, headers=bearer(first))
        assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    assert_rate_limited(await http.post("/graphql", json=PROTECTED, headers=bearer(first)))
    other = await http.post("/graphql", json=PROTECTED, headers=bearer(second))
    assert other.status_code == 200, "each key has its own bucket"


async def test_per_customer_token(limited, database):
    admin = bearer(await make_key(database, Role.ADMIN))
    http = limited(LOYALTY_RATE_LIMIT_TOKEN="2/minute")
    customer = (await http.post("/graphql", json={"query": UPSERT}, headers=admin)).json()
    customer_id = customer["data"]["customerUpsert"]["customer"]["id"]
    minted = await http.post(
        "/graphql", json={"query": TOKEN, "variables": {"id": customer_id}}, headers=admin
    )
    token = minted.json()["data"]["customerTokenCreate"]["token"]
    me = {"query": "{ me { id } }"}
    for _ in range(2):
        ok = await http.post("/graphql", json=me, headers=bearer(token))
        assert ok.json()["data"]["me"]["id"] == customer_id
    assert_rate_limited(await http.post("/graphql", json=me, headers=bearer(token)))
    still = await http.post("/graphql", json=PROTECTED, headers=admin)
    assert still.status_code == 200, "the issuing key's own calls are counted apart"


async def test_per_address_without_credentials(limited):
    here = limited("198.51.100.7", LOYALTY_RATE_LIMIT_ANONYMOUS="2/minute")
    there = limited("198.51.100.8", LOYALTY_RATE_LIMIT_ANONYMOUS="2/minute")
    for _ in range(2):
        assert (await here.post("/graphql", json=TYPENAME)).status_code == 200
    assert_rate_limited(await here.post("/graphql", json=TYPENAME))
    assert (await there.post("/graphql", json=TYPENAME)).status_code == 200
    health = await here.get("/healthz")
    assert health.status_code == 200, "only /graphql is limited"


async def test_500_wrong_keys_from_one_address_get_429(limited, database):
    """The attack from issue 10, with the default limits."""
    attacker = limited("192.0.2.66")
    statuses = []
    for i in range(500):
        response = await attacker.post(
            "/graphql", json=PROTECTED, headers=bearer(f"{KEY_PREFIX}wrong{i:04d}")
        )
        statuses.append(response.status_code)
    answered = statuses.count(200)
    assert answered == parse(Settings().rate_limit_auth_failures).amount, statuses[:40]
    assert statuses.count(429) == 500 - answered
    assert_rate_limited(response)
    assert "failed authentications" in response.json()["errors"][0]["message"]

    real_key = bearer(await make_key(database, Role.ADMIN))
    blocked = await attacker.post("/graphql", json=PROTECTED, headers=real_key)
    assert blocked.status_code == 429, "the address is blocked for any credentials"
    elsewhere = await limited("192.0.2.67").post("/graphql", json=PROTECTED, headers=real_key)
    assert elsewhere.status_code == 200 and "errors" not in elsewhere.json()


async def test_failed_tokens_count_too(limited):
    http = limited(LOYALTY_RATE_LIMIT_AUTH_FAILURES="3/minute")
    for _ in range(3):
        answer = await http.post("/graphql", json=PROTECTED, headers=bearer("not.a.token"))
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert_rate_limited(await http.post("/graphql", json=PROTECTED, headers=bearer("x.y.z")))


@pytest.mark.parametrize("storage", ["redis"], indirect=True)
async def test_processes_sharing_redis_share_the_counts(limited, database):
    key = bearer(await make_key(database, Role.ADMIN))
    one = limited(app_number=1, LOYALTY_RATE_LIMIT_KEY="4/minute")
    two = limited(app_number=2, LOYALTY_RATE_LIMIT_KEY="4/minute")
    for http in (one, two, one, two):
        assert (await http.post("/graphql", json=TYPENAME, headers=key)).status_code == 200
    assert_rate_limited(await one.post("/graphql", json=TYPENAME, headers=key))
    assert_rate_limited(await two.post("/graphql", json=TYPENAME, headers=key))


async def test_an_unreachable_store_lets_requests_through(database, database_url, caplog):
    settings = Settings(
        DATABASE_URL=database_url,
        LOYALTY_RATE_LIMIT_STORAGE="redis://127.0.0.1:1/0",
        LOYALTY_RATE_LIMIT_ANONYMOUS="1/minute",
    )
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    with caplog.at_level(logging.WARNING, logger="loyalty.rate_limits"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            for _ in range(2):
                assert (await http.post("/graphql", json=TYPENAME)).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "loyalty.rate_limits"]
    assert lines and all("unreachable" in line for line in lines)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOYALTY_RATE_LIMIT_KEY", "lots"),
        ("LOYALTY_RATE_LIMIT_TOKEN", "10 per fortnight"),
        ("LOYALTY_RATE_LIMIT_ANONYMOUS", ""),
        ("LOYALTY_RATE_LIMIT_AUTH_FAILURES", "-1/minute"),
        ("LOYALTY_RATE_LIMIT_STORAGE", "memcached://127.0.0.1"),
    ],
)
def test_bad_limit_settings_name_the_variable(variable, value):
    with pytest.raises(ValidationError, match=variable):
        Settings(**{variable: value})
