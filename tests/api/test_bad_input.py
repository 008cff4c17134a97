"""Every refused input is a userError naming the field, and a refused mutation writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.ids import encode

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { created customer { id } userErrors { field code message } } }"""
UPDATE = """mutation($input: CustomerUpdateInput!) {
  customerUpdate(input: $input) { customer { id } userErrors { field code message } } }"""
ERASE = """mutation($input: CustomerEraseInput!) {
  customerErase(input: $input) { customer { id } userErrors { field code message } } }"""
TAGS_ADD = """mutation($input: CustomerTagsInput!) {
  customerTagsAdd(input: $input) { changedCount tags { name }
    userErrors { field code message } } }"""
TAGS_REMOVE = """mutation($input: CustomerTagsInput!) {
  customerTagsRemove(input: $input) { changedCount userErrors { field code message } } }"""
TAG_CREATE = """mutation($input: TagCreateInput!) {
  tagCreate(input: $input) { tag { id } userErrors { field code message } } }"""
TAG_UPDATE = """mutation($input: TagUpdateInput!) {
  tagUpdate(input: $input) { tag { id } userErrors { field code message } } }"""
TAG_DELETE = """mutation($input: TagDeleteInput!) {
  tagDelete(input: $input) { deletedTagId userErrors { field code message } } }"""
COUNTS = """{ customers(first: 100) { totalCount edges { node { externalId tags { name } } } }
              tags(first: 100) { totalCount edges { node { name customerCount } } } }"""


def codes(payload: dict) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def upsert_errors(gql, **fields) -> list[tuple[list[str], str]]:  # noqa: ANN003
    payload = (await gql(UPSERT, {"input": {"externalId": "c-1", **fields}}))["customerUpsert"]
    assert payload["customer"] is None
    return codes(payload)


async def new_customer(gql, external_id: str) -> str:
    payload = (await gql(UPSERT, {"input": {"externalId": external_id}}))["customerUpsert"]
    return payload["customer"]["id"]


async def test_external_id_empty_or_too_long(gql):
    assert await upsert_errors(gql, externalId="  ") == [(["input", "externalId"], "REQUIRED")]
    too_long = "x" * 129
    assert await upsert_errors(gql, externalId=too_long) == [(["input", "externalId"], "TOO_LONG")]
    assert (await gql(COUNTS))["customers"]["totalCount"] == 0


async def test_over_long_profile_strings(gql):
    assert await upsert_errors(gql, name="n" * 201, city="c" * 101) == [
        (["input", "name"], "TOO_LONG"),
        (["input", "city"], "TOO_LONG"),
    ]
    assert await upsert_errors(gql, acquisitionChannel="a" * 65) == [
        (["input", "acquisitionChannel"], "TOO_LONG")
    ]
    assert await upsert_errors(gql, phone="1" * 40) == [(["input", "phone"], "TOO_LONG")]


async def test_bad_email_and_phone(gql):
    for email in ("not-an-email", "a@", "a b@example.com"):
        assert await upsert_errors(gql, email=email) == [(["input", "email"], "INVALID")]
    for phone in ("12", "call me", "+86 138 ext. 1"):
        assert await upsert_errors(gql, phone=phone) == [(["input", "phone"], "INVALID")]


async def test_birthday_in_the_future(gql):
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    payload = (await gql(UPSERT, {"input": {"externalId": "c-1", "birthday": tomorrow}}))[
        "customerUpsert"
    ]
    assert payload["userErrors"] == [
        {"field": ["input", "birthday"], "code": "INVALID", "message": "birthday is in the future."}
    ]


async def test_all_problems_are_reported_at_once_and_nothing_is_written(gql):
    errors = await upsert_errors(
        gql, name="Valid Name", email="nope", birthday="2999-01-01", city="x" * 101
    )
    assert sorted(field[-1] for field, _ in errors) == ["birthday", "city", "email"]
    assert (await gql(COUNTS))["customers"]["totalCount"] == 0


async def test_a_refused_update_changes_nothing(gql):
    customer_id = await new_customer(gql, "c-2")
    data = await gql(UPDATE, {"input": {"id": customer_id, "name": "New", "email": "bad"}})
    assert codes(data["customerUpdate"]) == [(["input", "email"], "INVALID")]
    query = "query($id: ID!) { customer(id: $id) { name email } }"
    assert (await gql(query, {"id": customer_id}))["customer"] == {"name": None, "email": None}


async def test_attributes_limits(gql):
    assert await upsert_errors(gql, attributes={f"k{i}": i for i in range(51)}) == [
        (["input", "attributes"], "TOO_MANY")
    ]
    assert await upsert_errors(gql, attributes={"note": "x" * 501}) == [
        (["input", "attributes", "note"], "TOO_LONG")
    ]
    assert await upsert_errors(gql, attributes={"nested": {"a": 1}}) == [
        (["input", "attributes", "nested"], "INVALID")
    ]
    assert await upsert_errors(gql, attributes={"list": [1, 2]}) == [
        (["input", "attributes", "list"], "INVALID")
    ]
    assert await upsert_errors(gql, attributes={"": 1}) == [(["input", "attributes"], "INVALID")]
    assert await upsert_errors(gql, attributes=["not", "an", "object"]) == [
        (["input", "attributes"], "INVALID")
    ]
    big = {f"key{i}": "v" * 400 for i in range(12)}  # each value fine, the whole over 4 KB
    assert await upsert_errors(gql, attributes=big) == [(["input", "attributes"], "TOO_LONG")]
    ok = await gql(UPSERT, {"input": {"externalId": "c-ok", "attributes": {"a": 1.5, "b": True}}})
    assert ok["customerUpsert"]["userErrors"] == []


async def test_unknown_wrong_type_and_malformed_ids(gql):
    tag = (await gql(TAG_CREATE, {"input": {"name": "VIP"}}))["tagCreate"]["tag"]["id"]
    unknown = encode("Customer", 999_999)
    for mutation, name in ((UPDATE, "customerUpdate"), (ERASE, "customerErase")):
        assert codes((await gql(mutation, {"input": {"id": unknown}}))[name]) == [
            (["input", "id"], "NOT_FOUND")
        ]
        assert codes((await gql(mutation, {"input": {"id": tag}}))[name]) == [
            (["input", "id"], "WRONG_TYPE")
        ]
        assert codes((await gql(mutation, {"input": {"id": "not-an-id!"}}))[name]) == [
            (["input", "id"], "INVALID")
        ]
    customer = await new_customer(gql, "c-3")
    for mutation, name in ((TAG_UPDATE, "tagUpdate"), (TAG_DELETE, "tagDelete")):
        assert codes((await gql(mutation, {"input": {"id": encode("Tag", 999)}}))[name]) == [
            (["input", "id"], "NOT_FOUND")
        ]
        assert codes((await gql(mutation, {"input": {"id": customer}}))[name]) == [
            (["input", "id"], "WRONG_TYPE")
        ]
    data = await gql(
        TAGS_ADD, {"input": {"customerIds": [customer, tag], "tagIds": ["garbage", customer]}}
    )
    assert codes(data["customerTagsAdd"]) == [
        (["input", "customerIds", "1"], "WRONG_TYPE"),
        (["input", "tagIds", "0"], "INVALID"),  # the first bad id of each list
    ]
    data = await gql(TAGS_ADD, {"input": {"customerIds": [customer], "tagIds": [encode("Tag", 9)]}})
    assert codes(data["customerTagsAdd"]) == [(["input", "tagIds"], "NOT_FOUND")]


async def test_more_than_1000_items(gql):
    customer = await new_customer(gql, "c-4")
    data = await gql(TAGS_ADD, {"input": {"customerIds": [customer] * 1001, "tagNames": ["x"]}})
    assert codes(data["customerTagsAdd"]) == [(["input", "customerIds"], "TOO_MANY")]
    assert "1000" in data["customerTagsAdd"]["userErrors"][0]["message"]
    names = [f"t{i}" for i in range(1001)]
    data = await gql(TAGS_ADD, {"input": {"customerIds": [customer], "tagNames": names}})
    assert codes(data["customerTagsAdd"]) == [(["input", "tagNames"], "TOO_MANY")]
    assert (await gql(COUNTS))["tags"]["totalCount"] == 0


async def test_tag_names_empty_or_too_long(gql):
    customer = await new_customer(gql, "c-5")
    data = await gql(TAGS_ADD, {"input": {"customerIds": [customer], "tagNames": ["ok", " "]}})
    assert codes(data["customerTagsAdd"]) == [(["input", "tagNames", "1"], "REQUIRED")]
    data = await gql(TAGS_ADD, {"input": {"customerIds": [customer], "tagNames": ["t" * 65]}})
    assert codes(data["customerTagsAdd"]) == [(["input", "tagNames", "0"], "TOO_LONG")]
    data = await gql(TAGS_ADD, {"input": {"customerIds": [], "tagNames": []}})
    assert codes(data["customerTagsAdd"]) == [
        (["input", "customerIds"], "REQUIRED"),
        (["input", "tagNames"], "REQUIRED"),
    ]
    data = await gql(TAG_CREATE, {"input": {"name": "", "description": "d" * 501}})
    assert codes(data["tagCreate"]) == [
        (["input", "name"], "REQUIRED"),
        (["input", "description"], "TOO_LONG"),
    ]
    data = await gql(TAG_CREATE, {"input": {"name": "t" * 65}})
    assert codes(data["tagCreate"]) == [(["input", "name"], "TOO_LONG")]
    assert (await gql(COUNTS))["tags"]["totalCount"] == 0


async def test_one_unknown_customer_means_nothing_is_tagged(gql):
    known = [await new_customer(gql, f"k-{i}") for i in range(3)]
    await gql(TAGS_ADD, {"input": {"customerIds": known[:1], "tagNames": ["existing"]}})
    before = await gql(COUNTS)

    data = await gql(
        TAGS_ADD,
        {
            "input": {
                "customerIds": [*known, encode("Customer", 777)],
                "tagNames": ["existing", "brand-new"],
            }
        },
    )
    assert data["customerTagsAdd"] == {
        "changedCount": 0,
        "tags": [],
        "userErrors": [
            {
                "field": ["input", "customerIds"],
                "code": "NOT_FOUND",
                "message": "1 of the customers do not exist.",
            }
        ],
    }
    after = await gql(COUNTS)
    assert after == before
    assert [t["node"]["name"] for t in after["tags"]["edges"]] == ["existing"]

    data = await gql(
        TAGS_REMOVE,
        {"input": {"customerIds": [known[0], encode("Customer", 777)], "tagNames": ["existing"]}},
    )
    assert codes(data["customerTagsRemove"]) == [(["input", "customerIds"], "NOT_FOUND")]
    assert await gql(COUNTS) == before
