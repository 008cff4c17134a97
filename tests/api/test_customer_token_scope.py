"""What a customer token may do, checked for every field of the schema.

The operations are generated from the schema itself, so a field added later is
covered without touching this file. Every argument that takes an ID gets another
customer's ID. For each root field, the response to a shopper's token must either
refuse the field (FORBIDDEN) or, for the few fields a token is meant to use, contain
nothing of the other customer.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLUnionType,
)

from api.schema import schema
from domain.access import Role
from tests.conftest import make_key

# Root fields a customer token is meant to use (each still only for itself).
SELF_SERVICE = {
    "me",
    "node",
    "nodes",
    "rewards",
    "reward",
    "redemption",
    "rewardRedeem",
    "redemptionCancel",
}

SCALAR_SAMPLES = {
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Decimal": "1",
    "DateTime": "2026-01-01T00:00:00+00:00",
    "Date": "2000-01-01",
    "JSON": {},
}


def unwrap(graphql_type):  # noqa: ANN001, ANN201
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def sample(graphql_type, other_id: str):  # noqa: ANN001, ANN201
    """A value for an argument: IDs always point at the other customer."""
    if isinstance(graphql_type, GraphQLNonNull):
        return sample(graphql_type.of_type, other_id)
    if isinstance(graphql_type, GraphQLList):
        return [sample(graphql_type.of_type, other_id)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            name: sample(field.type, other_id)
            for name, field in graphql_type.fields.items()
            if isinstance(field.type, GraphQLNonNull) or name in {"id", "customerId"}
        }
    if graphql_type.name == "ID":
        return other_id
    return SCALAR_SAMPLES[graphql_type.name]


def literal(value) -> str:  # noqa: ANN001
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.isupper() and value.replace("_", "").isalpha():
        return value  # an enum value
    return json.dumps(value)


def selection(graphql_type, depth: int) -> str:  # noqa: ANN001
    named = unwrap(graphql_type)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        kinds = schema._schema.get_possible_types(named)
        parts = " ".join(f"... on {t.name} {selection(t, depth)}" for t in kinds)
        return "{ __typename " + parts + " }"
    fields = []
    for name, field in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue
        inner = unwrap(field.type)
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            fields.append(name)
        elif depth > 0:
            fields.append(name + " " + selection(field.type, depth - 1))
    return "{ __typename " + " ".join(fields) + " }"


def operations(other_id: str) -> list[tuple[str, str, str]]:
    found = []
    for kind, root in (
        ("query", schema._schema.query_type),
        ("mutation", schema._schema.mutation_type),
    ):
        for name, field in root.fields.items():
            args = {
                arg: sample(spec.type, other_id)
                for arg, spec in field.args.items()
                if isinstance(spec.type, GraphQLNonNull) or arg in {"id", "customerId"}
            }
            arg_text = (
                "(" + ", ".join(f"{k}: {literal(v)}" for k, v in args.items()) + ")" if args else ""
            )
            body = selection(field.type, 1)
            found.append((kind, name, f"{kind} {{ {name}{arg_text} {body} }}"))
    return found


UPSERT = """mutation($input: CustomerUpsertInput!) { customerUpsert(input: $input) { customer { id referralCode } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }"""
ADJUST = """mutation($id: ID!, $key: String!) { pointsAdjust(input: {customerId: $id, points: 500, reason: "seed", idempotencyKey: $key}) { userErrors { code } } }"""
BALANCE = (
    """query($id: ID!) { node(id: $id) { ... on Customer { points { available } ordersCount } } }"""
)


@pytest.fixture
async def shoppers(gql, database):
    """Two shoppers with points; a token for the first one."""
    ids = {}
    secrets = {}
    for external_id, email in (("me-1", "me@example.com"), ("other-1", "other@example.com")):
        data = await gql(
            UPSERT,
            {"input": {"externalId": external_id, "email": email, "name": f"Name {external_id}"}},
        )
        ids[external_id] = data["customerUpsert"]["customer"]["id"]
        secrets[external_id] = data["customerUpsert"]["customer"]["referralCode"]
        await gql(ADJUST, {"id": ids[external_id], "key": f"seed-{external_id}"})
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="till"))
    token = (await storefront(TOKEN, {"id": ids["me-1"]}))["customerTokenCreate"]["token"]
    return ids, secrets, gql.as_key(token)


def test_every_root_field_is_generated():
    names = {name for _, name, _ in operations("x")}
    assert {"me", "customers", "customerUpsert", "orderRecord", "pointsAdjust"} <= names


async def test_a_customer_token_reaches_nothing_of_another_customer(gql, shoppers):
    ids, codes, as_shopper = shoppers
    other = ids["other-1"]
    secrets_of_other = [other, "other-1", "other@example.com", "Name other-1", codes["other-1"]]
    before = await gql(BALANCE, {"id": other})

    for kind, name, document in operations(other):
        body = await as_shopper.raw(document)
        text = json.dumps(body.get("data"), ensure_ascii=False)
        leaked = [s for s in secrets_of_other if s in text]
        assert not leaked, f"{kind} {name} leaked {leaked}: {body}"
        if name not in SELF_SERVICE:
            codes_seen = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
            assert "FORBIDDEN" in codes_seen, f"{kind} {name} was not refused: {body}"
            assert (body.get("data") or {}).get(name) is None

    assert await gql(BALANCE, {"id": other}) == before


async def test_a_customer_token_serves_its_own_customer(gql, shoppers):
    ids, _, as_shopper = shoppers
    data = await as_shopper("{ me { id externalId points { available } } }")
    assert data["me"] == {"id": ids["me-1"], "externalId": "me-1", "points": {"available": 500}}
    own = await as_shopper(f'{{ node(id: "{ids["me-1"]}") {{ id }} }}')
    assert own["node"]["id"] == ids["me-1"]


async def test_a_tampered_token_is_unauthenticated(shoppers):
    _, _, as_shopper = shoppers
    tampered = as_shopper.as_key(
        as_shopper.key[:-2] + ("A" if as_shopper.key[-2] != "A" else "B") + as_shopper.key[-1]
    )
    body = await tampered.raw("{ me { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_token_past_its_ttl_is_unauthenticated(shoppers, clock):
    _, _, as_shopper = shoppers
    clock.at += timedelta(seconds=599)
    assert (await as_shopper("{ me { externalId } }"))["me"]["externalId"] == "me-1"
    clock.at += timedelta(seconds=1)  # issued with ttlSeconds: 600
    body = await as_shopper.raw("{ me { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired" in body["errors"][0]["message"]


async def test_revoking_the_issuing_key_ends_its_tokens(gql, shoppers):
    _, _, as_shopper = shoppers
    keys = (await gql("{ apiKeys { id name } }"))["apiKeys"]
    till = next(k["id"] for k in keys if k["name"] == "till")
    await gql(
        "mutation($id: ID!) { apiKeyRevoke(input: {id: $id}) { userErrors { code } } }",
        {"id": till},
    )
    body = await as_shopper.raw("{ me { id } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in body["errors"][0]["message"]
