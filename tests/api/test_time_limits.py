"""Time limits: a slow statement, a request past its deadline and an exhausted
connection pool each answer a coded error, never a 500 or a hung request.

The slowness is made on purpose through a test-only hook: the `tag(name:)` read is
replaced by one that runs `pg_sleep` (cancelled by PostgreSQL's statement_timeout),
or that holds its connection until the test lets it go. Nothing here is timed: each
test waits on events, and asserts codes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import persistence.tags
from api.app import create_app
from api.settings import Settings
from domain.access import Role
from domain.clock import FixedClock
from persistence.database import Database, DatabaseLimits
from tests.conftest import make_key

TAG = 'query { tag(name: "vip") { name } }'
TAGS = "query { tags(first: 5) { totalCount } }"

Hook = Callable[[AsyncSession, str], Awaitable[None]]


def slow_tag_read(monkeypatch: pytest.MonkeyPatch, hook: Hook) -> None:
    """The test-only hook: `tag(name:)` runs `hook` in its read session."""
    monkeypatch.setattr(persistence.tags, "tag_by_name", hook)


async def post(http: httpx.AsyncClient, key: str, query: str) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
    )


def limited_settings(database_url: str, **env: object) -> Settings:
    # No API key cache: authentication must need a connection for the pool tests.
    return Settings(
        **{
            "DATABASE_URL": database_url,
            "LOYALTY_ENV": "development",
            "LOYALTY_API_KEY_CACHE_SECONDS": 0,
            **env,
        }
    )


@contextlib.asynccontextmanager
async def limited_app(
    database_url: str, clock: FixedClock, **env: object
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = limited_settings(database_url, **env)
    database = Database.connect(database_url, limits=settings.database_limits())
    key = await make_key(database, Role.ADMIN)
    app = create_app(settings, database=database, clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            yield http, key
    finally:
        await database.dispose()


def only_error(response: httpx.Response) -> dict:
    body = response.json()
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert "Unexpected error" not in error["message"]
    return error


async def test_statement_cancelled_by_statement_timeout_answers_timeout(
    database_url, clock, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's")

    async def pg_sleep(session: AsyncSession, name: str) -> None:
        await session.execute(text("SELECT pg_sleep(60)"))

    slow_tag_read(monkeypatch, pg_sleep)
    async with limited_app(
        database_url,
        clock,
        LOYALTY_STATEMENT_TIMEOUT_MS=300,
        LOYALTY_REQUEST_TIMEOUT_MS=60_000,
        LOYALTY_DB_POOL_TIMEOUT_S=30,
    ) as (http, key):
        response = await post(http, key, '{ a: tag(name: "vip") { name } b: tags { totalCount } }')
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] == {"a": None, "b": {"totalCount": 0}}
        error = only_error(response)
        assert error["extensions"]["code"] == "TIMEOUT"
        assert error["path"] == ["a"]
        # The cancelled statement gave its connection back in a usable state.
        assert (await post(http, key, TAGS)).json() == {"data": {"tags": {"totalCount": 0}}}


async def test_statement_timeout_is_masked_as_timeout_in_production_too(
    database_url, clock, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("statement_timeout is PostgreSQL's")

    async def pg_sleep(session: AsyncSession, name: str) -> None:
        await session.execute(text("SELECT pg_sleep(60)"))

    slow_tag_read(monkeypatch, pg_sleep)
    async with limited_app(
        database_url,
        clock,
        LOYALTY_ENV="production",
        LOYALTY_SECRET_KEY="x" * 40,
        LOYALTY_STATEMENT_TIMEOUT_MS=300,
        LOYALTY_REQUEST_TIMEOUT_MS=60_000,
        LOYALTY_DB_POOL_TIMEOUT_S=30,
    ) as (http, key):
        response = await post(http, key, TAG)
        assert response.status_code == 200
        assert only_error(response)["extensions"]["code"] == "TIMEOUT"


async def test_request_past_its_deadline_answers_503_timeout(database_url, clock, monkeypatch):
    """On both databases: the read never ends on its own, the deadline ends it."""

    async def never_ends(session: AsyncSession, name: str) -> None:
        await session.execute(text("SELECT 1"))
        await asyncio.Event().wait()

    slow_tag_read(monkeypatch, never_ends)
    async with limited_app(
        database_url,
        clock,
        LOYALTY_STATEMENT_TIMEOUT_MS=0,
        LOYALTY_REQUEST_TIMEOUT_MS=500,
        LOYALTY_DB_POOL_TIMEOUT_S=0.2,
    ) as (http, key):
        response = await post(http, key, TAG)
        assert response.status_code == 503, response.text
        assert only_error(response)["extensions"]["code"] == "TIMEOUT"
        # The cancelled request released its connection: the next one is answered.
        assert (await post(http, key, TAGS)).json() == {"data": {"tags": {"totalCount": 0}}}


async def test_pool_exhausted_by_a_slow_request_answers_unavailable(
    database_url, clock, monkeypatch
):
    """One connection, held by a slow request: another caller is told UNAVAILABLE
    after the pool timeout (below the deadline) instead of waiting behind it."""
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold_connection(session: AsyncSession, name: str) -> None:
        await session.execute(text("SELECT 1"))
        holding.set()
        await release.wait()

    slow_tag_read(monkeypatch, hold_connection)
    async with limited_app(
        database_url,
        clock,
        LOYALTY_STATEMENT_TIMEOUT_MS=0,
        LOYALTY_REQUEST_TIMEOUT_MS=60_000,
        LOYALTY_DB_POOL_SIZE=1,
        LOYALTY_DB_MAX_OVERFLOW=0,
        LOYALTY_DB_POOL_TIMEOUT_S=0.2,
    ) as (http, key):
        slow = asyncio.create_task(post(http, key, TAG))
        await holding.wait()
        starved = await post(http, key, TAGS)
        assert starved.status_code == 503, starved.text
        assert only_error(starved)["extensions"]["code"] == "UNAVAILABLE"
        release.set()
        answered = await slow
        assert answered.json() == {"data": {"tag": None}}


async def test_pool_exhausted_during_execution_answers_unavailable_for_that_field(
    database_url, clock, monkeypatch
):
    """Authentication got a connection, a field's read did not: that field is null
    with UNAVAILABLE, and the answer is still a GraphQL answer (HTTP 200)."""
    holding = asyncio.Event()
    release = asyncio.Event()

    calls: list[str] = []

    async def hold_or_starve(session: AsyncSession, name: str) -> None:
        calls.append(name)
        if len(calls) == 1:  # the first alias takes the only connection...
            await session.execute(text("SELECT 1"))
            holding.set()
            await release.wait()
            return
        await holding.wait()
        try:  # ...the second waits for it until the pool timeout
            await session.execute(text("SELECT 1"))
        finally:
            release.set()

    slow_tag_read(monkeypatch, hold_or_starve)
    async with limited_app(
        database_url,
        clock,
        LOYALTY_STATEMENT_TIMEOUT_MS=0,
        LOYALTY_REQUEST_TIMEOUT_MS=60_000,
        LOYALTY_DB_POOL_SIZE=1,
        LOYALTY_DB_MAX_OVERFLOW=0,
        LOYALTY_DB_POOL_TIMEOUT_S=0.2,
    ) as (http, key):
        response = await post(
            http, key, '{ a: tag(name: "x") { name } b: tag(name: "y") { name } }'
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {"a": None, "b": None}
        error = only_error(response)
        assert error["extensions"]["code"] == "UNAVAILABLE"
        assert error["path"] == [{"x": "a", "y": "b"}[calls[1]]]


@pytest.mark.parametrize(
    "env",
    [
        {"LOYALTY_DB_POOL_TIMEOUT_S": 10, "LOYALTY_REQUEST_TIMEOUT_MS": 10_000},
        {"LOYALTY_STATEMENT_TIMEOUT_MS": 10_000, "LOYALTY_REQUEST_TIMEOUT_MS": 5_000},
    ],
)
def test_waits_must_end_before_the_deadline(env):
    with pytest.raises(ValidationError):
        Settings(**env)


def test_defaults_keep_every_wait_below_the_deadline():
    settings = Settings()
    limits = settings.database_limits()
    assert limits.statement_timeout_ms == 5_000
    assert limits.pool_timeout_s * 1000 < settings.request_timeout_ms
    assert Settings(LOYALTY_STATEMENT_TIMEOUT_MS=0).database_limits().statement_timeout_ms is None
    assert DatabaseLimits().statement_timeout_ms is None  # the CLI, worker, migrations
