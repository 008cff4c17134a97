"""Documents refused before execution (shape, cost), and errors that say what is
wrong without raw Python text or, in production, suggestions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.test_statement_count import counting
from tests.conftest import GraphQLClient
from tests.unit.test_query_cost import NESTED, fan_out

REAL_SECRET = "a-real-secret-with-enough-entropy-0b9f6c2e"


def refused(body: dict, code: str) -> dict:
    assert body.get("data") is None, body
    codes = [e.get("extensions", {}).get("code") for e in body["errors"]]
    assert code in codes, body
    return next(e for e in body["errors"] if e.get("extensions", {}).get("code") == code)


@pytest.mark.parametrize("levels", [30, 300])
async def test_fan_out_document_is_answered_or_refused_without_credentials(client, levels):
    body = await GraphQLClient(client, None).raw(fan_out(levels))
    if body.get("data") is not None:
        assert body == {"data": {"__typename": "Query"}}
    else:
        refused(body, "QUERY_TOO_COMPLEX")


async def test_fan_out_of_aliases_is_refused(client):
    body = await GraphQLClient(client, None).raw(fan_out(40, leaf="a: __typename"))
    error = refused(body, "QUERY_TOO_COMPLEX")
    assert error["extensions"]["limit"] == 30
    assert error["extensions"]["aliases"] > 2**20


async def test_nested_connections_are_refused_before_any_sql(gql, database):
    with counting(database) as counter:
        body = await gql.raw(NESTED)
    error = refused(body, "QUERY_TOO_COMPLEX")
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 1030201, "limit": 50_000}
    reads = [s for s in counter.statements if not s.strip().upper().startswith("BEGIN")]
    assert reads and all("api_keys" in s for s in reads)  # authentication only


async def test_four_aliases_of_nested_connections_are_refused(gql):
    aliased = " ".join(f"a{i}: {NESTED[1:-1]}" for i in range(4))
    refused(await gql.raw(f"{{ {aliased} }}"), "QUERY_TOO_COMPLEX")


async def test_thirty_daily_series_over_two_years_are_refused(gql):
    series = " ".join(
        f'm{i}: metricsSeries(from: "2024-01-01T00:00:00+08:00", '
        f'to: "2026-01-01T00:00:00+08:00", granularity: DAY) {{ __typename }}'
        for i in range(30)
    )
    error = refused(await gql.raw(f"{{ {series} }}"), "QUERY_TOO_COMPLEX")
    assert error["extensions"]["cost"] == 30 * (20 * 731 + 1)


async def test_a_cost_over_a_lower_limit_is_refused_and_under_it_answered(
    database, database_url, admin_key
):
    settings = Settings(DATABASE_URL=database_url, LOYALTY_MAX_QUERY_COST=30)
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        gql = GraphQLClient(http, admin_key)
        assert (await gql("{ customers(first: 29) { nodes { id } } }"))["customers"]["nodes"] == []
        error = refused(
            await gql.raw("{ customers(first: 30) { nodes { id } } }"), "QUERY_TOO_COMPLEX"
        )
        assert error["extensions"]["cost"] == 31
        assert error["extensions"]["limit"] == 30
        variables = {"n": 30}
        query = "query($n: Int) { customers(first: $n) { nodes { id } } }"
        refused(await gql.raw(query, variables), "QUERY_TOO_COMPLEX")


async def test_bulk_mutation_is_counted(database, database_url, admin_key):
    settings = Settings(DATABASE_URL=database_url, LOYALTY_MAX_QUERY_COST=100)
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        mutation = """mutation($inputs: [OrderRecordInput!]!) {
          ordersRecordBulk(inputs: $inputs) { __typename } }"""
        order = {
            "externalId": "o-1",
            "customer": {"externalId": "c-1"},
            "amount": "1.00",
            "currency": "CNY",
            "placedAt": "2026-01-01T00:00:00+08:00",
        }
        body = await GraphQLClient(http, admin_key).raw(mutation, {"inputs": [order] * 10})
        assert refused(body, "QUERY_TOO_COMPLEX")["extensions"]["cost"] == 101


async def test_unknown_fragment_is_a_validation_error(gql):
    body = await gql.raw("{ ...Nope }")
    assert [e["message"] for e in body["errors"]] == ["Unknown fragment 'Nope'."]


@pytest.fixture
async def production(database, database_url, admin_key) -> AsyncIterator[GraphQLClient]:
    settings = Settings(
        DATABASE_URL=database_url, LOYALTY_ENV="production", LOYALTY_SECRET_KEY=REAL_SECRET
    )
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://p"
    ) as http:
        yield GraphQLClient(http, admin_key)


@pytest.mark.parametrize(
    ("query", "variables", "named"),
    [
        ("{ customerz { id } }", {}, "customerz"),
        ("{ customers(frist: 1) { totalCount } }", {}, "frist"),
        ("query($s: CustomerSrot) { customers { totalCount } }", {}, "CustomerSrot"),
        ("{ customers(sort: CREATED_AT_DSC) { totalCount } }", {}, "CREATED_AT_DSC"),
        (
            "query($s: CustomerSort!) { customers(sort: $s) { totalCount } }",
            {"s": "CREATED_AT_DSC"},
            "CREATED_AT_DSC",
        ),
        ('{ customers(filter: {serch: "x"}) { totalCount } }', {}, "serch"),
        ("{ customers { nodes { emial } } }", {}, "emial"),
    ],
)
async def test_production_suggests_nothing(production, query, variables, named):
    body = await production.raw(query, variables)
    messages = " ".join(e["message"] for e in body["errors"])
    assert named in messages
    assert "Did you mean" not in messages
    assert "Unexpected error" not in messages


async def test_development_still_suggests(gql):
    body = await gql.raw("{ customers(frist: 1) { totalCount } }")
    assert "Did you mean 'first'?" in body["errors"][0]["message"]


async def test_a_repeated_document_is_validated_once_and_costed_every_time(
    database, database_url, admin_key
):
    settings = Settings(DATABASE_URL=database_url, LOYALTY_MAX_QUERY_COST=30)
    app = create_app(settings, database=database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        gql = GraphQLClient(http, admin_key)
        query = "query($n: Int) { customers(first: $n) { nodes { id } } }"
        for n in (5, 6):
            assert (await gql(query, {"n": n}))["customers"]["nodes"] == []
        # Same text, other variables: the cost (which reads them) is checked again.
        assert (
            refused(await gql.raw(query, {"n": 30}), "QUERY_TOO_COMPLEX")["extensions"]["cost"]
            == 31
        )
        documents = app.state.documents
        assert (documents.parses, documents.validations) == (1, 1)
        await gql.raw("{ customers(first: 1) { nodes { id } } }")
        assert (documents.parses, documents.validations) == (2, 2)
