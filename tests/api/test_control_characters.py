"""NUL and the other control characters are refused in identifiers and names as a
userError naming the field, never stored and never "Unexpected error."."""

from __future__ import annotations

import pytest

NUL = "\x00"


async def user_errors(gql, mutation: str, payload: str, variables: dict) -> list[dict]:
    body = await gql.raw(mutation, variables)
    assert "errors" not in body, body
    return body["data"][payload]["userErrors"]


CUSTOMER_UPSERT = """mutation($input: CustomerUpsertInput!) { customerUpsert(input: $input) {
  customer { id } userErrors { field code message } } }"""


@pytest.mark.parametrize("control", [NUL, "\x1b", "\x7f", "\x85", "\n"])
@pytest.mark.parametrize("field", ["externalId", "name", "email", "city"])
async def test_customer_upsert_refuses_controls(gql, field, control):
    customer = {"externalId": "c-1", "name": "Li Lei", "email": "li@example.com", "city": "Xi'an"}
    customer[field] = f"ab{control}cd"
    errors = await user_errors(gql, CUSTOMER_UPSERT, "customerUpsert", {"input": customer})
    assert [(e["field"], e["code"]) for e in errors] == [(["input", field], "INVALID")]
    assert "control character" in errors[0]["message"]


async def test_tag_name_refused_description_may_span_lines(gql):
    mutation = """mutation($input: TagCreateInput!) { tagCreate(input: $input) {
      tag { name description } userErrors { field code } } }"""
    refused = await user_errors(gql, mutation, "tagCreate", {"input": {"name": f"vip{NUL}"}})
    assert refused == [{"field": ["input", "name"], "code": "INVALID"}]
    body = await gql(mutation, {"input": {"name": "vip", "description": "one\n\ttwo"}})
    assert body["tagCreate"]["tag"] == {"name": "vip", "description": "one\n\ttwo"}
    refused = await user_errors(
        gql, mutation, "tagCreate", {"input": {"name": "vip2", "description": f"a{NUL}b"}}
    )
    assert refused == [{"field": ["input", "description"], "code": "INVALID"}]


async def test_tier_name_refused(gql):
    mutation = """mutation($input: TierCreateInput!) { tierCreate(input: $input) {
      userErrors { field code } } }"""
    tier = {"name": f"Gold{NUL}", "rank": 1, "threshold": "100", "earnMultiplier": "1.5"}
    errors = await user_errors(gql, mutation, "tierCreate", {"input": tier})
    assert errors == [{"field": ["input", "name"], "code": "INVALID"}]


async def test_order_external_id_refused(gql):
    mutation = """mutation($input: OrderRecordInput!) { orderRecord(input: $input) {
      userErrors { field code } } }"""
    order = {
        "externalId": f"o-1{NUL}",
        "customer": {"externalId": "c-9"},
        "amount": "10",
        "currency": "CNY",
        "placedAt": "2026-01-01T00:00:00Z",
    }
    errors = await user_errors(gql, mutation, "orderRecord", {"input": order})
    assert {"field": ["input", "externalId"], "code": "INVALID"} in errors


async def test_referral_code_and_idempotency_key_refused(gql):
    mutation = """mutation($input: ReferralRecordInput!) { referralRecord(input: $input) {
      userErrors { field code } } }"""
    referral = {
        "code": f"ABCD{NUL}EFGH",
        "referee": {"externalId": "c-2"},
        "idempotencyKey": f"k{NUL}1",
    }
    errors = await user_errors(gql, mutation, "referralRecord", {"input": referral})
    assert sorted((tuple(e["field"]), e["code"]) for e in errors) == [
        (("input", "code"), "INVALID"),
        (("input", "idempotencyKey"), "INVALID"),
    ]


async def test_redemption_code_refused(gql):
    mutation = """mutation($input: RedemptionUseInput!) { redemptionUse(input: $input) {
      userErrors { field code } } }"""
    errors = await user_errors(gql, mutation, "redemptionUse", {"input": {"code": f"K7QX{NUL}"}})
    assert errors == [{"field": ["input", "code"], "code": "INVALID"}]
