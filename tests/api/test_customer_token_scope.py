"""What a customer token may do, checked for every field of the schema.

The operations are generated from the schema itself, so a field added later is
covered without touching this file. Every argument that takes an ID gets another
customer's ID. For each root field, the response to a shopper's token must either
refuse the field (FORBIDDEN) or, for the few fields a token is meant to use, contain
nothing of the other customer. And every field reachable from `me` (a `Member`)
answers the token for its own data: nothing inside `me` is FORBIDDEN.
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
from tests.api.ledger_calls import RECORD, order_input
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


def full_selection(graphql_type, path: tuple[str, ...] = ()) -> str:  # noqa: ANN001
    """Every field of `graphql_type` and of the types below it, to any depth (a type
    already on the path is not entered again); arguments keep their defaults."""
    named = unwrap(graphql_type)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    assert not isinstance(named, GraphQLInterfaceType | GraphQLUnionType), named.name
    fields = []
    for name, field in named.fields.items():
        assert not any(
            isinstance(a.type, GraphQLNonNull) and a.default_value is None
            for a in field.args.values()
        ), f"{named.name}.{name} needs an argument"
        inner = unwrap(field.type)
        if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
            fields.append(name)
        elif inner.name not in path:
            fields.append(name + " " + full_selection(inner, (*path, named.name)))
    return "{ __typename " + " ".join(fields) + " }"


def reachable_types(type_name: str) -> set[str]:
    seen: set[str] = set()
    todo = [type_name]
    while todo:
        named = schema._schema.get_type(todo.pop())
        if named.name in seen or not hasattr(named, "fields"):
            continue
        seen.add(named.name)
        todo += [unwrap(f.type).name for f in named.fields.values()]
    return seen


def test_member_reaches_no_admin_type():
    """What a token may read is its own type: no `Customer`, `Tier` (customerCount),
    `Referral` (the other side, its code) or type linking back to them."""
    reachable = reachable_types("Member")
    admin = {"Customer", "Tier", "Referral", "Reward", "Order", "LedgerEntry", "Redemption"}
    assert not reachable & admin
    assert {"MemberTier", "MemberOrder", "MemberLedgerEntry", "MemberReferral"} <= reachable
    assert "customerCount" not in schema._schema.get_type("MemberTier").fields
    assert not {"code", "referrer", "referee", "id"} & set(
        schema._schema.get_type("MemberReferral").fields
    )


PROGRAM = """mutation($input: ProgramUpdateInput!) { programUpdate(input: $input) { userErrors { code } } }"""
REFER = """mutation($code: String!, $referee: String!) { referralRecord(input: {code: $code, referee: {externalId: $referee, name: "Friend"}, idempotencyKey: $referee}) { userErrors { code } } }"""
CODE = """query($id: String!) { customer(externalId: $id) { id referralCode name } }"""
TIER = """mutation { tierCreate(input: {name: "Silver", rank: 1, threshold: "10", earnMultiplier: "1"}) { tier { id } userErrors { code } } }"""
REWARD = """mutation($tier: ID!) { rewardCreate(input: {name: "Tea", pointsCost: 10, kind: CUSTOM, lowestTierId: $tier}) { reward { id } userErrors { code } } }"""
REDEEM = """mutation($c: ID!, $r: ID!) { rewardRedeem(input: {customerId: $c, rewardId: $r, idempotencyKey: "r-1"}) { userErrors { code } } }"""


@pytest.fixture
async def member(gql, database):
    """A member with something in every list: referred by a sponsor and referring a
    friend (both qualified), an order that moved it into a tier, a redemption of a
    reward that needs that tier. Returns the token's client and what belongs to others."""
    await gql(
        PROGRAM, {"input": {"referrerBonus": 30, "refereeBonus": 20, "referralMinOrderAmount": "1"}}
    )
    await gql(UPSERT, {"input": {"externalId": "sponsor", "name": "Sponsor Person"}})
    sponsor = (await gql(CODE, {"id": "sponsor"}))["customer"]
    assert (await gql(REFER, {"code": sponsor["referralCode"], "referee": "member-1"}))[
        "referralRecord"
    ]["userErrors"] == []
    mine = (await gql(CODE, {"id": "member-1"}))["customer"]
    assert (await gql(REFER, {"code": mine["referralCode"], "referee": "friend-1"}))[
        "referralRecord"
    ]["userErrors"] == []
    tier = (await gql(TIER))["tierCreate"]["tier"]["id"]
    for external_id, customer in (("o-1", "member-1"), ("o-2", "friend-1")):
        placed = order_input(
            external_id, "80.00", customer=customer, placed_at="2026-11-20T10:00:00Z"
        )
        placed["items"] = [{"sku": "tea", "quantity": 1, "unitPrice": "80.00"}]
        assert (await gql(RECORD, {"input": placed}))["orderRecord"]["userErrors"] == []
    reward = (await gql(REWARD, {"tier": tier}))["rewardCreate"]["reward"]["id"]
    assert (await gql(REDEEM, {"c": mine["id"], "r": reward}))["rewardRedeem"]["userErrors"] == []
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="till"))
    token = (await storefront(TOKEN, {"id": mine["id"]}))["customerTokenCreate"]["token"]
    friend = (await gql(CODE, {"id": "friend-1"}))["customer"]
    others = [
        sponsor["id"], sponsor["referralCode"], "Sponsor Person", "sponsor",
        friend["id"], friend["referralCode"], "friend-1",
    ]  # fmt: skip
    return gql.as_key(token), others


async def test_every_field_reachable_from_me_answers_the_token(member):
    as_member, others = member
    document = "{ me " + full_selection(schema._schema.get_type("Member")) + " }"
    body = await as_member.raw(document)
    assert "errors" not in body, body["errors"]
    me = body["data"]["me"]
    assert me["externalId"] == "member-1"
    text = json.dumps(me, ensure_ascii=False)
    assert not [s for s in others if s in text]
    # Every list and link below `me` had something in it, so every field really ran.
    entries = [e["node"] for e in me["ledger"]["edges"]]
    assert {e["kind"] for e in entries} >= {"EARN", "BONUS", "REDEEM"}, entries
    assert any(e["order"] and e["order"]["items"] for e in entries)
    assert any(e["redemption"] and e["redemption"]["reward"]["lowestTier"] for e in entries)
    assert {e["referral"]["bonus"] for e in entries if e["referral"]} == {20, 30}
    assert me["tier"]["name"] == "Silver"
    assert me["tierHistory"][0]["to"]["name"] == "Silver"
    assert me["tierProgress"]["current"]["name"] == "Silver"
    assert me["redemptions"]["nodes"][0]["reward"]["lowestTier"]["name"] == "Silver"
    assert me["referrals"]["nodes"][0]["status"] == "QUALIFIED"
    assert me["referrals"]["nodes"][0]["bonus"] == 30
    assert me["referredBy"] == {
        **me["referredBy"],
        "__typename": "MemberReferral",
        "status": "QUALIFIED",
        "bonus": 20,
    }
    assert me["orders"]["nodes"][0]["items"][0]["sku"] == "tea"


async def test_an_api_key_is_still_refused_me(gql):
    body = await gql.raw("{ me { id } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None or body["data"]["me"] is None
