"""GraphQL documents and small steps the reward tests share, written as a storefront,
an admin tool and a mini-program would send them."""

from __future__ import annotations

from domain.audit import audit
from persistence.database import Database
from persistence.points import audit_figures

REWARD_FIELDS = """id name pointsCost kind value stock limitPerCustomer lowestTier { id }
  activeFrom activeUntil archivedAt active"""

CREATE = f"""
mutation($input: RewardCreateInput!) {{
  rewardCreate(input: $input) {{ reward {{ {REWARD_FIELDS} }} userErrors {{ field message code }} }}
}}"""

UPDATE = f"""
mutation($input: RewardUpdateInput!) {{
  rewardUpdate(input: $input) {{ reward {{ {REWARD_FIELDS} }} userErrors {{ field message code }} }}
}}"""

ARCHIVE = f"""
mutation($input: RewardArchiveInput!) {{
  rewardArchive(input: $input) {{ reward {{ {REWARD_FIELDS} }} userErrors {{ field message code }} }}
}}"""

REWARDS = """
query($filter: RewardFilter, $first: Int, $after: String) {
  rewards(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id name pointsCost }
  }
}"""

REDEMPTION_FIELDS = """id code status pointsSpent issuedAt usedAt cancelledAt
  reward { id name stock } customer { id }"""

REDEEM = f"""
mutation($input: RewardRedeemInput!) {{
  rewardRedeem(input: $input) {{
    replayed
    redemption {{ {REDEMPTION_FIELDS} }}
    customer {{ points {{ available }} }}
    userErrors {{ field message code }}
  }}
}}"""

USE = f"""
mutation($code: String!) {{
  redemptionUse(input: {{code: $code}}) {{
    redemption {{ {REDEMPTION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

CANCEL = f"""
mutation($input: RedemptionCancelInput!) {{
  redemptionCancel(input: $input) {{
    replayed
    redemption {{ {REDEMPTION_FIELDS} }}
    customer {{ points {{ available }} }}
    userErrors {{ field message code }}
  }}
}}"""

UPSERT = """
mutation($externalId: String!) {
  customerUpsert(input: {externalId: $externalId, name: "Reward Tester"}) {
    customer { id }
  }
}"""

ADJUST = """
mutation($input: PointsAdjustInput!) {
  pointsAdjust(input: $input) { entry { balanceAfter } userErrors { code message } }
}"""

ACCOUNT = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    points { available expiringSoon(days: 3650) { points at } }
    ledger(first: 100) { nodes { kind points balanceAfter redemption { id } } }
    redemptions(first: 100) { totalCount nodes { id status code } }
  } }
}"""

TOKEN = """
mutation($customerId: ID!) {
  customerTokenCreate(input: {customerId: $customerId, ttlSeconds: 600}) {
    token userErrors { code message }
  }
}"""


async def new_customer(gql, external_id: str, points: int = 0) -> str:  # noqa: ANN001
    data = await gql(UPSERT, {"externalId": external_id})
    customer_id = data["customerUpsert"]["customer"]["id"]
    if points:
        await give_points(gql, customer_id, points, f"seed-{external_id}")
    return customer_id


async def give_points(gql, customer_id: str, points: int, key: str) -> None:  # noqa: ANN001
    data = await gql(
        ADJUST,
        {
            "input": {
                "customerId": customer_id,
                "points": points,
                "reason": "test",
                "idempotencyKey": key,
            }
        },
    )
    assert data["pointsAdjust"]["userErrors"] == []


async def new_reward(gql, **fields) -> dict:  # noqa: ANN001, ANN003
    given = {"name": "Coffee voucher", "pointsCost": 100, "kind": "FREE_PRODUCT", **fields}
    data = await gql(CREATE, {"input": given})
    assert data["rewardCreate"]["userErrors"] == [], data
    return data["rewardCreate"]["reward"]


async def redeem(gql, customer_id: str, reward_id: str, key: str) -> dict:  # noqa: ANN001
    data = await gql(
        REDEEM, {"input": {"customerId": customer_id, "rewardId": reward_id, "idempotencyKey": key}}
    )
    return data["rewardRedeem"]


async def account(gql, customer_id: str) -> dict:  # noqa: ANN001
    return (await gql(ACCOUNT, {"id": customer_id}))["node"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def assert_ledger_clean(database: Database) -> None:
    async with database.sessions() as session:
        figures = await audit_figures(session)
    assert figures, "the audit saw no customers"
    assert audit(figures) == []
