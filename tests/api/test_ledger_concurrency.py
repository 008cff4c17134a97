"""Real concurrent requests against one customer's ledger.

Every scenario fires its requests with `asyncio.gather` through the HTTP client, so on
PostgreSQL they interleave inside the database (row locks and unique indexes decide)
and on SQLite they queue behind BEGIN IMMEDIATE. Both must end in the same, correct
state, and the ledger audit must find nothing after each scenario.
"""

import asyncio
import random

from tests.api.ledger_calls import (
    ADJUST,
    RECORD,
    REFUND,
    adjust_input,
    by_id,
    ledger_of,
    order_input,
)
from tests.conftest import utc
from tests.ledger_audit import assert_ledger_clean

PLACED = "2026-03-01T10:00:00+00:00"


async def first_order(gql, amount: str = "100.00", external_id: str = "o-first") -> str:  # noqa: ANN001
    """Records one order for a new customer and returns the customer's global ID."""
    data = await gql(RECORD, {"input": order_input(external_id, amount, placed_at=PLACED)})
    assert data["orderRecord"]["userErrors"] == []
    return data["orderRecord"]["customer"]["id"]


async def test_fifty_concurrent_records_of_one_order_write_it_once(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    order = order_input("o-race", "88.80", customer="c-race", placed_at=PLACED)

    results = await asyncio.gather(*(gql(RECORD, {"input": order}) for _ in range(50)))

    payloads = [r["orderRecord"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 49
    assert {p["order"]["id"] for p in payloads} == {payloads[0]["order"]["id"]}
    customer_id = payloads[0]["customer"]["id"]
    points, entries = await ledger_of(gql, customer_id)
    assert [(e["kind"], e["points"]) for e in entries] == [("EARN", 88)]
    assert points["available"] == 88
    count = await gql("{ customers(first: 10) { edges { node { ordersCount } } } }")
    assert [e["node"]["ordersCount"] for e in count["customers"]["edges"]] == [1]
    await assert_ledger_clean(database)


async def test_fifty_concurrent_debits_of_a_balance_that_covers_one(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    customer_id = await first_order(gql, "100.00")

    results = await asyncio.gather(
        *(gql(ADJUST, {"input": adjust_input(customer_id, -100, f"d-{i}")}) for i in range(50))
    )

    payloads = [r["pointsAdjust"] for r in results]
    succeeded = [p for p in payloads if not p["userErrors"]]
    refused = [p for p in payloads if p["userErrors"]]
    assert len(succeeded) == 1
    assert succeeded[0]["entry"]["balanceAfter"] == 0
    assert {e["code"] for p in refused for e in p["userErrors"]} == {"INSUFFICIENT_POINTS"}
    assert len(refused) == 49
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 0
    assert [e["points"] for e in entries] == [-100, 100]
    assert min(e["balanceAfter"] for e in entries) >= 0
    await assert_ledger_clean(database)


async def test_concurrent_earning_and_spending_keeps_balance_equal_to_entries(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    customer_id = await first_order(gql, "500.00")
    rng = random.Random(4)
    calls = []
    for i in range(30):
        kind = i % 3
        if kind == 0:
            amount = f"{rng.randint(1, 300)}.{rng.randint(0, 99):02d}"
            calls.append(gql(RECORD, {"input": by_id(customer_id, f"o-{i}", amount, PLACED)}))
        elif kind == 1:
            calls.append(
                gql(ADJUST, {"input": adjust_input(customer_id, rng.randint(1, 80), f"c-{i}")})
            )
        else:
            calls.append(
                gql(ADJUST, {"input": adjust_input(customer_id, -rng.randint(1, 400), f"d-{i}")})
            )

    results = await asyncio.gather(*calls)

    applied = 500
    for result in results:
        if "orderRecord" in result:
            assert result["orderRecord"]["userErrors"] == []
            applied += result["orderRecord"]["order"]["pointsEarned"]
        elif not result["pointsAdjust"]["userErrors"]:
            applied += result["pointsAdjust"]["entry"]["points"]
        else:
            codes = {e["code"] for e in result["pointsAdjust"]["userErrors"]}
            assert codes == {"INSUFFICIENT_POINTS"}
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == applied
    assert points["available"] == sum(e["points"] for e in entries)
    assert points["available"] == entries[0]["balanceAfter"]
    assert all(e["balanceAfter"] >= 0 for e in entries)
    # Each entry's balanceAfter follows from the one before: no lost update.
    running = 0
    for entry in reversed(entries):
        running += entry["points"]
        assert entry["balanceAfter"] == running
    await assert_ledger_clean(database)


async def test_one_adjustment_key_sent_twenty_times_at_once_applies_once(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    customer_id = await first_order(gql, "100.00")
    debit = adjust_input(customer_id, -30, "adj-1", reason="damaged parcel")

    results = await asyncio.gather(*(gql(ADJUST, {"input": debit}) for _ in range(20)))

    payloads = [r["pointsAdjust"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 19
    assert {(p["entry"]["points"], p["entry"]["balanceAfter"]) for p in payloads} == {(-30, 70)}
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 70
    assert len(entries) == 2

    other = adjust_input(customer_id, -31, "adj-1", reason="damaged parcel")
    conflict = (await gql(ADJUST, {"input": other}))["pointsAdjust"]
    assert [(e["code"], e["field"]) for e in conflict["userErrors"]] == [
        ("IDEMPOTENCY_CONFLICT", ["input", "idempotencyKey"])
    ]
    assert (await ledger_of(gql, customer_id))[0]["available"] == 70
    await assert_ledger_clean(database)


async def test_one_refund_key_sent_twenty_times_at_once_refunds_once(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    customer_id = await first_order(gql, "100.00", external_id="o-r")
    refund = {"orderExternalId": "o-r", "amount": "40.00", "idempotencyKey": "ref-1"}

    results = await asyncio.gather(*(gql(REFUND, {"input": refund}) for _ in range(20)))

    payloads = [r["orderRefund"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * 19
    assert {(p["refund"]["amount"]["amount"], p["refund"]["pointsReversed"]) for p in payloads} == {
        ("40.00", 40)
    }
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 60
    assert [e["kind"] for e in entries] == ["REVERSE", "EARN"]

    other = {"orderExternalId": "o-r", "amount": "41.00", "idempotencyKey": "ref-1"}
    conflict = (await gql(REFUND, {"input": other}))["orderRefund"]
    assert [(e["code"], e["field"]) for e in conflict["userErrors"]] == [
        ("IDEMPOTENCY_CONFLICT", ["input", "idempotencyKey"])
    ]
    order = await gql('{ order(externalId: "o-r") { refundedAmount { amount } } }')
    assert order["order"]["refundedAmount"]["amount"] == "40.00"
    await assert_ledger_clean(database)


async def test_concurrent_refunds_of_one_order_never_refund_more_than_it_cost(gql, database, clock):
    clock.at = utc(2026, 3, 2)
    await first_order(gql, "100.00", external_id="o-many")
    refunds = [
        {"orderExternalId": "o-many", "amount": "30.00", "idempotencyKey": f"k-{i}"}
        for i in range(10)
    ]

    results = await asyncio.gather(*(gql(REFUND, {"input": r}) for r in refunds))

    payloads = [r["orderRefund"] for r in results]
    done = [p for p in payloads if not p["userErrors"]]
    assert len(done) == 3
    assert {e["code"] for p in payloads if p["userErrors"] for e in p["userErrors"]} == {
        "REFUND_EXCEEDS_ORDER"
    }
    assert sum(p["refund"]["pointsReversed"] for p in done) == 90
    await assert_ledger_clean(database)
