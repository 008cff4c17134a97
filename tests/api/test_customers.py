"""Customer profiles: upsert, update, reading one, searching and filtering many."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from api.ids import encode

FIELDS = """id externalId email phone name birthday gender city acquisitionChannel
            attributes createdAt updatedAt erasedAt"""
UPSERT = f"""mutation($input: CustomerUpsertInput!) {{
  customerUpsert(input: $input) {{ created customer {{ {FIELDS} }}
    userErrors {{ field message code }} }} }}"""
UPDATE = f"""mutation($input: CustomerUpdateInput!) {{
  customerUpdate(input: $input) {{ customer {{ {FIELDS} }}
    userErrors {{ field message code }} }} }}"""
SEARCH = """query($filter: CustomerFilter, $sort: CustomerSort) {
  customers(first: 100, filter: $filter, sort: $sort) {
    totalCount edges { node { externalId } } } }"""


async def upsert(gql, **fields) -> dict:  # noqa: ANN003
    payload = (await gql(UPSERT, {"input": fields}))["customerUpsert"]
    assert payload["userErrors"] == []
    return payload


async def found(gql, **filter) -> list[str]:  # noqa: ANN003
    data = await gql(SEARCH, {"filter": filter})
    ids = [e["node"]["externalId"] for e in data["customers"]["edges"]]
    assert data["customers"]["totalCount"] == len(ids)
    return ids


async def test_upsert_creates_then_updates_the_same_customer(gql):
    first = await upsert(gql, externalId="shop-1", name="Li Na", city="Shanghai")
    assert first["created"] is True
    second = await upsert(gql, externalId="shop-1", name="Li Na Wang")
    assert second["created"] is False
    assert second["customer"]["id"] == first["customer"]["id"]
    assert second["customer"]["name"] == "Li Na Wang"
    assert second["customer"]["city"] == "Shanghai"
    assert second["customer"]["createdAt"] == first["customer"]["createdAt"]
    assert second["customer"]["updatedAt"] >= first["customer"]["updatedAt"]


async def test_upsert_replayed_changes_nothing(gql):
    fields = {"externalId": "shop-2", "email": "a@example.com", "attributes": {"vip": True}}
    first = await upsert(gql, **fields)
    replay = await upsert(gql, **fields)
    assert replay["created"] is False
    assert replay["customer"] == first["customer"]
    assert (await gql(SEARCH))["customers"]["totalCount"] == 1


async def test_omitted_field_is_left_alone_and_null_clears(gql):
    created = await upsert(
        gql,
        externalId="shop-3",
        email="x@example.com",
        phone="13800138000",
        city="Hangzhou",
        birthday="1990-05-12",
        gender="FEMALE",
        attributes={"size": "M"},
    )
    customer_id = created["customer"]["id"]
    data = await gql(UPDATE, {"input": {"id": customer_id, "city": None, "attributes": None}})
    customer = data["customerUpdate"]["customer"]
    assert customer["city"] is None
    assert customer["attributes"] == {}
    assert customer["email"] == "x@example.com"
    assert customer["phone"] == "+8613800138000"
    assert customer["birthday"] == "1990-05-12"
    assert customer["gender"] == "FEMALE"


async def test_email_is_lower_cased_and_phone_is_e164(gql):
    customer = (
        await upsert(
            gql, externalId="shop-4", email="  Wang.Wei@Example.COM", phone="+44 20 7946 0958"
        )
    )["customer"]
    assert customer["email"] == "wang.wei@example.com"
    assert customer["phone"] == "+442079460958"
    # Without a country code the program's region (LOYALTY_PHONE_REGION, CN) applies.
    customer = (await upsert(gql, externalId="shop-5", phone="139-0013-9000"))["customer"]
    assert customer["phone"] == "+8613900139000"


async def test_update_of_an_unknown_customer_is_not_found(gql):
    data = await gql(UPDATE, {"input": {"id": encode("Customer", 404), "name": "x"}})
    assert data["customerUpdate"] == {
        "customer": None,
        "userErrors": [
            {"field": ["input", "id"], "code": "NOT_FOUND", "message": "No customer has this id."}
        ],
    }


async def test_search_by_name_part_email_phone_and_external_id(gql):
    await upsert(gql, externalId="A-1", name="Emma Brown", email="emma@example.com")
    await upsert(gql, externalId="A-2", name="李娜", phone="13800138000")
    await upsert(gql, externalId="A-3", name="Emmanuel", email="e3@example.com")

    assert await found(gql, search="emma") == ["A-3", "A-1"]
    assert await found(gql, search="brown") == ["A-1"]
    assert await found(gql, search="娜") == ["A-2"]
    assert await found(gql, search="EMMA@example.com") == ["A-1"]
    assert await found(gql, search="138 0013 8000") == ["A-2"]
    assert await found(gql, search="+86 13800138000") == ["A-2"]
    assert await found(gql, search="A-3") == ["A-3"]
    assert await found(gql, search="a-3") == []  # externalIds are exact
    assert await found(gql, search="100%") == []  # LIKE wildcards are literal


async def test_filter_by_tag_and_creation_time(gql, clock):
    ids = {}
    for ext in ("T-1", "T-2", "T-3"):
        clock.at += timedelta(seconds=1)
        ids[ext] = (await upsert(gql, externalId=ext))["customer"]
    await gql(
        """mutation($ids: [ID!]!) { customerTagsAdd(input: {customerIds: $ids, tagNames: ["VIP"]})
             { userErrors { code } } }""",
        {"ids": [ids["T-1"]["id"], ids["T-3"]["id"]]},
    )
    assert await found(gql, tag="vip") == ["T-3", "T-1"]
    assert await found(gql, tag="nobody") == []

    created = ids["T-2"]["createdAt"]
    assert "T-2" in await found(gql, createdAfter=created)
    assert "T-2" not in await found(gql, createdBefore=created)
    assert "T-1" in await found(gql, createdBefore=ids["T-3"]["createdAt"])
    assert await found(gql, createdAfter="2999-01-01T00:00:00+00:00") == []
    assert len(await found(gql, createdBefore="2999-01-01T00:00:00+08:00")) == 3


async def test_sort_oldest_first(gql):
    for ext in ("S-1", "S-2", "S-3"):
        await upsert(gql, externalId=ext)
    data = await gql(SEARCH, {"sort": "CREATED_AT_ASC"})
    assert [e["node"]["externalId"] for e in data["customers"]["edges"]] == ["S-1", "S-2", "S-3"]


async def test_customer_by_id_or_by_external_id(gql):
    created = (await upsert(gql, externalId="ext-9", name="Zhang Min"))["customer"]
    query = """query($id: ID, $ext: String) { customer(id: $id, externalId: $ext) {
                 id name } }"""
    by_id = await gql(query, {"id": created["id"]})
    by_ext = await gql(query, {"ext": "ext-9"})
    assert by_id["customer"] == by_ext["customer"] == {"id": created["id"], "name": "Zhang Min"}
    assert (await gql(query, {"ext": "ext-nope"}))["customer"] is None
    assert (await gql(query, {"id": encode("Customer", 999)}))["customer"] is None
    assert (await gql(query, {"id": encode("Tag", 1)}))["customer"] is None


async def test_customer_needs_exactly_one_of_id_and_external_id(gql):
    query = """query($id: ID, $ext: String) { customer(id: $id, externalId: $ext) { id } }"""
    for variables in ({}, {"id": encode("Customer", 1), "ext": "x"}):
        body = await gql.raw(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["path"] == ["customer"]


async def test_updated_at_moves_only_on_change(gql):
    created = (await upsert(gql, externalId="u-1", name="A"))["customer"]
    same = await gql(UPDATE, {"input": {"id": created["id"], "name": "A"}})
    assert same["customerUpdate"]["customer"]["updatedAt"] == created["updatedAt"]


async def test_node_resolves_a_customer(gql):
    created = (await upsert(gql, externalId="n-1", name="Node"))["customer"]
    data = await gql(
        "query($id: ID!) { node(id: $id) { id ... on Customer { name } } }", {"id": created["id"]}
    )
    assert data["node"] == {"id": created["id"], "name": "Node"}


async def test_concurrent_upserts_of_one_external_id_make_one_customer(gql):
    """A storefront retrying in parallel: one creates, the others update, none fails."""
    results = await asyncio.gather(
        *(
            gql(UPSERT, {"input": {"externalId": "same", "attributes": {"try": i}}})
            for i in range(8)
        )
    )
    payloads = [r["customerUpsert"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sum(p["created"] for p in payloads) == 1
    assert len({p["customer"]["id"] for p in payloads}) == 1
    assert await found(gql) == ["same"]
