"""GraphQL documents the order/points tests share, written as a storefront would."""

RECORD = """
mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) {
    replayed
    order { id externalId pointsEarned pointsReversed counted amount { amount currency } }
    customer { id ordersCount totalSpent { amount } points { available pending debt lifetimeEarned } }
    userErrors { field message code }
  }
}"""

REFUND = """
mutation($input: OrderRefundInput!) {
  orderRefund(input: $input) {
    replayed
    order { refundedAmount { amount } pointsReversed counted }
    refund { amount { amount } pointsReversed }
    userErrors { field message code }
  }
}"""

ADJUST = """
mutation($input: PointsAdjustInput!) {
  pointsAdjust(input: $input) {
    replayed
    entry { kind points balanceAfter reason }
    customer { points { available } }
    userErrors { field message code }
  }
}"""

POINTS = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    ordersCount totalSpent { amount } firstOrderAt lastOrderAt
    points { available pending debt lifetimeEarned expiringSoon(days: 400) { points at } }
    ledger(first: 100) { edges { node { kind points balanceAfter reason order { externalId } } } }
  } }
}"""


def order_input(
    external_id: str,
    amount: str,
    *,
    customer: str = "c-1",
    placed_at: str,
    award_points: bool = True,
    **extra,
) -> dict:  # noqa: ANN003
    return {
        "externalId": external_id,
        "customer": {"externalId": customer, "name": "Test Shopper"},
        "amount": amount,
        "currency": "CNY",
        "placedAt": placed_at,
        "awardPoints": award_points,
        **extra,
    }


LEDGER = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    points { available debt }
    ledger(first: 100) { edges { node { kind points balanceAfter } } }
  } }
}"""


def by_id(customer_id: str, external_id: str, amount: str, placed_at: str, **extra) -> dict:  # noqa: ANN003
    """An orderRecord input for a customer we already know by global ID."""
    return {
        "externalId": external_id,
        "customer": {"id": customer_id},
        "amount": amount,
        "currency": "CNY",
        "placedAt": placed_at,
        **extra,
    }


def adjust_input(customer_id: str, points: int, key: str, reason: str = "goodwill") -> dict:
    return {"customerId": customer_id, "points": points, "reason": reason, "idempotencyKey": key}


async def ledger_of(gql, customer_id: str) -> tuple[dict, list[dict]]:  # noqa: ANN001
    """The customer's balances and ledger entries (newest first)."""
    node = (await gql(LEDGER, {"id": customer_id}))["node"]
    return node["points"], [edge["node"] for edge in node["ledger"]["edges"]]
