"""GraphQL documents the earning-rule tests share, written as an admin and a
storefront would."""

from __future__ import annotations

RULE_CREATE = """
mutation($input: EarningRuleCreateInput!) {
  earningRuleCreate(input: $input) {
    earningRule { id name kind priority stackable active
      budget { totalPoints pointsGiven pointsLeft perCustomerPoints perCustomerPeriod } }
    userErrors { field message code }
  }
}"""

RULE_UPDATE = """
mutation($input: EarningRuleUpdateInput!) {
  earningRuleUpdate(input: $input) {
    earningRule { id name priority conditions { daysOfWeek } effect { multiplier } }
    userErrors { field message code }
  }
}"""

RULE_ARCHIVE = """
mutation($id: ID!) {
  earningRuleArchive(input: {id: $id}) {
    earningRule { id archivedAt active }
    userErrors { field message code }
  }
}"""

RULES = """
query($at: DateTime) {
  earningRules(first: 50, filter: {activeAt: $at}) { totalCount edges { node { name } } }
}"""

RECORD = """
mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) {
    order { id externalId pointsEarned
      pointsBreakdown { points eligibleAmount { amount } rule { name } } }
    customer { id points { available } }
    userErrors { field message code }
  }
}"""

PREVIEW = """
query($input: OrderRecordInput!) {
  earningPreview(input: $input) {
    preview { points
      lines { points eligibleAmount { amount } rule { name } pointsWithoutBudget budgetLimited } }
    userErrors { field message code }
  }
}"""

SHOPPER_PREVIEW = """
query($input: OrderRecordInput!) {
  earningPreview(input: $input) {
    preview { points lines { ruleName points budgetLimited } }
    userErrors { field message code }
  }
}"""

REFUND = """
mutation($input: OrderRefundInput!) {
  orderRefund(input: $input) {
    refund { pointsReversed }
    order { pointsReversed }
    userErrors { field message code }
  }
}"""

LEDGER = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    points { available }
    ledger(first: 100) { edges { node { kind points rule { name } order { externalId } } } }
  } }
}"""

PROGRAM_UPDATE = """
mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) { userErrors { field message code } }
}"""


async def create_rule(gql, **fields) -> dict:  # noqa: ANN001, ANN003
    data = await gql(RULE_CREATE, {"input": fields})
    assert data["earningRuleCreate"]["userErrors"] == [], data
    return data["earningRuleCreate"]["earningRule"]


def cart(
    external_id: str,
    amount: str,
    placed_at: str,
    *,
    customer: str = "shopper-1",
    items: list[dict] | None = None,
    **extra,  # noqa: ANN003
) -> dict:
    return {
        "externalId": external_id,
        "customer": {"externalId": customer, "name": "Shopper", **extra.pop("profile", {})},
        "amount": amount,
        "currency": "CNY",
        "placedAt": placed_at,
        "items": items or [],
        **extra,
    }


async def record(gql, order: dict) -> dict:  # noqa: ANN001
    data = await gql(RECORD, {"input": order})
    assert data["orderRecord"]["userErrors"] == [], data
    return data["orderRecord"]


async def preview(gql, order: dict) -> dict:  # noqa: ANN001
    data = await gql(PREVIEW, {"input": order})
    assert data["earningPreview"]["userErrors"] == [], data
    return data["earningPreview"]["preview"]


def lines_of(order: dict) -> list[tuple[str | None, int, str]]:
    return [
        (
            line["rule"]["name"] if line["rule"] else None,
            line["points"],
            line["eligibleAmount"]["amount"],
        )
        for line in order["pointsBreakdown"]
    ]
