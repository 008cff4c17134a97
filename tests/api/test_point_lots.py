"""`CustomerPoints.lots`: every lot of a customer with its state and dates, newest
first and paged; a customer token reads its own through `me`; and 100 customers'
lots cost the same statements as 10 (one page query and one count query)."""

from __future__ import annotations

from datetime import timedelta

from domain.access import Role
from tests.api.ledger_calls import RECORD, order_input
from tests.api.test_statement_count import counting
from tests.conftest import make_key

PROGRAM = """mutation { programUpdate(input: {pendingDays: 7, expiryDays: 365}) {
  userErrors { field code } } }"""
ADJUST = """mutation($id: ID!) { pointsAdjust(input: {customerId: $id, points: 40,
  reason: "goodwill", idempotencyKey: "adj-1"}) { userErrors { field code } } }"""
LOTS = """query($id: String!, $first: Int, $after: String) { customer(externalId: $id) {
  id points { available pending lots(first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { kind points remaining state availableAt expiresAt createdAt } } } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) {
  token } }"""
ME = "{ me { points { lots(first: 10) { totalCount nodes { kind points state } } } } }"
MANY = """query($first: Int!) { customers(first: $first) { nodes {
  points { lots(first: 3) { totalCount nodes { points remaining state expiresAt } } } } } }"""


async def test_lots_show_state_and_dates_newest_first(gql, database, clock):  # noqa: ANN001
    assert (await gql(PROGRAM))["programUpdate"]["userErrors"] == []
    placed = clock.now() - timedelta(days=30)
    old = order_input("o-1", "100.00", customer="c-1", placed_at=placed.isoformat())
    assert (await gql(RECORD, {"input": old}))["orderRecord"]["userErrors"] == []
    new = order_input("o-2", "50.00", customer="c-1", placed_at=clock.now().isoformat())
    assert (await gql(RECORD, {"input": new}))["orderRecord"]["userErrors"] == []
    customer_id = (await gql(LOTS, {"id": "c-1"}))["customer"]["id"]
    assert (await gql(ADJUST, {"id": customer_id}))["pointsAdjust"]["userErrors"] == []

    points = (await gql(LOTS, {"id": "c-1", "first": 2}))["customer"]["points"]
    page = points["lots"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"]
    adjusted, pending = page["nodes"]
    assert (adjusted["kind"], adjusted["points"], adjusted["state"]) == ("ADJUST", 40, "AVAILABLE")
    assert (pending["kind"], pending["state"]) == ("EARN", "PENDING")
    assert pending["remaining"] == pending["points"] == points["pending"]
    assert pending["availableAt"] > pending["createdAt"]
    assert pending["expiresAt"] is not None and pending["expiresAt"] > pending["availableAt"]

    rest = await gql(LOTS, {"id": "c-1", "first": 2, "after": page["pageInfo"]["endCursor"]})
    [first_order] = rest["customer"]["points"]["lots"]["nodes"]
    assert (first_order["kind"], first_order["state"]) == ("EARN", "AVAILABLE")
    assert first_order["points"] + adjusted["points"] == points["available"]

    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    token = (await storefront(TOKEN, {"id": customer_id}))["customerTokenCreate"]["token"]
    mine = (await gql.as_key(token)(ME))["me"]["points"]["lots"]
    assert mine["totalCount"] == 3
    assert [n["kind"] for n in mine["nodes"]] == ["ADJUST", "EARN", "EARN"]

    refused = await gql.raw(LOTS, {"id": "c-1", "first": 101})
    assert "first must be between 0 and 100" in refused["errors"][0]["message"]


async def test_lots_of_100_customers_cost_what_10_cost(gql, database, clock):  # noqa: ANN001
    at = clock.now().isoformat()
    inputs = [
        order_input(f"o-{n}-{k}", "20.00", customer=f"c-{n:03d}", placed_at=at)
        for n in range(100)
        for k in range(2)
    ]
    bulk = """mutation($inputs: [OrderRecordInput!]!) { ordersRecordBulk(inputs: $inputs) {
      userErrors { code } } }"""
    for start in range(0, len(inputs), 100):
        done = await gql(bulk, {"inputs": inputs[start : start + 100]})
        assert done["ordersRecordBulk"]["userErrors"] == []

    counts = []
    for parents in (10, 100):
        with counting(database) as counter:
            found = (await gql(MANY, {"first": parents}))["customers"]["nodes"]
        assert len(found) == parents
        assert all(c["points"]["lots"]["totalCount"] == 2 for c in found)
        assert all(len(c["points"]["lots"]["nodes"]) == 2 for c in found)
        counts.append(len(counter.statements))
    assert counts[0] == counts[1], counts
