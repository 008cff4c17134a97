"""Connections: page sizes, walking every page, and cursors that are refused."""

from __future__ import annotations

import base64
import json

import pytest

PAGE = """query($first: Int, $after: String, $sort: CustomerSort) {
  customers(first: $first, after: $after, sort: $sort) {
    totalCount
    edges { cursor node { externalId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


@pytest.fixture
async def customers(gql) -> list[str]:
    """25 customers; returns their externalIds newest first (the default order)."""
    made = []
    for i in range(25):
        data = await gql(
            """mutation($ext: String!) { customerUpsert(input: {externalId: $ext}) {
                 customer { id } } }""",
            {"ext": f"p-{i:02d}"},
        )
        assert data["customerUpsert"]["customer"]
        made.append(f"p-{i:02d}")
    return made[::-1]


def bad_input(body: dict) -> str:
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return error["message"]


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_walking_every_page_returns_each_customer_once_in_order(gql, customers):
    seen, after, pages = [], None, 0
    while True:
        page = (await gql(PAGE, {"first": 7, "after": after}))["customers"]
        pages += 1
        assert page["totalCount"] == 25
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [e["node"]["externalId"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 4  # 7 + 7 + 7 + 4
    assert seen == customers


async def test_oldest_first_walk(gql, customers):
    first = (await gql(PAGE, {"first": 20, "sort": "CREATED_AT_ASC"}))["customers"]
    cursor = first["pageInfo"]["endCursor"]
    rest = (await gql(PAGE, {"first": 20, "after": cursor, "sort": "CREATED_AT_ASC"}))["customers"]
    names = [e["node"]["externalId"] for e in first["edges"] + rest["edges"]]
    assert names == customers[::-1]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_page_exactly_at_the_end_has_no_next_page(gql, customers):
    page = (await gql(PAGE, {"first": 25}))["customers"]
    assert len(page["edges"]) == 25
    assert page["pageInfo"]["hasNextPage"] is False
    after_last = await gql(PAGE, {"first": 5, "after": page["pageInfo"]["endCursor"]})
    assert after_last["customers"]["edges"] == []
    assert after_last["customers"]["pageInfo"]["hasNextPage"] is False
    assert after_last["customers"]["pageInfo"]["endCursor"] is None


async def test_first_zero_one_hundred_and_over(gql, customers):
    empty = (await gql(PAGE, {"first": 0}))["customers"]
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is True
    assert empty["totalCount"] == 25
    assert len((await gql(PAGE, {"first": 100}))["customers"]["edges"]) == 25
    assert len((await gql(PAGE, {}))["customers"]["edges"]) == 20  # the default page
    assert "between 0 and 100" in bad_input(await gql.raw(PAGE, {"first": 101}))
    assert "between 0 and 100" in bad_input(await gql.raw(PAGE, {"first": -1}))
    body = await gql.raw("{ tags(first: 101) { totalCount } }")
    assert "between 0 and 100" in bad_input(body)


async def test_cursor_from_another_ordering_or_list_is_refused(gql, customers):
    page = (await gql(PAGE, {"first": 3}))["customers"]
    cursor = page["pageInfo"]["endCursor"]
    bad_input(await gql.raw(PAGE, {"first": 3, "after": cursor, "sort": "CREATED_AT_ASC"}))
    await gql("""{ tags(first: 1) { totalCount } }""")
    await gql(
        """mutation($ids: [ID!]!) { customerTagsAdd(input: {customerIds: $ids, tagNames: ["a"]})
             { changedCount } }""",
        {"ids": [(await gql('{ customer(externalId: "p-00") { id } }'))["customer"]["id"]]},
    )
    tag_cursor = (await gql("{ tags(first: 1) { pageInfo { endCursor } } }"))["tags"]["pageInfo"][
        "endCursor"
    ]
    bad_input(await gql.raw(PAGE, {"first": 3, "after": tag_cursor}))
    body = await gql.raw(
        "query($after: String) { tags(after: $after) { totalCount } }", {"after": cursor}
    )
    bad_input(body)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        forged("CREATED_AT_DESC"),
        forged(["CREATED_AT_DESC"]),
        forged(["CREATED_AT_DESC", [5]]),
        forged(["CREATED_AT_DESC", ["yesterday", 5]]),
        forged(["CREATED_AT_DESC", [{"t": "2024-01-01T00:00:00"}, 5]]),  # no offset
        forged(["CREATED_AT_DESC", [{"t": "2024-01-01T00:00:00+00:00"}, "5"]]),
        forged(["CREATED_AT_DESC", [{"t": "2024-01-01T00:00:00+00:00"}, 5, 6]]),
        forged(["CREATED_AT_DESC", [{"t": "2024-01-01T00:00:00+00:00"}, 10**30]]),
        forged(["CREATED_AT_DESC", [{"t": "2024-01-01T00:00:00+00:00"}, True]]),
    ],
)
async def test_garbage_and_forged_cursors_are_refused(gql, cursor):
    assert "cursor" in bad_input(await gql.raw(PAGE, {"first": 3, "after": cursor}))


async def test_a_well_formed_cursor_is_accepted(gql, customers):
    cursor = forged(["CREATED_AT_DESC", [{"t": "2999-01-01T00:00:00+00:00"}, 1]])
    page = (await gql(PAGE, {"first": 3, "after": cursor}))["customers"]
    assert len(page["edges"]) == 3
