"""Coupons under real concurrent requests: a code is used once, a total issue limit
is never exceeded. PostgreSQL is the real test (SQLite serializes writers)."""

from __future__ import annotations

import asyncio
from collections import Counter

from domain.access import Role
from tests.api.coupon_calls import (
    ISSUE_BULK,
    codes,
    issue,
    issued,
    new_customer,
    new_template,
    use,
)
from tests.conftest import make_key


async def test_fifty_checkouts_race_for_one_code_and_exactly_one_wins(gql, database):
    shopper = await new_customer(gql, "racer")
    coupon = await issued(gql, (await new_template(gql))["id"], shopper)
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))

    results = await asyncio.gather(
        *(use(storefront, coupon["code"], f"order-{i}") for i in range(50))
    )

    outcomes = Counter("ok" if not r["userErrors"] else codes(r)[0] for r in results)
    assert outcomes == {"ok": 1, "ALREADY_USED": 49}
    winner = next(r["coupon"] for r in results if not r["userErrors"])
    listed = await gql(
        "query($id: ID!) { node(id: $id) { ... on Coupon { status orderExternalId } } }",
        {"id": coupon["id"]},
    )
    assert listed["node"] == {"status": "USED", "orderExternalId": winner["orderExternalId"]}


async def test_a_total_limit_of_five_holds_against_thirty_concurrent_issues(gql):
    shoppers = [await new_customer(gql, f"rush-{i}") for i in range(30)]
    template = await new_template(gql, name="First five", totalLimit=5)

    results = await asyncio.gather(
        *(issue(gql, template["id"], shopper, f"rush-{i}") for i, shopper in enumerate(shoppers))
    )

    outcomes = Counter("ok" if not r["userErrors"] else codes(r)[0] for r in results)
    assert outcomes == {"ok": 5, "OUT_OF_STOCK": 25}
    after = await gql(
        "query($id: ID!) { couponTemplate(id: $id) { issuedCount } }", {"id": template["id"]}
    )
    assert after["couponTemplate"]["issuedCount"] == 5
    held = await gql("{ customers(first: 100) { nodes { coupons { totalCount } } } }")
    assert sum(c["coupons"]["totalCount"] for c in held["customers"]["nodes"]) == 5


async def test_bulk_and_single_issues_racing_share_one_limit(gql):
    shoppers = [await new_customer(gql, f"mixed-{i}") for i in range(12)]
    template = await new_template(gql, name="Eight in all", totalLimit=8)

    bulk = gql(ISSUE_BULK, {"input": {"templateId": template["id"], "customerIds": shoppers[:6]}})
    singles = [issue(gql, template["id"], s, f"mixed-{i}") for i, s in enumerate(shoppers)]
    results = await asyncio.gather(bulk, *singles)

    bulk_issued = results[0]["couponIssueBulk"]["issued"]
    single_ok = sum(1 for r in results[1:] if not r["userErrors"])
    assert bulk_issued + single_ok == 8
    held = await gql("{ customers(first: 100) { nodes { coupons { totalCount } } } }")
    per_customer = [c["coupons"]["totalCount"] for c in held["customers"]["nodes"]]
    assert sum(per_customer) == 8 and max(per_customer) == 1
