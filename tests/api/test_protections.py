"""Protections on by default, and production's extra hardening."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from api.settings import Settings
from tests.conftest import GraphQLClient

REAL_SECRET = "a-real-secret-with-enough-entropy-0b9f6c2e"


def refusal(body: dict) -> str:
    assert body.get("data") is None, body
    return " ".join(e["message"] for e in body["errors"])


def nested(fields: list[str]) -> str:
    query = "id"
    for name in reversed(fields):
        query = f"{name} {{ {query} }}"
    return f"{{ {query} }}"


LOOP = ["customers", "nodes", "tags"]  # Customer.tags → Tag.customers → … forever


async def test_depth_limit(gql):
    assert MAX_DEPTH == 10
    await gql(nested(LOOP * 3))  # id at depth 9 (the root field is depth 0)
    too_deep = nested(LOOP * 3 + ["customers", "nodes"])  # id at depth 11
    assert "exceeds maximum operation depth of 10" in refusal(await gql.raw(too_deep))


async def test_alias_limit(gql):
    ok = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES))
    assert len(await gql(f"{{ {ok} }}")) == MAX_ALIASES
    too_many = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))
    assert "aliases" in refusal(await gql.raw(f"{{ {too_many} }}"))


async def test_token_limit(gql):
    query = "{ " + " ".join(["__typename"] * MAX_TOKENS) + " }"
    assert "token" in refusal(await gql.raw(query)).lower()


async def test_more_than_100_nodes_is_bad_input(gql):
    body = await gql.raw("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ["x"] * 101})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_development_has_introspection_suggestions_and_graphiql(gql, client):
    data = await gql("{ __schema { queryType { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"
    assert "Did you mean" in refusal(await gql.raw("{ customerz { totalCount } }"))
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


@pytest.fixture
async def production(database, database_url) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        DATABASE_URL=database_url, LOYALTY_ENV="production", LOYALTY_SECRET_KEY=REAL_SECRET
    )
    app = create_app(settings, database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://prod") as http:
        yield http


async def test_production_refuses_introspection(production, admin_key):
    gql = GraphQLClient(production, admin_key)
    assert "introspection" in refusal(await gql.raw("{ __schema { types { name } } }")).lower()
    assert "introspection" in refusal(await gql.raw('{ __type(name: "Customer") { name } }'))
    assert (await gql("{ customers { totalCount } }"))["customers"]["totalCount"] == 0


async def test_production_gives_no_field_suggestions(production, admin_key):
    message = refusal(await GraphQLClient(production, admin_key).raw("{ customerz { id } }"))
    assert "customerz" in message
    assert "Did you mean" not in message


async def test_production_keeps_auth_errors_readable(production):
    body = await GraphQLClient(production, None).raw("{ customers { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Bearer" in body["errors"][0]["message"]


async def test_production_serves_no_graphiql(production):
    page = await production.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("secret", [None, "", "change-me", "dev-secret-key", " Secret "])
def test_production_start_needs_a_real_secret(monkeypatch, secret):
    monkeypatch.delenv("LOYALTY_SECRET_KEY", raising=False)
    given = {} if secret is None else {"LOYALTY_SECRET_KEY": secret}
    with pytest.raises(ValidationError, match="LOYALTY_SECRET_KEY"):
        Settings(LOYALTY_ENV="production", **given)
    Settings(LOYALTY_ENV="development", **given)  # development runs with the dev key


def test_settings_refuse_unknown_zone_and_bad_currency():
    with pytest.raises(ValidationError, match="LOYALTY_TIMEZONE"):
        Settings(LOYALTY_TIMEZONE="Mars/Olympus")
    with pytest.raises(ValidationError, match="LOYALTY_CURRENCY"):
        Settings(LOYALTY_CURRENCY="yuan")
    assert Settings(LOYALTY_CURRENCY="cny").default_currency == "CNY"
