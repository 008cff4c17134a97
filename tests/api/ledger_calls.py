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
