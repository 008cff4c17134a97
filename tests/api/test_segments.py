"""Segments over GraphQL: saving rules, previewing them, members as of an instant,
built-in segments, rule errors with positions, and who may do what.

The dataset is the one of tests/service/test_segment_rules_sql.py (as of T: alice
SILENT, bob ACTIVE, carol CHURNED, eve NEW, dave PROSPECT, frank erased).
"""

from __future__ import annotations

from domain.access import Role
from tests.conftest import make_key
from tests.service.test_segment_rules_sql import T, build

AS_OF = T.isoformat()

CREATE = """mutation($input: SegmentCreateInput!) {
  segmentCreate(input: $input) {
    segment { id name rule description builtIn createdAt }
    userErrors { field message code } } }"""
UPDATE = """mutation($input: SegmentUpdateInput!) {
  segmentUpdate(input: $input) {
    segment { id name rule description updatedAt }
    userErrors { field message code } } }"""
DELETE = """mutation($input: SegmentDeleteInput!) {
  segmentDelete(input: $input) { deletedSegmentId userErrors { field message code } } }"""
MEMBERS = """query($id: ID!, $asOf: DateTime, $first: Int, $after: String) {
  segment(id: $id) {
    name count(asOf: $asOf)
    customers(asOf: $asOf, first: $first, after: $after) {
      totalCount nodes { externalId } pageInfo { hasNextPage endCursor } } } }"""
PREVIEW = """query($rule: String!, $asOf: DateTime, $first: Int) {
  segmentPreview(rule: $rule, asOf: $asOf, first: $first) {
    count customers { externalId } errors { message line column offset length } } }"""


async def create(gql, name: str, rule: str, description: str | None = None) -> dict:
    data = await gql(CREATE, {"input": {"name": name, "rule": rule, "description": description}})
    return data["segmentCreate"]


async def test_create_then_read_members_as_of(gql, database):
    await build(database)
    payload = await create(
        gql,
        "Win-back big spenders",
        'lifecycle IN (SILENT, CHURNED) AND total_spent > 500 AND NOT tag = "do-not-contact"',
        "Lapsed customers worth a coupon",
    )
    assert payload["userErrors"] == []
    segment = payload["segment"]
    assert segment["name"] == "Win-back big spenders"
    assert segment["builtIn"] is False

    data = await gql(MEMBERS, {"id": segment["id"], "asOf": AS_OF})
    assert data["segment"]["count"] == 2
    assert data["segment"]["customers"]["totalCount"] == 2
    assert [n["externalId"] for n in data["segment"]["customers"]["nodes"]] == ["alice", "carol"]

    # 200 days earlier alice had one order, placed that very day: she was NEW.
    earlier = T.replace(year=2025, month=12, day=12).isoformat()
    data = await gql(MEMBERS, {"id": segment["id"], "asOf": earlier})
    assert data["segment"]["count"] == 0


async def test_members_are_paged_by_customer_id(gql, database):
    await build(database)
    segment = (await create(gql, "Everyone", "orders_count >= 0"))["segment"]
    first = await gql(MEMBERS, {"id": segment["id"], "asOf": AS_OF, "first": 3})
    page = first["segment"]["customers"]
    assert [n["externalId"] for n in page["nodes"]] == ["alice", "bob", "carol"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await gql(
        MEMBERS,
        {"id": segment["id"], "asOf": AS_OF, "first": 3, "after": page["pageInfo"]["endCursor"]},
    )
    page = second["segment"]["customers"]
    assert [n["externalId"] for n in page["nodes"]] == ["dave", "eve"]  # frank is erased
    assert page["pageInfo"]["hasNextPage"] is False


async def test_rule_errors_are_user_errors_with_the_position(gql):
    payload = await create(gql, "Typo", "lifecycle = SILENT AND totl_spent > 500")
    assert payload["segment"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "rule"],
            "message": "Unknown field 'totl_spent' at column 24 — did you mean total_spent?",
            "code": "INVALID_RULE",
        }
    ]
    payload = await create(gql, "", "lifecycle = PURPLE AND total_spent > 'abc'")
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "name"], "REQUIRED"),
        (["input", "rule"], "INVALID_RULE"),
        (["input", "rule"], "INVALID_RULE"),
    ]
    assert "at column 13" in payload["userErrors"][1]["message"]
    assert "at column 38" in payload["userErrors"][2]["message"]
    segments = await gql("{ segments { name } }")
    assert all(s["name"] not in ("Typo", "") for s in segments["segments"])


async def test_names_are_unique_ignoring_case_and_built_in_names_are_taken(gql):
    assert (await create(gql, "VIPs", 'tag = "vip"'))["userErrors"] == []
    payload = await create(gql, " vips ", 'tag = "vip"')
    assert payload["userErrors"] == [
        {"field": ["input", "name"], "message": "A segment 'vips' exists.", "code": "TAKEN"}
    ]
    payload = await create(gql, "沉默客户", "lifecycle = SILENT")
    assert payload["userErrors"][0]["code"] == "TAKEN"


async def test_update_and_delete(gql, database):
    await build(database)
    segment = (await create(gql, "Shanghai", 'city = "Shanghai"'))["segment"]
    data = await gql(
        UPDATE, {"input": {"id": segment["id"], "rule": 'city IN ("Beijing", "Hangzhou")'}}
    )
    updated = data["segmentUpdate"]["segment"]
    assert data["segmentUpdate"]["userErrors"] == []
    assert updated["name"] == "Shanghai"
    assert updated["rule"] == 'city IN ("Beijing", "Hangzhou")'
    members = await gql(MEMBERS, {"id": segment["id"], "asOf": AS_OF})
    assert [n["externalId"] for n in members["segment"]["customers"]["nodes"]] == ["bob", "dave"]

    bad = await gql(UPDATE, {"input": {"id": segment["id"], "rule": "city = "}})
    assert bad["segmentUpdate"]["userErrors"] == [
        {
            "field": ["input", "rule"],
            "message": "Expected a value after '=', found the end of the rule at column 8",
            "code": "INVALID_RULE",
        }
    ]
    still = await gql(MEMBERS, {"id": segment["id"], "asOf": AS_OF})
    assert still["segment"]["count"] == 2  # a refused update wrote nothing

    data = await gql(DELETE, {"input": {"id": segment["id"]}})
    assert data["segmentDelete"] == {"deletedSegmentId": segment["id"], "userErrors": []}
    assert (await gql(MEMBERS, {"id": segment["id"]}))["segment"] is None
    again = await gql(DELETE, {"input": {"id": segment["id"]}})
    assert again["segmentDelete"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_built_in_segments_are_listed_and_read_only(gql, database):
    await build(database)
    await create(gql, "A saved one", "orders_count > 1")
    data = await gql("{ segments { id name rule builtIn } }")
    segments = data["segments"]
    assert [s["name"] for s in segments[:6]] == [
        "潜在客户",
        "新客户",
        "忠诚客户",
        "活跃客户",
        "沉默客户",
        "流失客户",
    ]
    assert [s["rule"] for s in segments[6:14]] == [
        "rfm_class = IMPORTANT_VALUE",
        "rfm_class = IMPORTANT_DEVELOP",
        "rfm_class = IMPORTANT_RETAIN",
        "rfm_class = IMPORTANT_WINBACK",
        "rfm_class = GENERAL_VALUE",
        "rfm_class = GENERAL_DEVELOP",
        "rfm_class = GENERAL_RETAIN",
        "rfm_class = GENERAL_WINBACK",
    ]
    assert all(s["builtIn"] for s in segments[:14])
    assert [(s["name"], s["builtIn"]) for s in segments[14:]] == [("A saved one", False)]

    silent = segments[4]
    members = await gql(MEMBERS, {"id": silent["id"], "asOf": AS_OF})
    assert [n["externalId"] for n in members["segment"]["customers"]["nodes"]] == ["alice"]
    node = await gql("query($id: ID!) { node(id: $id) { ... on Segment { name } } }", silent)
    assert node["node"] == {"name": "沉默客户"}

    refused = await gql(UPDATE, {"input": {"id": silent["id"], "name": "Mine now"}})
    assert refused["segmentUpdate"]["segment"] is None
    assert refused["segmentUpdate"]["userErrors"][0]["code"] == "READ_ONLY"
    assert refused["segmentUpdate"]["userErrors"][0]["field"] == ["input", "id"]
    refused = await gql(DELETE, {"input": {"id": silent["id"]}})
    assert refused["segmentDelete"]["userErrors"][0]["code"] == "READ_ONLY"


async def test_preview_counts_without_saving(gql, database):
    await build(database)
    data = await gql(PREVIEW, {"rule": "orders_count >= 1", "asOf": AS_OF, "first": 2})
    assert data["segmentPreview"] == {
        "count": 4,
        "customers": [{"externalId": "alice"}, {"externalId": "bob"}],
        "errors": [],
    }
    injection = await gql(PREVIEW, {"rule": 'name = "x\' OR 1=1 --"', "asOf": AS_OF})
    assert injection["segmentPreview"]["customers"] == [{"externalId": "eve"}]
    assert len((await gql("{ segments { id } }"))["segments"]) == 14


async def test_preview_reports_errors_with_structured_positions(gql):
    data = await gql(PREVIEW, {"rule": "lifecycle = SILENT\n  AND totl_spent > 500"})
    assert data["segmentPreview"] == {
        "count": None,
        "customers": [],
        "errors": [
            {
                "message": "Unknown field 'totl_spent' at line 2, column 7 — did you mean "
                "total_spent?",
                "line": 2,
                "column": 7,
                "offset": 25,
                "length": 10,
            }
        ],
    }


async def test_customer_segments_as_of(gql, database):
    await build(database)
    await create(gql, "Shoe lovers", 'category_spent("shoes") >= 200')
    await create(gql, "Tagged VIP", 'tag = "vip"')
    query = """query($asOf: DateTime) {
      customers(first: 10, sort: CREATED_AT_ASC) {
        nodes { externalId segments(asOf: $asOf) { name builtIn } } } }"""
    data = await gql(query, {"asOf": AS_OF})
    nodes = data["customers"]["nodes"]
    found = {n["externalId"]: [s["name"] for s in n["segments"]] for n in nodes}
    assert found == {
        "alice": ["沉默客户", "一般价值客户", "Shoe lovers", "Tagged VIP"],
        "bob": ["活跃客户", "重要发展客户"],
        "carol": ["流失客户", "重要挽留客户"],
        "dave": ["潜在客户"],
        "eve": ["新客户", "一般发展客户"],
    }


async def test_scopes(client, database, gql):
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    assert len((await analyst("{ segments { id } }"))["segments"]) == 14
    body = await analyst.raw(CREATE, {"input": {"name": "x", "rule": "orders_count > 1"}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await storefront.raw("{ segments { id } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await storefront.raw(PREVIEW, {"rule": "orders_count > 1"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_segment_is_tracked_on_request_and_untracked_again(gql):
    created = await gql(
        """mutation($input: SegmentCreateInput!) {
          segmentCreate(input: $input) { segment { id tracked } userErrors { code } } }""",
        {"input": {"name": "Big spenders", "rule": "total_spent >= 1000", "tracked": True}},
    )
    segment = created["segmentCreate"]["segment"]
    assert segment["tracked"] is True
    plain = (await create(gql, "Shanghai", 'city = "Shanghai"'))["segment"]

    untracked = await gql(
        """mutation($input: SegmentUpdateInput!) {
          segmentUpdate(input: $input) { segment { tracked name } userErrors { code } } }""",
        {"input": {"id": segment["id"], "tracked": False}},
    )
    listed = await gql("{ segments { id tracked builtIn } }")

    assert untracked["segmentUpdate"]["segment"] == {"tracked": False, "name": "Big spenders"}
    assert {s["id"]: s["tracked"] for s in listed["segments"] if not s["builtIn"]} == {
        segment["id"]: False,
        plain["id"]: False,
    }
    assert not any(s["tracked"] for s in listed["segments"] if s["builtIn"])
