"""Recording NPS and CSAT answers, and reading them back on the customer."""

from __future__ import annotations

from sqlalchemy import insert

from api import ids
from domain.access import Role
from persistence.orders import OrderRow
from tests.conftest import make_key, utc

RECORD = """mutation($input: FeedbackRecordInput!) { feedbackRecord(input: $input) {
  feedback { id kind score comment order { id externalId } customer { externalId } }
  userErrors { field code message } } }"""

UPSERT = (
    """mutation($id: String!) { customerUpsert(input: {externalId: $id}) { customer { id } } }"""
)


async def customer(gql, external_id: str) -> str:
    return (await gql(UPSERT, {"id": external_id}))["customerUpsert"]["customer"]["id"]


async def order_of(database, customer_gid: str, external_id: str) -> str:
    async with database.sessions() as session, session.begin():
        result = await session.execute(
            insert(OrderRow).returning(OrderRow.id),
            {
                "customer_id": ids.decode(customer_gid, "Customer"),
                "external_id": external_id,
                "amount": 10,
                "currency": "CNY",
                "placed_at": utc(2026, 4, 1),
                "award_points": True,
                "request_hash": "-",
                "created_at": utc(2026, 4, 1),
            },
        )
        return ids.encode("Order", result.scalar_one())


async def test_a_storefront_records_answers_that_the_customer_lists(gql, database):
    li = await customer(gql, "li")
    order = await order_of(database, li, "o-1")
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    first = await storefront(
        RECORD,
        {
            "input": {
                "customerId": li,
                "kind": "NPS",
                "score": 9,
                "comment": " Great ",
                "orderId": order,
            }
        },
    )
    assert first["feedbackRecord"]["userErrors"] == []
    assert first["feedbackRecord"]["feedback"] == {
        "id": first["feedbackRecord"]["feedback"]["id"],
        "kind": "NPS",
        "score": 9,
        "comment": "Great",
        "order": {"id": order, "externalId": "o-1"},
        "customer": {"externalId": "li"},
    }
    unrelated = await storefront(RECORD, {"input": {"customerId": li, "kind": "CSAT", "score": 1}})
    assert unrelated["feedbackRecord"]["feedback"]["order"] is None
    data = await gql(
        """query($id: ID!) { customer(id: $id) { feedback(first: 1) {
             totalCount nodes { kind score } pageInfo { hasNextPage endCursor } } } }""",
        {"id": li},
    )
    page = data["customer"]["feedback"]
    assert page["totalCount"] == 2
    assert page["nodes"] == [{"kind": "CSAT", "score": 1}]  # newest first
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql(
        """query($id: ID!, $after: String) { customer(id: $id) { feedback(after: $after) {
             nodes { kind score order { externalId } } } } }""",
        {"id": li, "after": page["pageInfo"]["endCursor"]},
    )
    assert rest["customer"]["feedback"]["nodes"] == [
        {"kind": "NPS", "score": 9, "order": {"externalId": "o-1"}}
    ]


async def test_refusals_name_the_field_at_fault(gql, database):
    li = await customer(gql, "li")
    wang = await customer(gql, "wang")
    wangs_order = await order_of(database, wang, "o-2")
    cases = [
        ({"customerId": li, "kind": "NPS", "score": 11}, ["input", "score"], "INVALID"),
        ({"customerId": li, "kind": "CSAT", "score": 0}, ["input", "score"], "INVALID"),
        (
            {"customerId": li, "kind": "NPS", "score": 5, "comment": "x" * 2001},
            ["input", "comment"],
            "TOO_LONG",
        ),
        (
            {"customerId": ids.encode("Customer", 999), "kind": "NPS", "score": 5},
            ["input", "customerId"],
            "NOT_FOUND",
        ),
        (
            {"customerId": li, "kind": "NPS", "score": 5, "orderId": ids.encode("Order", 999)},
            ["input", "orderId"],
            "NOT_FOUND",
        ),
        (
            {"customerId": li, "kind": "NPS", "score": 5, "orderId": wangs_order},
            ["input", "orderId"],
            "INVALID",
        ),
        (
            {"customerId": wangs_order, "kind": "NPS", "score": 5},
            ["input", "customerId"],
            "WRONG_TYPE",
        ),
    ]
    for given, field, code in cases:
        payload = (await gql(RECORD, {"input": given}))["feedbackRecord"]
        assert payload["feedback"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], given
    listed = await gql(
        "query($id: ID!) { customer(id: $id) { feedback { totalCount } } }", {"id": li}
    )
    assert listed["customer"]["feedback"]["totalCount"] == 0  # nothing refused was written


async def test_an_analyst_may_not_record_feedback(gql, database):
    li = await customer(gql, "li")
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    body = await analyst.raw(RECORD, {"input": {"customerId": li, "kind": "NPS", "score": 5}})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
