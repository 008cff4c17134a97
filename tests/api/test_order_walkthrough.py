"""A storefront's order → points → refund walk-through, end to end over GraphQL."""

from tests.api.ledger_calls import ADJUST, POINTS, RECORD, REFUND, order_input


async def test_order_earns_points_and_refund_reverses_them(gql):
    first = await gql(
        RECORD, {"input": order_input("o-1", "199.99", placed_at="2026-11-01T10:00:00+08:00")}
    )
    payload = first["orderRecord"]
    assert payload["userErrors"] == []
    assert payload["order"]["pointsEarned"] == 199
    assert payload["customer"]["points"]["available"] == 199
    assert payload["customer"]["ordersCount"] == 1

    replay = await gql(
        RECORD, {"input": order_input("o-1", "199.99", placed_at="2026-11-01T10:00:00+08:00")}
    )
    assert replay["orderRecord"]["replayed"] is True
    assert replay["orderRecord"]["customer"]["points"]["available"] == 199

    refund = await gql(
        REFUND, {"input": {"orderExternalId": "o-1", "amount": "100.00", "idempotencyKey": "r-1"}}
    )
    assert refund["orderRefund"]["userErrors"] == []
    # floor(199 earned × 100 refunded / 199.99 paid) = floor(99.505) = 99
    assert refund["orderRefund"]["refund"]["pointsReversed"] == 99

    customer_id = payload["customer"]["id"]
    data = await gql(POINTS, {"id": customer_id})
    node = data["node"]
    kinds = [e["node"]["kind"] for e in node["ledger"]["edges"]]
    assert kinds == ["REVERSE", "EARN"]
    assert node["points"]["available"] == 199 - refund["orderRefund"]["refund"]["pointsReversed"]

    debit = await gql(
        ADJUST,
        {
            "input": {
                "customerId": customer_id,
                "points": -50,
                "reason": "test",
                "idempotencyKey": "a-1",
            }
        },
    )
    assert debit["pointsAdjust"]["userErrors"] == []
    assert debit["pointsAdjust"]["entry"]["balanceAfter"] == 100 - 50
    too_much = await gql(
        ADJUST,
        {
            "input": {
                "customerId": customer_id,
                "points": -51,
                "reason": "test",
                "idempotencyKey": "a-2",
            }
        },
    )
    assert [e["code"] for e in too_much["pointsAdjust"]["userErrors"]] == ["INSUFFICIENT_POINTS"]


TIERS = """mutation { a: tierCreate(input: {name: "Bronze", rank: 1, threshold: "0", earnMultiplier: "1.0"}) { userErrors { code } }
                     b: tierCreate(input: {name: "Silver", rank: 2, threshold: "1000", earnMultiplier: "1.2"}) { userErrors { code } } }"""

TIER_OF = """query($id: ID!) { node(id: $id) { ... on Customer { tier { name } points { available } tierHistory { to { name } reason } } } }"""


async def test_the_order_that_crosses_a_threshold_upgrades_and_the_next_earns_more(gql):
    await gql(TIERS)
    first = await gql(
        RECORD, {"input": order_input("o-1", "600.00", placed_at="2026-11-01T10:00:00Z")}
    )
    customer_id = first["orderRecord"]["customer"]["id"]
    assert (await gql(TIER_OF, {"id": customer_id}))["node"]["tier"]["name"] == "Bronze"

    await gql(RECORD, {"input": order_input("o-2", "500.00", placed_at="2026-11-02T10:00:00Z")})
    after = (await gql(TIER_OF, {"id": customer_id}))["node"]
    assert after["tier"]["name"] == "Silver"  # 600 + 500 points ≥ 1000, in the same transaction
    assert [h["to"]["name"] for h in after["tierHistory"]] == ["Silver", "Bronze"]

    third = await gql(
        RECORD, {"input": order_input("o-3", "100.00", placed_at="2026-11-03T10:00:00Z")}
    )
    assert third["orderRecord"]["order"]["pointsEarned"] == 120  # floor(100 × 1 × 1.2)
