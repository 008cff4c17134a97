"""The ledger rules of docs/ledger.md, one example each, as a storefront sees them.

Time is the API's clock (the `clock` fixture, moved by hand) and the daily job is run
as of chosen instants, exactly as `loyalty jobs run-daily --as-of …` runs it.
"""

from datetime import timedelta

from domain.jobs import DailyReport, run_daily
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.ledger_calls import (
    ADJUST,
    POINTS,
    RECORD,
    REFUND,
    adjust_input,
    by_id,
    ledger_of,
    order_input,
)
from tests.conftest import utc
from tests.ledger_audit import assert_ledger_clean

PROGRAM_UPDATE = """
mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) {
    program { pendingDays expiryDays earnRate }
    userErrors { field message code }
  }
}"""


async def run_job(database, settings, as_of) -> DailyReport:  # noqa: ANN001
    return await run_daily(lambda: SqlUnitOfWork(database, settings.program_defaults()), as_of)


async def set_program(gql, **changes) -> None:  # noqa: ANN001, ANN003
    data = await gql(PROGRAM_UPDATE, {"input": changes})
    assert data["programUpdate"]["userErrors"] == []


async def record(gql, external_id: str, amount: str, placed_at, **extra) -> dict:  # noqa: ANN001, ANN003
    data = await gql(
        RECORD,
        {"input": order_input(external_id, amount, placed_at=placed_at.isoformat(), **extra)},
    )
    assert data["orderRecord"]["userErrors"] == []
    return data["orderRecord"]


async def refund(gql, external_id: str, amount: str, key: str) -> dict:  # noqa: ANN001
    data = await gql(
        REFUND, {"input": {"orderExternalId": external_id, "amount": amount, "idempotencyKey": key}}
    )
    assert data["orderRefund"]["userErrors"] == []
    return data["orderRefund"]


async def points_of(gql, customer_id: str) -> dict:  # noqa: ANN001
    return (await gql(POINTS, {"id": customer_id}))["node"]["points"]


async def test_spending_takes_the_lot_that_expires_first(gql, database, clock):
    """docs/ledger.md#spending-fifo-by-expiry: lots of 100 (January) and 150 (March); 120 spent in April → 0 and 130."""
    clock.at = utc(2026, 4, 15)
    january = await record(gql, "o-jan", "100.00", utc(2026, 1, 10))
    await record(gql, "o-mar", "150.00", utc(2026, 3, 10))
    customer_id = january["customer"]["id"]

    debit = await gql(ADJUST, {"input": adjust_input(customer_id, -120, "spend-1")})

    assert debit["pointsAdjust"]["entry"]["balanceAfter"] == 130
    points = await points_of(gql, customer_id)
    # Only the March lot is left, whole but for the 20 the January lot could not cover.
    assert points["expiringSoon"] == [{"points": 130, "at": "2027-03-10T00:00:00+00:00"}]
    await assert_ledger_clean(database)


async def test_pending_points_become_available_after_pending_days_exactly(
    gql, database, settings, clock
):
    await set_program(gql, pendingDays=14)
    placed = utc(2026, 5, 1, 9, 30)
    clock.at = placed
    order = await record(gql, "o-1", "200.00", placed)
    customer_id = order["customer"]["id"]
    assert order["customer"]["points"] == {
        "available": 0,
        "pending": 200,
        "debt": 0,
        "lifetimeEarned": 0,
    }
    spend = await gql(ADJUST, {"input": adjust_input(customer_id, -1, "too-early")})
    assert [e["code"] for e in spend["pointsAdjust"]["userErrors"]] == ["INSUFFICIENT_POINTS"]

    almost = await run_job(database, settings, placed + timedelta(days=14, microseconds=-1))
    assert almost.activated_lots == 0
    assert (await points_of(gql, customer_id))["pending"] == 200

    due = await run_job(database, settings, placed + timedelta(days=14))
    assert due.activated_lots == 1
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 200
    assert entries == [{"kind": "EARN", "points": 200, "balanceAfter": 200}]
    assert (await points_of(gql, customer_id))["pending"] == 0
    await assert_ledger_clean(database)


async def test_points_expire_at_available_plus_expiry_days_and_not_before(
    gql, database, settings, clock
):
    await set_program(gql, pendingDays=3, expiryDays=30)
    placed = utc(2026, 5, 1, 8)
    clock.at = placed
    customer_id = (await record(gql, "o-1", "50.00", placed))["customer"]["id"]
    await run_job(database, settings, placed + timedelta(days=3))
    expires = placed + timedelta(days=3 + 30)
    clock.at = placed + timedelta(days=4)
    assert (await points_of(gql, customer_id))["expiringSoon"] == [
        {"points": 50, "at": expires.isoformat()}
    ]

    before = await run_job(database, settings, expires - timedelta(seconds=1))
    assert before.expired_lots == 0
    assert (await points_of(gql, customer_id))["available"] == 50

    at = await run_job(database, settings, expires)
    assert (at.expired_lots, at.expired_points) == (1, 50)
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 0
    assert [(e["kind"], e["points"]) for e in entries] == [("EXPIRE", -50), ("EARN", 50)]
    await assert_ledger_clean(database)


async def test_running_the_daily_job_twice_for_one_instant_changes_nothing(
    gql, database, settings, clock
):
    await set_program(gql, pendingDays=14, expiryDays=30)
    clock.at = utc(2026, 6, 1)
    customer_id = (await record(gql, "o-old", "70.00", utc(2026, 4, 1)))["customer"]["id"]
    await record(gql, "o-new", "30.00", utc(2026, 5, 25))
    as_of = utc(2026, 6, 8)

    first = await run_job(database, settings, as_of)
    after_first = await ledger_of(gql, customer_id)
    second = await run_job(database, settings, as_of)

    # o-old: available on 15 April already, expired 15 May; o-new: due on 8 June.
    assert (first.activated_lots, first.expired_lots, first.expired_points) == (1, 1, 70)
    assert second == DailyReport()
    assert await ledger_of(gql, customer_id) == after_first
    assert after_first[0]["available"] == 30
    await assert_ledger_clean(database)


async def test_partial_refunds_reverse_exactly_the_points_earned_in_total(gql, database, clock):
    clock.at = utc(2026, 6, 1)
    await record(gql, "o-1", "100.00", utc(2026, 5, 1))

    reversed_ = [
        (await refund(gql, "o-1", amount, f"r-{i}"))["refund"]["pointsReversed"]
        for i, amount in enumerate(["33.33", "33.33", "33.34"])
    ]

    # Cumulative floors: floor(33.33)=33, floor(66.66)−33=33, 100−66=34. Flooring each
    # refund on its own would give 33+33+33 and leak a point.
    assert reversed_ == [33, 33, 34]
    order = await gql(
        '{ order(externalId: "o-1") { pointsReversed counted netAmount { amount } } }'
    )
    assert order["order"] == {
        "pointsReversed": 100,
        "counted": False,
        "netAmount": {"amount": "0.00"},
    }
    await assert_ledger_clean(database)


async def test_refund_of_spent_points_leaves_a_debt_the_next_order_pays_first(gql, database, clock):
    clock.at = utc(2026, 6, 1)
    customer_id = (await record(gql, "o-1", "100.00", utc(2026, 5, 1)))["customer"]["id"]
    await gql(ADJUST, {"input": adjust_input(customer_id, -80, "spent")})

    done = await refund(gql, "o-1", "100.00", "r-1")

    assert done["refund"]["pointsReversed"] == 100
    points = await points_of(gql, customer_id)
    assert (points["available"], points["debt"], points["lifetimeEarned"]) == (-80, 80, 0)
    # While in debt nothing can be spent.
    spend = await gql(ADJUST, {"input": adjust_input(customer_id, -1, "spend")})
    assert [e["code"] for e in spend["pointsAdjust"]["userErrors"]] == ["INSUFFICIENT_POINTS"]

    await gql(RECORD, {"input": by_id(customer_id, "o-2", "150.00", "2026-05-20T00:00:00+00:00")})

    points, entries = await ledger_of(gql, customer_id)
    assert (points["available"], points["debt"]) == (70, 0)
    assert [(e["kind"], e["points"], e["balanceAfter"]) for e in entries] == [
        ("EARN", 150, 70),
        ("REVERSE", -100, -80),
        ("ADJUST", -80, 20),
        ("EARN", 100, 100),
    ]
    # The 80 owed came out of the new lot: 70 of its 150 are left to expire.
    assert (await points_of(gql, customer_id))["expiringSoon"] == [
        {"points": 70, "at": "2027-05-20T00:00:00+00:00"}
    ]
    await assert_ledger_clean(database)


async def test_refund_while_points_are_pending_shrinks_the_pending_lot(
    gql, database, settings, clock
):
    await set_program(gql, pendingDays=14)
    placed = utc(2026, 6, 1)
    clock.at = placed
    customer_id = (await record(gql, "o-1", "100.00", placed))["customer"]["id"]

    done = await refund(gql, "o-1", "40.00", "r-1")

    assert done["refund"]["pointsReversed"] == 40
    points, entries = await ledger_of(gql, customer_id)
    assert entries == []  # the points never reached the ledger, so nothing to reverse there
    assert (await points_of(gql, customer_id))["pending"] == 60
    await run_job(database, settings, placed + timedelta(days=14))
    points, entries = await ledger_of(gql, customer_id)
    assert points["available"] == 60
    assert [(e["kind"], e["points"]) for e in entries] == [("EARN", 60)]
    await assert_ledger_clean(database)


async def test_order_without_award_points_earns_nothing_but_counts(gql, database, clock):
    clock.at = utc(2026, 6, 1)

    order = await record(gql, "o-1", "100.00", utc(2026, 5, 1), award_points=False)

    assert order["order"]["pointsEarned"] == 0
    assert order["customer"]["ordersCount"] == 1
    assert order["customer"]["totalSpent"] == {"amount": "100.00"}
    points, entries = await ledger_of(gql, order["customer"]["id"])
    assert (points["available"], entries) == (0, [])
    await assert_ledger_clean(database)


async def test_earn_rate_change_applies_to_new_orders_only(gql, database, clock):
    clock.at = utc(2026, 6, 1)
    first = await record(gql, "o-1", "100.00", utc(2026, 5, 1))
    customer_id = first["customer"]["id"]

    await set_program(gql, earnRate="2.5")
    second = await record(gql, "o-2", "100.00", utc(2026, 5, 2))

    assert (first["order"]["pointsEarned"], second["order"]["pointsEarned"]) == (100, 250)
    old = await gql('{ order(externalId: "o-1") { pointsEarned } }')
    assert old["order"]["pointsEarned"] == 100
    points, entries = await ledger_of(gql, customer_id)
    assert [e["points"] for e in entries] == [250, 100]
    await assert_ledger_clean(database)


async def test_order_stamped_slightly_ahead_of_our_clock_earns_available_points(
    gql, database, clock
):
    """A storefront clock a minute fast must not turn pendingDays=0 into 'pending until
    the next job run'."""
    clock.at = utc(2026, 6, 1, 12)

    order = await record(gql, "o-1", "100.00", utc(2026, 6, 1, 12, 2))

    assert order["customer"]["points"]["available"] == 100
    assert order["customer"]["points"]["pending"] == 0
    await assert_ledger_clean(database)


async def test_replay_with_the_amount_written_differently_is_still_a_replay(gql, database, clock):
    clock.at = utc(2026, 6, 1)
    await record(gql, "o-1", "100", utc(2026, 5, 1))

    again = await gql(
        RECORD, {"input": order_input("o-1", "100.00", placed_at="2026-05-01T00:00:00+00:00")}
    )

    assert again["orderRecord"]["userErrors"] == []
    assert again["orderRecord"]["replayed"] is True
    other = await gql(
        RECORD, {"input": order_input("o-1", "100.01", placed_at="2026-05-01T00:00:00+00:00")}
    )
    assert [e["code"] for e in other["orderRecord"]["userErrors"]] == ["IDEMPOTENCY_CONFLICT"]
    await assert_ledger_clean(database)
