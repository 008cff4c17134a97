"""What tests/api/test_schema_fuzz.py found, pinned one by one: each of these ended as
"Unexpected error." (a value that reached the database or a resolver unchecked)."""

from __future__ import annotations

import pytest

TAG_CREATE = (
    """mutation { tagCreate(input: {name: "a\\u0000b"}) { tag { id } userErrors { code } } }"""
)
UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { customer { id } userErrors { code field } } }"""


def bad_input(body: dict) -> str:
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    return error["message"]


async def test_nul_in_a_string_literal_is_bad_input_naming_the_argument(gql):
    """PostgreSQL text cannot hold NUL: asyncpg refused the statement."""
    message = bad_input(await gql.raw(TAG_CREATE))
    assert "input.name" in message and "NUL" in message


async def test_nul_in_a_json_literal_is_bad_input(gql):
    query = """mutation { customerUpsert(input: {externalId: "x", attributes: {a: "\\u0000"}})
      { customer { id } } }"""
    assert "NUL" in bad_input(await gql.raw(query))


@pytest.mark.parametrize(
    "customer",
    [{"externalId": "a\x00b"}, {"externalId": "x", "attributes": {"k": ["\x00"]}}],
)
async def test_nul_in_variables_is_a_400_body(client, admin_key, customer):
    response = await client.post(
        "/graphql",
        json={"query": UPSERT, "variables": {"input": customer}},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["errors"][0]["message"]


async def test_strings_without_nul_still_pass(gql):
    # The text "\u0000" (a backslash and five characters) is not a NUL.
    data = await gql(UPSERT, {"input": {"externalId": "ü \\u0000", "name": "Zoë"}})
    assert data["customerUpsert"]["userErrors"] == []


async def test_other_control_characters_are_a_user_error_naming_the_field(gql):
    data = await gql(UPSERT, {"input": {"externalId": "a\u0001b", "name": "Zoë"}})
    errors = data["customerUpsert"]["userErrors"]
    assert [e["code"] for e in errors] == ["INVALID"]
    assert errors[0]["field"] == ["input", "externalId"]
