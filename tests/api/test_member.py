"""Scopes around what a shopper may see: referral reads through `customers` need
referrals:read, and a token reading `rewards` never reaches a tier's customer count."""

from __future__ import annotations

import pytest

from domain.access import Role
from tests.conftest import make_key

UPSERT = """mutation($id: String!) { customerUpsert(input: {externalId: $id, name: "n"}) { customer { id referralCode } } }"""
REFER = """mutation($code: String!) { referralRecord(input: {code: $code, referee: {externalId: "bob", name: "Bob"}, idempotencyKey: "k"}) { userErrors { code } } }"""
READ = """query($id: String!) { customer(externalId: $id) {
  externalId referrals(first: 5) { nodes { status } } referredBy { status } } }"""
REFERRED_BY = (
    """query($id: String!) { customer(externalId: $id) { externalId referredBy { status } } }"""
)
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }"""


@pytest.mark.parametrize("role", [Role.STOREFRONT, Role.PARTNER, Role.ANALYST])
async def test_referral_reads_through_customers_need_referrals_read(gql, database, role):
    alice = (await gql(UPSERT, {"id": "alice"}))["customerUpsert"]["customer"]
    assert (await gql(REFER, {"code": alice["referralCode"]}))["referralRecord"]["userErrors"] == []
    as_role = gql.as_key(await make_key(database, role, name=role.value))

    for external_id, field in (("alice", "referrals"), ("bob", "referredBy")):
        body = await as_role.raw(READ, {"id": external_id})
        refused = {tuple(e["path"]) for e in body["errors"]}
        assert ("customer", field) in refused, body
        assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
        assert "referrals:read" in body["errors"][0]["message"]
    # `referredBy` is nullable: refused alone, the rest of the customer answers.
    body = await as_role.raw(REFERRED_BY, {"id": "bob"})
    assert body["data"]["customer"] == {"externalId": "bob", "referredBy": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_admin_key_reads_referrals_through_customers(gql):
    alice = (await gql(UPSERT, {"id": "alice"}))["customerUpsert"]["customer"]
    await gql(REFER, {"code": alice["referralCode"]})
    assert (await gql(READ, {"id": "alice"}))["customer"]["referrals"]["nodes"] == [
        {"status": "PENDING"}
    ]
    assert (await gql(READ, {"id": "bob"}))["customer"]["referredBy"] == {"status": "PENDING"}


TIER = """mutation { tierCreate(input: {name: "Gold", rank: 1, threshold: "100", earnMultiplier: "1"}) { tier { id } } }"""
REWARD = """mutation($tier: ID!) { rewardCreate(input: {name: "Tea", pointsCost: 10, kind: CUSTOM, lowestTierId: $tier}) { reward { id } } }"""
REWARDS = "{ rewards(first: 5) { nodes { name lowestTier { name customerCount } } } }"


async def test_a_token_reading_rewards_never_reaches_customer_count(gql, database):
    tier = (await gql(TIER))["tierCreate"]["tier"]["id"]
    await gql(REWARD, {"tier": tier})
    alice = (await gql(UPSERT, {"id": "alice"}))["customerUpsert"]["customer"]
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="till"))
    token = (await storefront(TOKEN, {"id": alice["id"]}))["customerTokenCreate"]["token"]

    body = await gql.as_key(token).raw(REWARDS)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["rewards", "nodes", 0, "lowestTier", "customerCount"]
    # The list answers; only the refused tier is null.
    assert body["data"]["rewards"]["nodes"] == [{"name": "Tea", "lowestTier": None}]
    assert (await gql.as_key(token)("{ rewards { nodes { lowestTier { name } } } }"))["rewards"][
        "nodes"
    ] == [{"lowestTier": {"name": "Gold"}}]
    # API keys keep the count.
    assert (await storefront(REWARDS))["rewards"]["nodes"] == [
        {"name": "Tea", "lowestTier": {"name": "Gold", "customerCount": 0}}
    ]
