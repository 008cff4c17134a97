"""Referrals as a partner system records them, and what a friend's first order does."""

import pytest

from domain.access import Role
from tests.api.ledger_calls import RECORD, REFUND, order_input
from tests.conftest import make_key

REFERRAL = """
mutation($input: ReferralRecordInput!) {
  referralRecord(input: $input) {
    replayed
    referral { id status code referrerBonus refereeBonus referee { externalId } referrer { externalId } }
    userErrors { field code message }
  }
}"""

CUSTOMER = """
query($externalId: String!) {
  customer(externalId: $externalId) {
    id referralCode
    points { available pending }
    referrals(first: 10) { totalCount edges { node { status referee { externalId } } } }
    referredBy { status code }
    ledger(first: 10) { edges { node { kind points reason referral { status } } } }
  }
}"""

UPSERT = """mutation($id: String!) { customerUpsert(input: {externalId: $id, name: "n"}) { customer { id } } }"""

PROGRAM = """mutation($input: ProgramUpdateInput!) { programUpdate(input: $input) { userErrors { field code } } }"""


async def referrer_code(gql, external_id: str = "alice") -> str:
    await gql(UPSERT, {"id": external_id})
    return (await gql(CUSTOMER, {"externalId": external_id}))["customer"]["referralCode"]


def referee(external_id: str, **profile) -> dict:
    return {"externalId": external_id, "name": "Friend", **profile}


async def test_code_is_short_unambiguous_and_stable(gql):
    code = await referrer_code(gql)
    assert len(code) == 8
    assert not set(code) & set("01OIL")
    assert await referrer_code(gql) == code


async def test_first_qualifying_order_pays_both_bonuses(gql):
    await gql(
        PROGRAM,
        {"input": {"referrerBonus": 300, "refereeBonus": 100, "referralMinOrderAmount": "50"}},
    )
    code = await referrer_code(gql)
    recorded = await gql(
        REFERRAL,
        {"input": {"code": code.lower(), "referee": referee("bob"), "idempotencyKey": "ref-1"}},
    )
    assert recorded["referralRecord"]["userErrors"] == []
    assert recorded["referralRecord"]["referral"]["status"] == "PENDING"

    small = order_input("o-small", "20.00", customer="bob", placed_at="2026-11-20T10:00:00Z")
    await gql(RECORD, {"input": small})
    bob = (await gql(CUSTOMER, {"externalId": "bob"}))["customer"]
    assert bob["referredBy"]["status"] == "PENDING"  # 20 < the 50 minimum

    await gql(
        RECORD,
        {"input": order_input("o-big", "80.00", customer="bob", placed_at="2026-11-21T10:00:00Z")},
    )
    alice = (await gql(CUSTOMER, {"externalId": "alice"}))["customer"]
    bob = (await gql(CUSTOMER, {"externalId": "bob"}))["customer"]
    assert bob["referredBy"]["status"] == "QUALIFIED"
    assert alice["points"]["available"] == 300
    assert bob["points"]["available"] == 20 + 80 + 100
    assert alice["referrals"]["edges"][0]["node"]["status"] == "QUALIFIED"
    assert [e["node"]["kind"] for e in alice["ledger"]["edges"]] == ["BONUS"]
    assert alice["ledger"]["edges"][0]["node"]["referral"] == {"status": "QUALIFIED"}


async def test_full_refund_while_bonus_pending_reverses_the_referral(gql):
    await gql(PROGRAM, {"input": {"pendingDays": 14, "referrerBonus": 300, "refereeBonus": 100}})
    code = await referrer_code(gql)
    await gql(
        REFERRAL, {"input": {"code": code, "referee": referee("bob"), "idempotencyKey": "ref-1"}}
    )
    await gql(
        RECORD,
        {"input": order_input("o-1", "80.00", customer="bob", placed_at="2026-11-21T10:00:00Z")},
    )
    alice = (await gql(CUSTOMER, {"externalId": "alice"}))["customer"]
    assert alice["points"] == {"available": 0, "pending": 300}

    await gql(
        REFUND, {"input": {"orderExternalId": "o-1", "amount": "80.00", "idempotencyKey": "r-1"}}
    )
    alice = (await gql(CUSTOMER, {"externalId": "alice"}))["customer"]
    bob = (await gql(CUSTOMER, {"externalId": "bob"}))["customer"]
    assert bob["referredBy"]["status"] == "REVERSED"
    assert alice["points"] == {"available": 0, "pending": 0}
    assert bob["points"] == {"available": 0, "pending": 0}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("self", "SELF_REFERRAL"),
        ("twice", "ALREADY_REFERRED"),
        ("ordered", "REFEREE_HAS_ORDERS"),
        ("unknown", "NOT_FOUND"),
        ("limit", "REFERRAL_LIMIT_REACHED"),
    ],
)
async def test_abuse_is_refused_and_issues_no_points(gql, case, code):
    alice_code = await referrer_code(gql)
    chosen = alice_code
    friend = referee("bob")
    if case == "self":
        friend = {"externalId": "alice"}
    elif case == "twice":
        carol_code = await referrer_code(gql, "carol")
        await gql(
            REFERRAL,
            {"input": {"code": carol_code, "referee": referee("bob"), "idempotencyKey": "first"}},
        )
    elif case == "ordered":
        await gql(
            RECORD,
            {
                "input": order_input(
                    "o-1", "10.00", customer="bob", placed_at="2026-11-21T10:00:00Z"
                )
            },
        )
    elif case == "unknown":
        chosen = "ZZZZ2222"
    elif case == "limit":
        await gql(PROGRAM, {"input": {"referralMonthlyLimit": 1}})
        await gql(
            REFERRAL,
            {"input": {"code": alice_code, "referee": referee("dave"), "idempotencyKey": "dave"}},
        )
        await gql(
            RECORD,
            {
                "input": order_input(
                    "o-d", "10.00", customer="dave", placed_at="2026-11-21T10:00:00Z"
                )
            },
        )

    refused = await gql(
        REFERRAL, {"input": {"code": chosen, "referee": friend, "idempotencyKey": "try"}}
    )
    assert [e["code"] for e in refused["referralRecord"]["userErrors"]] == [code]
    alice = (await gql(CUSTOMER, {"externalId": "alice"}))["customer"]
    expected = 100 if case == "limit" else 0  # dave's qualified referral paid alice before
    assert alice["points"]["available"] == expected


async def test_idempotent_replay_and_conflict(gql):
    code = await referrer_code(gql)
    first = await gql(
        REFERRAL, {"input": {"code": code, "referee": referee("bob"), "idempotencyKey": "k"}}
    )
    again = await gql(
        REFERRAL, {"input": {"code": code, "referee": referee("bob"), "idempotencyKey": "k"}}
    )
    assert again["referralRecord"]["replayed"] is True
    assert again["referralRecord"]["referral"]["id"] == first["referralRecord"]["referral"]["id"]
    other = await gql(
        REFERRAL, {"input": {"code": code, "referee": referee("eve"), "idempotencyKey": "k"}}
    )
    assert [e["code"] for e in other["referralRecord"]["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_partner_key_may_record_but_analyst_may_not(gql, database):
    code = await referrer_code(gql)
    partner = gql.as_key(await make_key(database, Role.PARTNER))
    ok = await partner(
        REFERRAL.replace("referrer { externalId }", ""),
        {"input": {"code": code, "referee": referee("bob"), "idempotencyKey": "p"}},
    )
    assert ok["referralRecord"]["userErrors"] == []
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    body = await analyst.raw(
        REFERRAL, {"input": {"code": code, "referee": referee("x"), "idempotencyKey": "a"}}
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
