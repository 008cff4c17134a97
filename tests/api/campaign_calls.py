"""GraphQL documents and steps the campaign tests share, written as a marketer's
admin tool and a sending system would send them."""

from __future__ import annotations

from datetime import datetime

from tests.api.ledger_calls import RECORD, REFUND, order_input

CAMPAIGN_FIELDS = """id name channel holdoutShare attributionDays startsAt endsAt startedAt
  archivedAt isAbTest segment { id name } variants { name weight messageTemplate
  couponTemplate { id } }"""

CREATE = f"""
mutation($input: CampaignCreateInput!) {{
  campaignCreate(input: $input) {{
    campaign {{ {CAMPAIGN_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

UPDATE = f"""
mutation($input: CampaignUpdateInput!) {{
  campaignUpdate(input: $input) {{
    campaign {{ {CAMPAIGN_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

ARCHIVE = """
mutation($id: ID!) {
  campaignArchive(input: {id: $id}) { campaign { id archivedAt } userErrors { field code } }
}"""

START = """
mutation($id: ID!) {
  campaignStart(input: {id: $id}) {
    audienceSize campaign { id startedAt } userErrors { field message code }
  }
}"""

CAMPAIGNS = """
query($first: Int, $after: String, $archived: Boolean) {
  campaigns(first: $first, after: $after, includeArchived: $archived) {
    totalCount edges { cursor node { id name } } pageInfo { hasNextPage endCursor }
  }
}"""

AUDIENCE = """
query($id: ID!, $first: Int, $after: String) {
  campaign(id: $id) {
    audience(first: $first, after: $after) {
      totalCount
      edges { node { arm holdout inAudience customer { id externalId } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""

VARIANT_FOR = """
query($campaign: ID!, $customer: ID!) {
  campaignVariantFor(campaignId: $campaign, customerId: $customer) {
    arm holdout inAudience customer { id }
  }
}"""

TOUCHPOINTS = """
mutation($inputs: [TouchpointInput!]!) {
  touchpointsRecord(inputs: $inputs) {
    results {
      replayed
      touchpoint { id variant event at flag campaign { id } customer { externalId } }
      userErrors { field message code }
    }
    userErrors { field message code }
  }
}"""

FUNNEL = """
query($id: ID!) {
  campaign(id: $id) {
    funnel {
      arm audience sent delivered opened clicked addedToCart ordered
      sentRate deliveredRate openedRate clickedRate addedToCartRate orderedRate
      conversionRate attributedOrders attributedRevenue { amount currency } incrementalLift
    }
    abTest {
      verdict
      comparisons {
        variant baseline lift relativeLift liftCiLow liftCiHigh z pValue
        sampleSizeNeeded moreNeeded verdict winner
      }
    }
  }
}"""

ORDER_ATTRIBUTION = """
query($id: ID!) {
  node(id: $id) { ... on Order { externalId counted attribution { variant campaign { id name } } } }
}"""

CUSTOMER = """
mutation($externalId: String!, $city: String) {
  customerUpsert(input: {externalId: $externalId, name: "Campaign Tester", city: $city}) {
    customer { id }
  }
}"""

SEGMENT = """
mutation($name: String!, $rule: String!) {
  segmentCreate(input: {name: $name, rule: $rule}) { segment { id } userErrors { code } }
}"""

DELETE_SEGMENT = """
mutation($id: ID!) { segmentDelete(input: {id: $id}) { userErrors { code } } }"""


async def new_customer(gql, external_id: str, city: str | None = "上海") -> str:  # noqa: ANN001
    data = await gql(CUSTOMER, {"externalId": external_id, "city": city})
    return data["customerUpsert"]["customer"]["id"]


async def new_segment(gql, name: str = "上海会员", rule: str = 'city = "上海"') -> str:  # noqa: ANN001
    data = await gql(SEGMENT, {"name": name, "rule": rule})
    assert data["segmentCreate"]["userErrors"] == [], data
    return data["segmentCreate"]["segment"]["id"]


def campaign_input(segment_id: str, starts_at: datetime, **fields) -> dict:  # noqa: ANN003
    """A WeChat campaign with two variants (A weighs 1, B weighs 1) and a 20 % holdout,
    unless told otherwise."""
    return {
        "name": "春季回购",
        "channel": "WECHAT",
        "segmentId": segment_id,
        "variants": [
            {"name": "A", "weight": 1, "messageTemplate": "春天好，{name}！"},
            {"name": "B", "weight": 1, "messageTemplate": "满200减30，仅此一周"},
        ],
        "holdoutShare": "0.2",
        "startsAt": starts_at.isoformat(),
        **fields,
    }


async def new_campaign(gql, segment_id: str, starts_at: datetime, **fields) -> dict:  # noqa: ANN001, ANN003
    data = await gql(CREATE, {"input": campaign_input(segment_id, starts_at, **fields)})
    assert data["campaignCreate"]["userErrors"] == [], data
    return data["campaignCreate"]["campaign"]


async def start(gql, campaign_id: str) -> dict:  # noqa: ANN001
    data = await gql(START, {"id": campaign_id})
    return data["campaignStart"]


async def audience(gql, campaign_id: str) -> dict[str, str]:  # noqa: ANN001
    """externalId → arm, every page."""
    found: dict[str, str] = {}
    after = None
    while True:
        data = await gql(AUDIENCE, {"id": campaign_id, "first": 100, "after": after})
        page = data["campaign"]["audience"]
        for edge in page["edges"]:
            found[edge["node"]["customer"]["externalId"]] = edge["node"]["arm"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def touch(
    campaign_id: str, external_id: str, variant: str, event: str, at: datetime, key: str
) -> dict:
    return {
        "campaignId": campaign_id,
        "customer": {"externalId": external_id},
        "variant": variant,
        "event": event,
        "at": at.isoformat(),
        "idempotencyKey": key,
    }


async def record_touchpoints(gql, inputs: list[dict]) -> dict:  # noqa: ANN001
    return (await gql(TOUCHPOINTS, {"inputs": inputs}))["touchpointsRecord"]


async def order(gql, external_id: str, customer: str, amount: str, placed_at: datetime) -> dict:  # noqa: ANN001
    data = await gql(
        RECORD,
        {
            "input": order_input(
                external_id, amount, customer=customer, placed_at=placed_at.isoformat()
            )
        },
    )
    assert data["orderRecord"]["userErrors"] == [], data
    return data["orderRecord"]["order"]


async def refund(gql, order_external_id: str, amount: str, key: str) -> None:  # noqa: ANN001
    data = await gql(
        REFUND,
        {"input": {"orderExternalId": order_external_id, "amount": amount, "idempotencyKey": key}},
    )
    assert data["orderRefund"]["userErrors"] == [], data


async def attribution(gql, order_id: str) -> dict | None:  # noqa: ANN001
    return (await gql(ORDER_ATTRIBUTION, {"id": order_id}))["node"]["attribution"]


async def funnel(gql, campaign_id: str) -> dict:  # noqa: ANN001
    return (await gql(FUNNEL, {"id": campaign_id}))["campaign"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) {
    results { order { id externalId } userErrors { field code } }
    userErrors { field code }
  }
}"""


async def orders_bulk(gql, inputs: list[dict]) -> list[dict]:  # noqa: ANN001
    data = (await gql(BULK, {"inputs": inputs}))["ordersRecordBulk"]
    assert data["userErrors"] == [] and all(r["userErrors"] == [] for r in data["results"]), data
    return [r["order"] for r in data["results"]]
