"""A rule's total budget under real concurrent orders: it is never exceeded, and
exactly as many orders as it covers get the bonus (on PostgreSQL the orders really
run at once and queue on the rule's row; on SQLite writers queue on the database)."""

from __future__ import annotations

import asyncio

from tests.api.earning_calls import RECORD, cart, create_rule
from tests.ledger_audit import assert_ledger_clean

RULE = """query($id: ID!) { node(id: $id) { ... on EarningRule {
  budget { totalPoints pointsGiven pointsLeft } } } }"""


async def test_fifty_concurrent_orders_against_a_budget_for_ten(gql, database):  # noqa: ANN001
    rule = await create_rule(
        gql,
        name="First 10 orders of the drop",
        kind="FIXED_BONUS",
        effect={"points": 100},
        budget={"totalPoints": 1000},
    )
    orders = [
        cart(f"drop-{i}", "20", "2026-11-02T10:00:00Z", customer=f"racer-{i}") for i in range(50)
    ]

    results = await asyncio.gather(*(gql(RECORD, {"input": order}) for order in orders))

    assert all(r["orderRecord"]["userErrors"] == [] for r in results)
    earned = sorted(r["orderRecord"]["order"]["pointsEarned"] for r in results)
    assert earned == [20] * 40 + [120] * 10
    bonuses = [
        line
        for r in results
        for line in r["orderRecord"]["order"]["pointsBreakdown"]
        if line["rule"] is not None
    ]
    assert [b["points"] for b in bonuses] == [100] * 10
    budget = (await gql(RULE, {"id": rule["id"]}))["node"]["budget"]
    assert budget == {"totalPoints": 1000, "pointsGiven": 1000, "pointsLeft": 0}
    await assert_ledger_clean(database)
