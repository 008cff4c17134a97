"""Fixtures shared by the service and API tests.

Every database test runs twice: on SQLite always, and on PostgreSQL when
TEST_DATABASE_URL is set (CI sets it); otherwise the PostgreSQL run is skipped with
the reason shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from domain.access import ApiKeyService, CreateApiKey, Role
from domain.clock import FixedClock, SystemClock
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.databases import TEST_DATABASE_URL, PostgresTemplate, SqliteTemplate

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_template() -> PostgresTemplate | None:
    if not TEST_DATABASE_URL:
        yield None
        return
    template = PostgresTemplate(TEST_DATABASE_URL)
    run_in_thread(template.create_template)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(template.upgrade_template).result()
    yield template
    run_in_thread(template.drop_template)


def run_in_thread(coroutine_function) -> None:  # noqa: ANN001
    """asyncio.run where a loop may already be running in this thread."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine_function()).result()


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield sqlite_template.fresh()
        return
    if postgres_template is None:
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")
    name, url = await postgres_template.fresh()
    try:
        yield url
    finally:
        await postgres_template.drop(name)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    try:
        yield database
        await assert_stored_payloads_conform(database)
    finally:
        await database.dispose()


async def assert_stored_payloads_conform(database: Database) -> None:
    """After every database test: each event the test's scenario stored conforms to
    its type's payload definition (domain/event_payloads.py), so no code path can
    write a payload of another shape without a test failing."""
    from sqlalchemy import select

    from domain.event_payloads import check
    from persistence.events import EventRow

    async with database.sessions() as session:
        rows = (await session.execute(select(EventRow.id, EventRow.type, EventRow.payload))).all()
    wrong = {(i, t): problems for i, t, payload in rows if (problems := check(t, payload))}
    assert not wrong, f"stored event payloads that do not match their definition: {wrong}"


# The suite runs on shared, loaded machines where seeding a hundred orders in one
# request can take longer than the production deadline; the time limits themselves
# are tested in tests/api/test_time_limits.py.
SUITE_REQUEST_TIMEOUT_MS = 300_000


@pytest.fixture
def settings(database_url: str) -> Settings:
    # No API key cache: statement-count tests compare requests, and a cached key
    # would make the first differ from the next (tests/api/test_key_cache.py has it on).
    return Settings(
        DATABASE_URL=database_url,
        LOYALTY_ENV="development",
        LOYALTY_API_KEY_CACHE_SECONDS=0,
        LOYALTY_REQUEST_TIMEOUT_MS=SUITE_REQUEST_TIMEOUT_MS,
    )


@pytest.fixture
def clock() -> FixedClock:
    """The API's clock: the real now when the test starts, moved by tests that need
    time to pass (`clock.at += timedelta(days=14)`)."""
    return FixedClock(datetime.now(UTC))


@pytest.fixture
async def client(
    database: Database, settings: Settings, clock: FixedClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def make_key(database: Database, role: Role, **kwargs) -> str:  # noqa: ANN003
    service = ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock())
    issued = await service.create(CreateApiKey(kwargs.pop("name", f"{role} key"), role, **kwargs))
    return issued.secret


@pytest.fixture
async def admin_key(database: Database) -> str:
    return await make_key(database, Role.ADMIN)


class GraphQLClient:
    """Posts GraphQL over HTTP with a key, the way a storefront does."""

    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self.http = http
        self.key = key

    async def raw(self, query: str, variables: dict | None = None) -> dict:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        """Data of a request that must not fail at the GraphQL level."""
        body = await self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def as_key(self, key: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, key)


@pytest.fixture
async def gql(client: httpx.AsyncClient, admin_key: str) -> GraphQLClient:
    return GraphQLClient(client, admin_key)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
