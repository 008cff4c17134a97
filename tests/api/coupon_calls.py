"""GraphQL documents and small steps the coupon tests share, written as a marketer's
admin tool, a storefront's checkout and a mini-program would send them."""

from __future__ import annotations

from datetime import datetime

from tests.api.ledger_calls import RECORD, order_input
from tests.api.reward_calls import UPSERT

TEMPLATE_FIELDS = """id name kind amountOff percentOff maxDiscount minSpend productSku audience
  validFrom validUntil validDays perCustomerLimit totalLimit issuedCount stackable archivedAt"""

CREATE_TEMPLATE = f"""
mutation($input: CouponTemplateCreateInput!) {{
  couponTemplateCreate(input: $input) {{
    couponTemplate {{ {TEMPLATE_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

UPDATE_TEMPLATE = f"""
mutation($input: CouponTemplateUpdateInput!) {{
  couponTemplateUpdate(input: $input) {{
    couponTemplate {{ {TEMPLATE_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}"""

COUPON_FIELDS = "id code status validFrom validUntil usedAt orderExternalId template { id }"

ISSUE = f"""
mutation($input: CouponIssueInput!) {{
  couponIssue(input: $input) {{
    replayed coupon {{ {COUPON_FIELDS} }} userErrors {{ field message code }}
  }}
}}"""

ISSUE_BULK = """
mutation($input: CouponIssueBulkInput!) {
  couponIssueBulk(input: $input) {
    requested issued skipped limitReached userErrors { field message code }
  }
}"""

VALIDATE = """
query($input: CouponValidateInput!) {
  couponValidate(input: $input) {
    applies reason message discount { amount currency } freeShipping freeProductSku
    coupon { id status }
  }
}"""

USE = f"""
mutation($code: String!, $order: String!) {{
  couponUse(input: {{code: $code, orderExternalId: $order}}) {{
    replayed coupon {{ {COUPON_FIELDS} }} userErrors {{ field message code }}
  }}
}}"""

CUSTOMER_COUPONS = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    coupons(first: 100) { totalCount nodes { id code status template { id name } } }
  } }
}"""


async def new_customer(gql, external_id: str) -> str:  # noqa: ANN001
    data = await gql(UPSERT, {"externalId": external_id})
    return data["customerUpsert"]["customer"]["id"]


async def new_template(gql, **fields) -> dict:  # noqa: ANN001, ANN003
    """满200减30, valid 7 days from issue, unless told otherwise."""
    given = {
        "name": "满200减30",
        "kind": "AMOUNT_OFF",
        "amountOff": "30",
        "minSpend": "200",
        "validDays": 7,
        **fields,
    }
    data = await gql(CREATE_TEMPLATE, {"input": given})
    assert data["couponTemplateCreate"]["userErrors"] == [], data
    return data["couponTemplateCreate"]["couponTemplate"]


async def issue(gql, template_id: str, customer_id: str, key: str = "issue-1") -> dict:  # noqa: ANN001
    data = await gql(
        ISSUE,
        {"input": {"templateId": template_id, "customerId": customer_id, "idempotencyKey": key}},
    )
    return data["couponIssue"]


async def issued(gql, template_id: str, customer_id: str, key: str = "issue-1") -> dict:  # noqa: ANN001
    payload = await issue(gql, template_id, customer_id, key)
    assert payload["userErrors"] == [], payload
    return payload["coupon"]


async def validate(gql, code: str, amount: str, **extra) -> dict:  # noqa: ANN001, ANN003
    cart = {"amount": amount, "items": extra.pop("items", []), "channel": "WEB"}
    data = await gql(VALIDATE, {"input": {"code": code, "cart": cart, **extra}})
    return data["couponValidate"]


async def use(gql, code: str, order: str) -> dict:  # noqa: ANN001
    return (await gql(USE, {"code": code, "order": order}))["couponUse"]


async def coupons_of(gql, customer_id: str) -> dict:  # noqa: ANN001
    return (await gql(CUSTOMER_COUPONS, {"id": customer_id}))["node"]["coupons"]


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def record_order(gql, external_id: str, customer: str, placed_at: datetime) -> None:  # noqa: ANN001
    """An order of 300.00 by the customer of that externalId (created if new)."""
    data = await gql(
        RECORD,
        {
            "input": order_input(
                external_id, "300.00", customer=customer, placed_at=placed_at.isoformat()
            )
        },
    )
    assert data["orderRecord"]["userErrors"] == []
