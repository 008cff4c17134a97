"""Erasure on request (PIPL/GDPR): personal data goes, the record stays."""

from __future__ import annotations

from api.ids import decode

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { created customer { id } userErrors { field code } } }"""
ERASE = """mutation($id: ID!) { customerErase(input: {id: $id}) {
  customer { id externalId email phone name birthday gender city attributes erasedAt
             acquisitionChannel }
  userErrors { field code message } } }"""
FIND = """query($search: String, $erased: Boolean!) {
  customers(first: 10, filter: {search: $search, includeErased: $erased}) {
    totalCount edges { node { id } } } }"""

PROFILE = {
    "externalId": "shop-42",
    "email": "li.na@example.com",
    "phone": "+86 138 0013 8000",
    "name": "李娜",
    "birthday": "1990-05-12",
    "gender": "FEMALE",
    "city": "Shanghai",
    "acquisitionChannel": "wechat",
    "attributes": {"size": "M", "vip": True},
}


async def erased_customer(gql) -> tuple[str, dict]:
    customer_id = (await gql(UPSERT, {"input": PROFILE}))["customerUpsert"]["customer"]["id"]
    await gql(
        """mutation($ids: [ID!]!) { customerTagsAdd(input: {customerIds: $ids, tagNames: ["VIP"]})
             { changedCount } }""",
        {"ids": [customer_id]},
    )
    payload = (await gql(ERASE, {"id": customer_id}))["customerErase"]
    assert payload["userErrors"] == []
    return customer_id, payload["customer"]


async def ids_found(gql, search: str | None, *, erased: bool = False) -> list[str]:
    data = await gql(FIND, {"search": search, "erased": erased})
    return [e["node"]["id"] for e in data["customers"]["edges"]]


async def test_erasure_replaces_personal_data_and_keeps_the_record(gql):
    customer_id, erased = await erased_customer(gql)
    assert erased == {
        "id": customer_id,
        "externalId": f"erased:{decode(customer_id, 'Customer')}",
        "email": None,
        "phone": None,
        "name": None,
        "birthday": None,
        "gender": None,
        "city": None,
        "attributes": {},
        "erasedAt": erased["erasedAt"],
        "acquisitionChannel": "wechat",  # a marketing channel, not personal data
    }
    assert erased["erasedAt"] is not None

    node = await gql(
        "query($id: ID!) { node(id: $id) { id ... on Customer { erasedAt email } } }",
        {"id": customer_id},
    )
    assert node["node"] == {"id": customer_id, "erasedAt": erased["erasedAt"], "email": None}


async def test_old_identifiers_no_longer_find_the_customer(gql):
    customer_id, _ = await erased_customer(gql)
    for search in ("li.na@example.com", "13800138000", "shop-42", "李娜"):
        assert await ids_found(gql, search, erased=True) == [], search
    data = await gql('{ customer(externalId: "shop-42") { id } }')
    assert data["customer"] is None


async def test_erased_customers_are_hidden_unless_asked_for(gql):
    customer_id, _ = await erased_customer(gql)
    other = (await gql(UPSERT, {"input": {"externalId": "shop-43"}}))["customerUpsert"]
    assert await ids_found(gql, None) == [other["customer"]["id"]]
    assert await ids_found(gql, None, erased=True) == [other["customer"]["id"], customer_id]
    # ...and no longer counted on their tags.
    data = await gql('{ tag(name: "VIP") { customerCount customers { totalCount } } }')
    assert data["tag"] == {"customerCount": 0, "customers": {"totalCount": 0}}


async def test_an_erased_customer_cannot_be_changed_or_erased_again(gql):
    customer_id, _ = await erased_customer(gql)
    data = await gql(
        """mutation($id: ID!) { customerUpdate(input: {id: $id, name: "Back"}) {
             customer { id } userErrors { field code } } }""",
        {"id": customer_id},
    )
    assert data["customerUpdate"] == {
        "customer": None,
        "userErrors": [{"field": ["input", "id"], "code": "ERASED"}],
    }
    again = (await gql(ERASE, {"id": customer_id}))["customerErase"]
    assert [e["code"] for e in again["userErrors"]] == ["ERASED"]


async def test_the_old_external_id_starts_a_new_customer(gql):
    customer_id, erased = await erased_customer(gql)
    data = await gql(UPSERT, {"input": {"externalId": "shop-42", "name": "Someone new"}})
    assert data["customerUpsert"]["created"] is True
    assert data["customerUpsert"]["customer"]["id"] != customer_id


async def test_the_erased_placeholder_id_cannot_be_upserted(gql):
    customer_id, erased = await erased_customer(gql)
    data = await gql(UPSERT, {"input": {"externalId": erased["externalId"], "name": "Li Na"}})
    assert data["customerUpsert"] == {
        "created": False,
        "customer": None,
        "userErrors": [{"field": ["input", "externalId"], "code": "INVALID"}],
    }
    # A live customer cannot take the placeholder of a customer erased later either.
    data = await gql(UPSERT, {"input": {"externalId": "erased:999"}})
    assert data["customerUpsert"]["userErrors"] == [
        {"field": ["input", "externalId"], "code": "INVALID"}
    ]
