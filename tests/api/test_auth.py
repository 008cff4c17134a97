"""Who may call: API keys, their roles' scopes, revocation and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from api.app import create_app
from domain.access import ROLE_SCOPES, Role
from domain.clock import FixedClock
from tests.conftest import GraphQLClient, make_key

CUSTOMERS = "{ customers(first: 1) { totalCount } }"
UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { customer { id } userErrors { code } } }"""
CREATE_KEY = """mutation($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) {
    secret apiKey { id name role scopes prefix expiresAt revokedAt }
    userErrors { field code message } } }"""


def error_code(body: dict) -> str:
    [error] = body["errors"]
    return error["extensions"]["code"]


async def post(client: httpx.AsyncClient, headers: dict[str, str]) -> dict:
    response = await client.post("/graphql", json={"query": CUSTOMERS}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_no_key_is_unauthenticated_not_a_server_error(client):
    body = await post(client, {})
    assert error_code(body) == "UNAUTHENTICATED"
    assert "Bearer" in body["errors"][0]["message"]
    assert body["data"] is None


async def test_malformed_authorization_header_is_unauthenticated(client, admin_key):
    for header in (admin_key, f"Basic {admin_key}", "Bearer", "Bearer    "):
        body = await post(client, {"Authorization": header})
        assert error_code(body) == "UNAUTHENTICATED", header


async def test_unknown_key_is_unauthenticated(client, admin_key):
    body = await post(client, {"Authorization": f"Bearer {admin_key}x"})
    assert error_code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["message"] == "Unknown API key."


async def test_a_good_key_reads(client, admin_key):
    body = await post(client, {"Authorization": f"Bearer {admin_key}"})
    assert body == {"data": {"customers": {"totalCount": 0}}}


async def test_created_key_is_shown_once_and_works_until_revoked(gql):
    created = (await gql(CREATE_KEY, {"input": {"name": "till 1", "role": "STOREFRONT"}}))[
        "apiKeyCreate"
    ]
    assert created["userErrors"] == []
    secret = created["secret"]
    assert secret.startswith("lg_") and len(secret) > 40
    assert created["apiKey"]["prefix"] == secret[:9]
    assert created["apiKey"]["scopes"] == sorted(s.value for s in ROLE_SCOPES[Role.STOREFRONT])
    assert "api_keys:manage" not in created["apiKey"]["scopes"]

    storefront = gql.as_key(secret)
    assert (await storefront(CUSTOMERS))["customers"]["totalCount"] == 0

    # The list shows the key but never its secret, and the type has no field for it.
    listed = (await gql("{ apiKeys { id name prefix revokedAt } }"))["apiKeys"]
    assert {k["name"] for k in listed} >= {"till 1"}
    assert secret not in str(listed)
    body = await gql.raw("{ apiKeys { secret } }")
    assert "secret" in body["errors"][0]["message"]

    revoked = await gql(
        """mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) {
             apiKey { revokedAt } userErrors { code } } }""",
        {"id": created["apiKey"]["id"]},
    )
    assert revoked["apiKeyRevoke"]["apiKey"]["revokedAt"] is not None

    body = await storefront.raw(CUSTOMERS)
    assert error_code(body) == "UNAUTHENTICATED"
    assert "revoked" in body["errors"][0]["message"]


async def test_expired_key_is_unauthenticated(gql, database, settings):
    expires = datetime.now(UTC) + timedelta(hours=1)
    created = await gql(
        CREATE_KEY,
        {"input": {"name": "campaign", "role": "ANALYST", "expiresAt": expires.isoformat()}},
    )
    secret = created["apiKeyCreate"]["secret"]
    assert (await gql.as_key(secret)(CUSTOMERS))["customers"]["totalCount"] == 0

    later = create_app(
        settings, database=database, clock=FixedClock(expires + timedelta(seconds=1))
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=later), base_url="http://t"
    ) as h:
        body = await GraphQLClient(h, secret).raw(CUSTOMERS)
    assert error_code(body) == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


async def test_key_with_expiry_in_the_past_is_refused(gql):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    created = await gql(
        CREATE_KEY, {"input": {"name": "old", "role": "ANALYST", "expiresAt": past}}
    )
    assert created["apiKeyCreate"]["secret"] is None
    assert created["apiKeyCreate"]["userErrors"] == [
        {"field": ["input", "expiresAt"], "code": "INVALID", "message": "expiresAt is in the past."}
    ]


async def test_blank_key_name_is_refused(gql):
    created = await gql(CREATE_KEY, {"input": {"name": "  ", "role": "ANALYST"}})
    assert created["apiKeyCreate"]["userErrors"][0]["field"] == ["input", "name"]
    assert created["apiKeyCreate"]["userErrors"][0]["code"] == "REQUIRED"


async def test_analyst_cannot_write_customers(gql, database):
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    body = await analyst.raw(UPSERT, {"input": {"externalId": "c-1"}})
    assert error_code(body) == "FORBIDDEN"
    assert "customers:write" in body["errors"][0]["message"]
    # ...and nothing was written.
    assert (await gql(CUSTOMERS))["customers"]["totalCount"] == 0


async def test_storefront_cannot_manage_keys_or_tags(gql, database):
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    assert error_code(await storefront.raw("{ apiKeys { id } }")) == "FORBIDDEN"
    body = await storefront.raw(CREATE_KEY, {"input": {"name": "mine", "role": "ADMIN"}})
    assert error_code(body) == "FORBIDDEN"
    body = await storefront.raw('mutation { tagCreate(input: {name: "x"}) { tag { id } } }')
    assert error_code(body) == "FORBIDDEN"


async def test_revoking_an_unknown_key_names_the_field(gql):
    from api.ids import encode

    data = await gql(
        """mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) {
             apiKey { id } userErrors { field code } } }""",
        {"id": encode("ApiKey", 999)},
    )
    assert data["apiKeyRevoke"] == {
        "apiKey": None,
        "userErrors": [{"field": ["input", "id"], "code": "NOT_FOUND"}],
    }
