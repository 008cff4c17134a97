"""After B is merged into A, every mutation that takes a bare customer `ID` and is sent
B's id acts on A — a storefront or admin tool that stored B's id before the merge keeps
working — and erasing the person erases B's record too (docs/merging.md)."""

from __future__ import annotations

from sqlalchemy import select

from api.ids import decode
from persistence.customers import CustomerRow
from persistence.feedback import FeedbackRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.coupon_calls import issue, new_template
from tests.api.test_merging import merge, record, upsert

TAGS_ADD = """mutation($ids: [ID!]!) { customerTagsAdd(input: {customerIds: $ids,
  tagNames: ["after-merge"]}) { customers { id } changedCount userErrors { code } } }"""
FEEDBACK = """mutation($input: FeedbackRecordInput!) { feedbackRecord(input: $input) {
  feedback { id } userErrors { field code } } }"""
UPDATE = """mutation($id: ID!) { customerUpdate(input: {id: $id, city: "Suzhou"}) {
  customer { id externalId city } userErrors { field code } } }"""
ERASE = """mutation($id: ID!) { customerErase(input: {id: $id}) {
  customer { id erasedAt } userErrors { field code } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) {
  token userErrors { field code } } }"""
TAGS_OF = "query($id: ID!) { customer(id: $id) { tags { name } } }"


async def merged_pair(gql) -> tuple[str, str]:
    a = await upsert(gql, "a", email="a@example.com", phone="13800138000")
    b = await upsert(gql, "b", email="b@example.com", phone="13900139000")
    return a, b


async def test_tags_for_a_merged_id_go_to_the_survivor(gql):
    a, b = await merged_pair(gql)
    await merge(gql, a, b)
    tagged = (await gql(TAGS_ADD, {"ids": [b, a]}))["customerTagsAdd"]
    assert tagged["userErrors"] == []
    assert tagged["customers"] == [{"id": a}]  # one person, named twice
    assert tagged["changedCount"] == 1
    assert (await gql(TAGS_OF, {"id": a}))["customer"]["tags"] == [{"name": "after-merge"}]


async def test_feedback_for_a_merged_id_and_its_old_order_is_the_survivors(gql, database, clock):
    a, b = await merged_pair(gql)
    await record(gql, "b", "b-order", "20.00", clock.now())
    order_id = (await gql('{ order(externalId: "b-order") { id } }'))["order"]["id"]
    await merge(gql, a, b)
    given = {"customerId": b, "kind": "NPS", "score": 9, "orderId": order_id}
    recorded = (await gql(FEEDBACK, {"input": given}))["feedbackRecord"]
    assert recorded["userErrors"] == []
    async with SqlUnitOfWork(database) as uow:
        owners = (await uow.session.execute(select(FeedbackRow.customer_id))).scalars().all()
    assert owners == [decode(a, "Customer")]


async def test_a_coupon_issued_to_a_merged_id_is_the_survivors_and_replays(gql):
    a, b = await merged_pair(gql)
    template = await new_template(gql)
    await merge(gql, a, b)
    first = await issue(gql, template["id"], b, key="after-merge")
    assert first["userErrors"] == []
    coupons = await gql(
        "query($id: ID!) { customer(id: $id) { coupons { edges { node { id } } } } }", {"id": a}
    )
    edges = coupons["customer"]["coupons"]["edges"]
    assert edges == [{"node": {"id": first["coupon"]["id"]}}]
    again = await issue(gql, template["id"], b, key="after-merge")
    assert (again["replayed"], again["coupon"]["id"]) == (True, first["coupon"]["id"])


async def test_an_update_by_a_merged_id_changes_the_survivors_profile(gql, database):
    a, b = await merged_pair(gql)
    await merge(gql, a, b)
    updated = (await gql(UPDATE, {"id": b}))["customerUpdate"]
    assert updated["userErrors"] == []
    assert updated["customer"] == {"id": a, "externalId": "a", "city": "Suzhou"}
    async with SqlUnitOfWork(database) as uow:
        b_city = await uow.session.scalar(
            select(CustomerRow.city).where(CustomerRow.id == decode(b, "Customer"))
        )
    assert b_city is None


async def test_a_token_for_a_merged_id_acts_for_the_survivor(gql):
    a, b = await merged_pair(gql)
    await merge(gql, a, b)
    created = (await gql(TOKEN, {"id": b}))["customerTokenCreate"]
    assert created["userErrors"] == []
    me = await gql.as_key(created["token"])("{ me { id } }")
    assert me["me"] == {"id": a}


async def test_erasing_the_person_erases_the_merged_record_too(gql, database):
    a, b = await merged_pair(gql)
    await merge(gql, a, b)
    erased = (await gql(ERASE, {"id": b}))["customerErase"]
    assert erased["userErrors"] == []
    assert erased["customer"]["id"] == a and erased["customer"]["erasedAt"] is not None
    async with SqlUnitOfWork(database) as uow:
        rows = (
            await uow.session.execute(
                select(
                    CustomerRow.id,
                    CustomerRow.external_id,
                    CustomerRow.email,
                    CustomerRow.phone,
                    CustomerRow.name,
                    CustomerRow.erased_at.is_not(None),
                ).order_by(CustomerRow.id)
            )
        ).all()
    assert [row[1:] for row in rows] == [
        (f"erased:{row[0]}", None, None, None, True) for row in rows
    ]
    # Neither externalId finds anyone now.
    for external_id in ("a", "b"):
        found = await gql(
            "query($e: String!) { customer(externalId: $e) { id } }", {"e": external_id}
        )
        assert found["customer"] is None
