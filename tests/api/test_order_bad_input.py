"""Bad orders, refunds and settings: each refused with a userError that names the
field at fault, and nothing written (the row counts do not move)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from api import ids
from persistence.events import EventRow
from persistence.orders import OrderItemRow, OrderRow, RefundRow
from persistence.points import LedgerEntryRow, LotRow
from tests.api.ledger_calls import RECORD, REFUND, by_id, order_input
from tests.conftest import utc

COUNTED = (OrderRow, OrderItemRow, RefundRow, LedgerEntryRow, LotRow, EventRow)

BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) {
    results { order { externalId pointsEarned } userErrors { field code } }
    userErrors { field code message }
  }
}"""

PROGRAM_UPDATE = """
mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) { program { currency } userErrors { field code message } }
}"""


async def row_counts(database) -> dict[str, int]:  # noqa: ANN001
    async with database.sessions() as session:
        return {
            model.__tablename__: (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
            for model in COUNTED
        }


def errors(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


@pytest.fixture
async def known(gql, clock) -> str:  # noqa: ANN001
    """A customer with one order o-1 of 100.00, refunded by 30.00; returns its ID."""
    clock.at = utc(2026, 6, 1, 12)
    data = await gql(
        RECORD, {"input": order_input("o-1", "100.00", placed_at="2026-05-01T00:00:00+00:00")}
    )
    refund = {"orderExternalId": "o-1", "amount": "30.00", "idempotencyKey": "r-0"}
    assert (await gql(REFUND, {"input": refund}))["orderRefund"]["userErrors"] == []
    return data["orderRecord"]["customer"]["id"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"amount": "0"}, [("INVALID", ["input", "amount"])]),
        ({"amount": "-12.50"}, [("INVALID", ["input", "amount"])]),
        ({"amount": "10.001"}, [("INVALID", ["input", "amount"])]),
        ({"currency": "USD"}, [("CURRENCY_MISMATCH", ["input", "currency"])]),
        ({"placedAt": "2026-06-01T12:05:01+00:00"}, [("INVALID", ["input", "placedAt"])]),
        (
            {"customer": {"id": ids.encode("Customer", 987654)}},
            [("NOT_FOUND", ["input", "customer", "id"])],
        ),
        (
            {"customer": {"externalId": "never-seen"}},
            [("NOT_FOUND", ["input", "customer", "externalId"])],
        ),
        (
            {"items": [{"sku": f"s-{i}", "quantity": 1, "unitPrice": "1.00"} for i in range(1001)]},
            [("TOO_MANY", ["input", "items"])],
        ),
        (
            {"amount": "0", "currency": "usd"},
            [("INVALID", ["input", "amount"]), ("CURRENCY_MISMATCH", ["input", "currency"])],
        ),
    ],
    ids=[
        "zero",
        "negative",
        "three-decimals",
        "currency",
        "future",
        "unknown-id",
        "unknown-external-id",
        "1001-items",
        "several-at-once",
    ],
)
async def test_bad_order_is_refused_naming_the_field(gql, database, known, changes, expected):
    before = await row_counts(database)
    order = {**by_id(known, "o-bad", "50.00", "2026-05-02T00:00:00+00:00"), **changes}

    payload = (await gql(RECORD, {"input": order}))["orderRecord"]

    assert errors(payload) == expected
    assert payload["order"] is None
    assert all(e["message"] for e in payload["userErrors"])
    assert await row_counts(database) == before


@pytest.mark.parametrize(
    ("refund", "expected"),
    [
        ({"amount": "70.01"}, [("REFUND_EXCEEDS_ORDER", ["input", "amount"])]),
        ({"amount": "0"}, [("INVALID", ["input", "amount"])]),
        ({"amount": "-1"}, [("INVALID", ["input", "amount"])]),
        ({"orderExternalId": "o-missing"}, [("NOT_FOUND", ["input", "orderExternalId"])]),
        ({"idempotencyKey": " "}, [("REQUIRED", ["input", "idempotencyKey"])]),
    ],
    ids=["more-than-remains", "zero", "negative", "unknown-order", "blank-key"],
)
async def test_bad_refund_is_refused_naming_the_field(gql, database, known, refund, expected):
    before = await row_counts(database)
    given = {"orderExternalId": "o-1", "amount": "10.00", "idempotencyKey": "r-bad", **refund}

    payload = (await gql(REFUND, {"input": given}))["orderRefund"]

    assert errors(payload) == expected
    assert await row_counts(database) == before
    # What remains is still refundable, to the cent.
    rest = {"orderExternalId": "o-1", "amount": "70.00", "idempotencyKey": "r-rest"}
    assert (await gql(REFUND, {"input": rest}))["orderRefund"]["userErrors"] == []


async def test_future_order_within_five_minutes_of_skew_is_accepted(gql, known, clock):
    placed = (clock.at + timedelta(minutes=5)).isoformat()
    payload = (await gql(RECORD, {"input": by_id(known, "o-2", "10.00", placed)}))["orderRecord"]
    assert payload["userErrors"] == []


async def test_bulk_of_more_than_1000_is_refused_whole(gql, database, known):
    before = await row_counts(database)
    inputs = [by_id(known, f"b-{i}", "1.00", "2026-05-02T00:00:00+00:00") for i in range(1001)]

    payload = (await gql(BULK, {"inputs": inputs}))["ordersRecordBulk"]

    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TOO_MANY", ["inputs"])]
    assert payload["results"] == []
    assert await row_counts(database) == before


async def test_bulk_records_the_good_orders_and_reports_the_bad_one(gql, database, known):
    before = await row_counts(database)
    inputs = [
        by_id(known, "b-1", "10.00", "2026-05-02T00:00:00+00:00"),
        by_id(known, "b-2", "10.00", "2026-05-02T00:00:00+00:00", currency="EUR"),
        order_input("b-3", "20.00", customer="c-new", placed_at="2026-05-03T00:00:00+00:00"),
    ]

    payload = (await gql(BULK, {"inputs": inputs}))["ordersRecordBulk"]

    assert payload["userErrors"] == []
    assert [r["order"] and r["order"]["externalId"] for r in payload["results"]] == [
        "b-1",
        None,
        "b-3",
    ]
    assert [errors(r) for r in payload["results"]] == [
        [],
        [("CURRENCY_MISMATCH", ["inputs", "1", "currency"])],
        [],
    ]
    after = await row_counts(database)
    assert after["orders"] == before["orders"] + 2
    assert after["ledger_entries"] == before["ledger_entries"] + 2


async def test_bad_program_settings_are_refused_together(gql, database):
    payload = (
        await gql(
            PROGRAM_UPDATE,
            {"input": {"pendingDays": -1, "timezone": "Mars/Olympus", "currency": "EURO"}},
        )
    )["programUpdate"]

    assert sorted(errors(payload)) == [
        ("INVALID", ["input", "currency"]),
        ("INVALID", ["input", "pendingDays"]),
        ("INVALID", ["input", "timezone"]),
    ]
    assert payload["program"] is None
    program = await gql("{ program { currency timezone pendingDays } }")
    assert program["program"] == {"currency": "CNY", "timezone": "UTC", "pendingDays": 0}


BULK_FULL = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) {
    results {
      order { externalId pointsEarned }
      customer { ordersCount points { available } }
      replayed
      userErrors { field code }
    }
    userErrors { field code message }
  }
}"""


async def test_bulk_answers_each_input_as_its_own_order_record_would(gql, database, known):
    """Inside one call: a second order of the same customer sees the first, a repeated
    externalId replays, the same externalId with another amount conflicts, and a
    customer ID that does not decode is refused under its own index."""
    placed = "2026-05-02T00:00:00+00:00"
    before = await row_counts(database)
    inputs = [
        by_id(known, "b-1", "10.00", placed),
        by_id(known, "b-2", "20.00", placed),
        by_id(known, "b-1", "10.00", placed),
        by_id(known, "b-1", "11.00", placed),
        by_id("not-an-id", "b-3", "10.00", placed),
    ]

    results = (await gql(BULK_FULL, {"inputs": inputs}))["ordersRecordBulk"]["results"]

    assert [(r["order"] or {}).get("externalId") for r in results] == [
        "b-1",
        "b-2",
        "b-1",
        None,
        None,
    ]
    assert [r["replayed"] for r in results] == [False, False, True, False, False]
    # o-1 (70.00 left after its refund) counted, then b-1, then b-2.
    assert [r["customer"] and r["customer"]["ordersCount"] for r in results[:3]] == [2, 3, 3]
    assert [r["customer"]["points"]["available"] for r in results[:3]] == [80, 100, 100]
    assert [errors(r) for r in results[3:]] == [
        [("IDEMPOTENCY_CONFLICT", ["inputs", "3", "externalId"])],
        [("INVALID", ["inputs", "4", "customer", "id"])],
    ]
    after = await row_counts(database)
    assert after["orders"] == before["orders"] + 2
