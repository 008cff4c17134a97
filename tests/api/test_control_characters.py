"""Control characters are refused in identifiers and names as a userError naming the
field, never stored and never "Unexpected error.".

NUL itself never reaches a mutation over HTTP: a body holding one is refused whole
with 400 BAD_REQUEST (api/http/transport.py, tests/api/test_fuzz_findings.py), since
PostgreSQL cannot store it in any text column; the domain check refuses it too, for
callers that are not HTTP (the CLI, imports). Here SOH (U+0001) stands for the
characters that do reach the domain."""

from __future__ import annotations

import pytest

SOH = "\x01"  # see the module docstring for NUL itself


async def user_errors(gql, mutation: str, payload: str, variables: dict) -> list[dict]:
    body = await gql.raw(mutation, variables)
    assert "errors" not in body, body
    return body["data"][payload]["userErrors"]


CUSTOMER_UPSERT = """mutation($input: CustomerUpsertInput!) { customerUpsert(input: $input) {
  customer { id } userErrors { field code message } } }"""


@pytest.mark.parametrize("control", [SOH, "\x1b", "\x7f", "\x85", "\n"])
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
    refused = await user_errors(gql, mutation, "tagCreate", {"input": {"name": f"vip{SOH}"}})
    assert refused == [{"field": ["input", "name"], "code": "INVALID"}]
    body = await gql(mutation, {"input": {"name": "vip", "description": "one\n\ttwo"}})
    assert body["tagCreate"]["tag"] == {"name": "vip", "description": "one\n\ttwo"}
    refused = await user_errors(
        gql, mutation, "tagCreate", {"input": {"name": "vip2", "description": f"a{SOH}b"}}
    )
    assert refused == [{"field": ["input", "description"], "code": "INVALID"}]


async def test_tier_name_refused(gql):
    mutation = """mutation($input: TierCreateInput!) { tierCreate(input: $input) {
      userErrors { field code } } }"""
    tier = {"name": f"Gold{SOH}", "rank": 1, "threshold": "100", "earnMultiplier": "1.5"}
    errors = await user_errors(gql, mutation, "tierCreate", {"input": tier})
    assert errors == [{"field": ["input", "name"], "code": "INVALID"}]


async def test_order_external_id_refused(gql):
    mutation = """mutation($input: OrderRecordInput!) { orderRecord(input: $input) {
      userErrors { field code } } }"""
    order = {
        "externalId": f"o-1{SOH}",
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
        "code": f"ABCD{SOH}EFGH",
        "referee": {"externalId": "c-2"},
        "idempotencyKey": f"k{SOH}1",
    }
    errors = await user_errors(gql, mutation, "referralRecord", {"input": referral})
    assert sorted((tuple(e["field"]), e["code"]) for e in errors) == [
        (("input", "code"), "INVALID"),
        (("input", "idempotencyKey"), "INVALID"),
    ]


async def test_redemption_code_refused(gql):
    mutation = """mutation($input: RedemptionUseInput!) { redemptionUse(input: $input) {
      userErrors { field code } } }"""
    errors = await user_errors(gql, mutation, "redemptionUse", {"input": {"code": f"K7QX{SOH}"}})
    assert errors == [{"field": ["input", "code"], "code": "INVALID"}]
