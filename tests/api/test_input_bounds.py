"""Values that used to end as "Unexpected error." are refused at the boundary,
naming the field, and a bad stored segment cannot break the reads of the others."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from domain.segments import SEGMENTS, Segment
from persistence.unit_of_work import SqlUnitOfWork


def bad_input(body: dict, *named: str) -> str:
    assert body["errors"], body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", body
    assert "Unexpected error" not in error["message"]
    for name in named:
        assert name in error["message"], error["message"]
    return error["message"]


def global_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def test_global_id_over_64_bits_is_not_found_not_a_crash(gql):
    huge = global_id(f"Customer:{2**64 + 5}")
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": huge}))["node"] is None
    upsert = """mutation($input: PointsAdjustInput!) { pointsAdjust(input: $input) {
      userErrors { field code } } }"""
    variables = {"input": {"customerId": huge, "points": 1, "reason": "x", "idempotencyKey": "k"}}
    errors = (await gql(upsert, variables))["pointsAdjust"]["userErrors"]
    assert errors == [{"field": ["input", "customerId"], "code": "INVALID"}]


@pytest.mark.parametrize(
    "query",
    [
        "query($s: String) { customers(filter: {search: $s}) { totalCount } }",
        "query($s: String) { tags(search: $s) { totalCount } }",
    ],
)
async def test_long_search_is_bad_input(gql, query):
    bad_input(await gql.raw(query, {"s": "%_" * 25_000}), "search", "200")


async def test_metrics_from_year_one_is_bad_input(gql):
    query = "query($p: PeriodInput!) { metrics(period: $p) { __typename } }"
    period = {"from": "0001-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    bad_input(await gql.raw(query, {"p": period}), "$p", "from", "1900")
    literal = '{ metrics(period: {from: "0001-01-01T00:00:00Z", to: "2026-01-01T00:00:00Z"}) { __typename } }'
    bad_input(await gql.raw(literal), "period.from", "1900")


async def test_expires_at_without_offset_is_bad_input(gql):
    mutation = """mutation($input: ApiKeyCreateInput!) { apiKeyCreate(input: $input) {
      secret userErrors { field code } } }"""
    variables = {"input": {"name": "k", "role": "ANALYST", "expiresAt": "2030-01-01T00:00:00"}}
    bad_input(await gql.raw(mutation, variables), "expiresAt", "offset")


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-inf", "1e999999999", "1" * 40])
async def test_earn_rate_that_is_no_number_is_bad_input(gql, value):
    mutation = """mutation($input: ProgramUpdateInput!) { programUpdate(input: $input) {
      userErrors { field code } } }"""
    bad_input(await gql.raw(mutation, {"input": {"earnRate": value}}), "earnRate")
    literal = (
        f'mutation {{ programUpdate(input: {{earnRate: "{value}"}}) {{ userErrors {{ code }} }} }}'
    )
    bad_input(await gql.raw(literal), "input.earnRate")


async def test_reward_value_with_a_huge_exponent_is_bad_input(gql):
    mutation = """mutation($input: RewardCreateInput!) { rewardCreate(input: $input) {
      userErrors { field code } } }"""
    reward = {"name": "r", "pointsCost": 10, "kind": "DISCOUNT_AMOUNT", "value": "1e999999999"}
    bad_input(await gql.raw(mutation, {"input": reward}), "value")


SEGMENT_CREATE = """mutation($input: SegmentCreateInput!) { segmentCreate(input: $input) {
  segment { id } userErrors { field code message } } }"""


@pytest.mark.parametrize(
    "rule",
    [
        "created_at > -9999999999d",
        "created_at > 9999-12-31",
        "total_spent > 1234567890123456789012345678901234567890",
        "orders_count > 99999999999999999999",
    ],
)
async def test_out_of_range_rule_literals_are_refused_when_saved(gql, rule):
    payload = (await gql(SEGMENT_CREATE, {"input": {"name": "s", "rule": rule}}))["segmentCreate"]
    assert payload["segment"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "rule"], "INVALID_RULE")
    ]
    preview = await gql(
        "query($r: String!) { segmentPreview(rule: $r) { count errors { column } } }", {"r": rule}
    )
    assert preview["segmentPreview"]["count"] is None
    assert preview["segmentPreview"]["errors"]


async def test_a_bad_stored_segment_does_not_break_the_others(gql, database):
    created = await gql(
        """mutation { customerUpsert(input: {externalId: "c-1", name: "A"}) {
          customer { id } } }"""
    )
    customer_id = created["customerUpsert"]["customer"]["id"]
    good = await gql(SEGMENT_CREATE, {"input": {"name": "everyone", "rule": "orders_count >= 0"}})
    assert good["segmentCreate"]["userErrors"] == []
    async with SqlUnitOfWork(database) as uow:  # saved before the bounds existed
        now = datetime.now(UTC)
        for name, rule in [
            ("far", "created_at > 9999-12-31"),
            ("huge", "orders_count > 1234567890123456789012345678901234567890"),
            ("ages", "created_at > -9999999999d"),
        ]:
            await uow.repo(SEGMENTS).add(Segment(None, name, rule, created_at=now, updated_at=now))
        await uow.commit()

    data = await gql(
        """query($id: ID!) {
          segments { name builtIn count customers(first: 5) { totalCount nodes { id } } }
          node(id: $id) { ... on Customer { segments { name } } } }""",
        {"id": customer_id},
    )
    saved = {s["name"]: s for s in data["segments"] if not s["builtIn"]}
    assert saved["everyone"]["count"] == 1
    assert saved["everyone"]["customers"]["nodes"] == [{"id": customer_id}]
    for name in ("far", "huge", "ages"):
        assert saved[name]["count"] == 0
        assert saved[name]["customers"] == {"totalCount": 0, "nodes": []}
    assert "everyone" in [s["name"] for s in data["node"]["segments"]]
