"""Tags: unique names ignoring case, bulk tagging, and reading them both ways."""

from __future__ import annotations

import asyncio

TAG = "id name description color source customerCount"
CREATE = f"""mutation($input: TagCreateInput!) {{
  tagCreate(input: $input) {{ tag {{ {TAG} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($input: TagUpdateInput!) {{
  tagUpdate(input: $input) {{ tag {{ {TAG} }} userErrors {{ field code message }} }} }}"""
DELETE = """mutation($id: ID!) { tagDelete(input: {id: $id}) {
  deletedTagId userErrors { field code } } }"""
ADD = """mutation($input: CustomerTagsInput!) { customerTagsAdd(input: $input) {
  changedCount tags { name source } customers { externalId tags { name } }
  userErrors { field code } } }"""
REMOVE = """mutation($input: CustomerTagsInput!) { customerTagsRemove(input: $input) {
  changedCount customers { externalId tags { name } } userErrors { field code } } }"""
TAGS = "{ tags(first: 100) { totalCount edges { node { name customerCount } } } }"


async def create(gql, **fields) -> dict:  # noqa: ANN003
    payload = (await gql(CREATE, {"input": fields}))["tagCreate"]
    assert payload["userErrors"] == []
    return payload["tag"]


async def customers(gql, *external_ids: str) -> list[str]:
    made = []
    for ext in external_ids:
        data = await gql(
            """mutation($ext: String!) { customerUpsert(input: {externalId: $ext}) {
                 customer { id } } }""",
            {"ext": ext},
        )
        made.append(data["customerUpsert"]["customer"]["id"])
    return made


async def tag_counts(gql) -> dict[str, int]:
    data = await gql(TAGS)
    return {e["node"]["name"]: e["node"]["customerCount"] for e in data["tags"]["edges"]}


async def test_create_a_tag(gql):
    tag = await create(gql, name=" VIP ", description="Top spenders", color="#c9a227")
    assert tag["name"] == "VIP"
    assert tag["color"] == "#C9A227"
    assert tag["source"] == "MANUAL"
    assert tag["customerCount"] == 0
    imported = await create(gql, name="crm", source="IMPORT")
    assert imported["source"] == "IMPORT"


async def test_same_name_in_another_case_is_taken(gql):
    await create(gql, name="VIP")
    payload = (await gql(CREATE, {"input": {"name": "vip"}}))["tagCreate"]
    assert payload["tag"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "name"], "TAKEN")
    ]
    assert await tag_counts(gql) == {"VIP": 0}


async def test_bad_color_is_invalid_on_the_color_field(gql):
    for color in ("red", "#12345", "#GGGGGG", "123456"):
        payload = (await gql(CREATE, {"input": {"name": "x", "color": color}}))["tagCreate"]
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "color"], "INVALID")
        ], color
    assert await tag_counts(gql) == {}


async def test_rename_and_rename_onto_another_tag(gql):
    vip = await create(gql, name="VIP", color="#000000")
    await create(gql, name="Gold")
    renamed = (await gql(UPDATE, {"input": {"id": vip["id"], "name": "Very Important"}}))[
        "tagUpdate"
    ]
    assert renamed["tag"]["name"] == "Very Important"
    assert renamed["tag"]["color"] == "#000000"  # omitted: left alone
    same_key = await gql(UPDATE, {"input": {"id": vip["id"], "name": "VERY important"}})
    assert same_key["tagUpdate"]["tag"]["name"] == "VERY important"  # its own name, new case

    clash = (await gql(UPDATE, {"input": {"id": vip["id"], "name": "gold"}}))["tagUpdate"]
    assert clash["tag"] is None
    assert [(e["field"], e["code"]) for e in clash["userErrors"]] == [(["input", "name"], "TAKEN")]
    cleared = (await gql(UPDATE, {"input": {"id": vip["id"], "color": None}}))["tagUpdate"]
    assert cleared["tag"]["color"] is None
    bad = (await gql(UPDATE, {"input": {"id": vip["id"], "color": "blue"}}))["tagUpdate"]
    assert [(e["field"], e["code"]) for e in bad["userErrors"]] == [(["input", "color"], "INVALID")]
    assert await tag_counts(gql) == {"Gold": 0, "VERY important": 0}


async def test_delete_takes_the_tag_off_every_customer(gql):
    ids = await customers(gql, "a", "b")
    added = await gql(ADD, {"input": {"customerIds": ids, "tagNames": ["VIP", "news"]}})
    vip = (await gql('{ tag(name: "vip") { id } }'))["tag"]
    assert added["customerTagsAdd"]["changedCount"] == 4

    deleted = (await gql(DELETE, {"id": vip["id"]}))["tagDelete"]
    assert deleted == {"deletedTagId": vip["id"], "userErrors": []}
    data = await gql(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { tags { name } } } }",
        {"ids": ids},
    )
    assert data["nodes"] == [{"tags": [{"name": "news"}]}, {"tags": [{"name": "news"}]}]
    assert await tag_counts(gql) == {"news": 2}
    again = (await gql(DELETE, {"id": vip["id"]}))["tagDelete"]
    assert again["userErrors"] == [{"field": ["input", "id"], "code": "NOT_FOUND"}]


async def test_add_creates_unknown_names_and_is_idempotent(gql):
    ids = await customers(gql, "a", "b", "c")
    await create(gql, name="VIP")
    first = (
        await gql(
            ADD,
            {
                "input": {
                    "customerIds": ids,
                    "tagNames": ["vip", "Newsletter", "newsletter"],
                    "source": "IMPORT",
                }
            },
        )
    )["customerTagsAdd"]
    assert first["userErrors"] == []
    assert first["changedCount"] == 6
    assert sorted((t["name"], t["source"]) for t in first["tags"]) == [
        ("Newsletter", "IMPORT"),  # created by this call, with the source given
        ("VIP", "MANUAL"),  # the existing tag, found ignoring case
    ]
    assert [c["tags"] for c in first["customers"]] == [
        [{"name": "Newsletter"}, {"name": "VIP"}]
    ] * 3

    replay = await gql(ADD, {"input": {"customerIds": ids, "tagNames": ["VIP", "newsletter"]}})
    assert replay["customerTagsAdd"]["changedCount"] == 0
    assert await tag_counts(gql) == {"Newsletter": 3, "VIP": 3}


async def test_add_by_tag_id(gql):
    ids = await customers(gql, "a")
    vip = await create(gql, name="VIP")
    data = await gql(ADD, {"input": {"customerIds": ids, "tagIds": [vip["id"], vip["id"]]}})
    assert data["customerTagsAdd"]["changedCount"] == 1
    assert await tag_counts(gql) == {"VIP": 1}


async def test_remove_tags_from_customers(gql):
    ids = await customers(gql, "a", "b", "c")
    await gql(ADD, {"input": {"customerIds": ids, "tagNames": ["VIP", "news"]}})
    removed = (await gql(REMOVE, {"input": {"customerIds": ids[:2], "tagNames": ["vip"]}}))[
        "customerTagsRemove"
    ]
    assert removed["changedCount"] == 2
    assert [c["tags"] for c in removed["customers"]] == [[{"name": "news"}]] * 2
    again = await gql(REMOVE, {"input": {"customerIds": ids[:2], "tagNames": ["vip"]}})
    assert again["customerTagsRemove"]["changedCount"] == 0
    # Removing a name nobody has made is not an error and creates nothing.
    unknown = await gql(REMOVE, {"input": {"customerIds": ids, "tagNames": ["ghost"]}})
    assert unknown["customerTagsRemove"]["changedCount"] == 0
    assert await tag_counts(gql) == {"VIP": 1, "news": 3}


async def test_tag_customers_connection(gql):
    ids = await customers(gql, "a", "b", "c", "d")
    await gql(ADD, {"input": {"customerIds": ids[1:], "tagNames": ["VIP"]}})
    query = """query($after: String) { tag(name: "VIP") { name
                 customers(first: 2, after: $after) { totalCount edges { node { externalId } }
                   pageInfo { hasNextPage endCursor } } } }"""
    page = (await gql(query))["tag"]["customers"]
    assert page["totalCount"] == 3
    assert [e["node"]["externalId"] for e in page["edges"]] == ["d", "c"]
    rest = (await gql(query, {"after": page["pageInfo"]["endCursor"]}))["tag"]["customers"]
    assert [e["node"]["externalId"] for e in rest["edges"]] == ["b"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_tags_list_search_and_order(gql):
    for name in ("beta", "Alpha", "gamma_1", "gammax1"):
        await create(gql, name=name)
    data = await gql(TAGS)
    assert [e["node"]["name"] for e in data["tags"]["edges"]] == [
        "Alpha",
        "beta",
        "gamma_1",
        "gammax1",
    ]
    found = await gql('{ tags(search: "GAMMA_") { totalCount edges { node { name } } } }')
    assert found["tags"]["totalCount"] == 1  # "_" is a character, not a wildcard
    assert (await gql('{ tags(search: "%") { totalCount } }'))["tags"]["totalCount"] == 0


async def test_node_resolves_customer_tag_and_api_key(gql, database):
    from domain.access import Role
    from tests.conftest import make_key

    [customer] = await customers(gql, "a")
    tag = await create(gql, name="VIP")
    key = (await gql("{ apiKeys { id name } }"))["apiKeys"][0]
    query = """query($id: ID!) { node(id: $id) { __typename id
                 ... on Customer { externalId } ... on Tag { name } ... on ApiKey { name } } }"""
    assert (await gql(query, {"id": customer}))["node"] == {
        "__typename": "Customer",
        "id": customer,
        "externalId": "a",
    }
    assert (await gql(query, {"id": tag["id"]}))["node"] == {
        "__typename": "Tag",
        "id": tag["id"],
        "name": "VIP",
    }
    assert (await gql(query, {"id": key["id"]}))["node"] == {
        "__typename": "ApiKey",
        "id": key["id"],
        "name": key["name"],
    }
    assert (await gql(query, {"id": "bm9wZTox"}))["node"] is None  # "nope:1"
    assert (await gql(query, {"id": "%%%"}))["node"] is None

    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    assert (await analyst(query, {"id": tag["id"]}))["node"]["name"] == "VIP"
    body = await analyst.raw(query, {"id": key["id"]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_concurrent_imports_creating_the_same_tag_name(gql):
    """Parallel imports that both create "Newsletter" share one tag; none fails."""
    ids = await customers(gql, "a", "b", "c", "d")
    results = await asyncio.gather(
        *(gql(ADD, {"input": {"customerIds": [cid], "tagNames": ["Newsletter"]}}) for cid in ids),
        gql(CREATE, {"input": {"name": "newsletter"}}),
    )
    adds = [r["customerTagsAdd"] for r in results[:-1]]
    assert all(a["userErrors"] == [] and a["changedCount"] == 1 for a in adds)
    created = results[-1]["tagCreate"]
    assert created["tag"] is not None or created["userErrors"][0]["code"] == "TAKEN"
    assert list((await tag_counts(gql)).values()) == [4]
