"""Two customers who referred each other order at once: no deadlock on PostgreSQL.

Alice refers Bob and Bob refers Alice; both referrals are pending. Alice's first
order qualifies Bob's referral of her (it locks Alice, and Bob as her referrer), and
Bob's order does the same the other way round. If each order locked its own customer
first and the referrer second, the two would wait for each other. The documented
order (lower customer id first) makes them queue instead.

To make the dangerous interleaving certain rather than lucky, the test holds an
exclusive lock on the referrals table while both orders start: each order must read
its referral before it can go on, so both are parked at that read. Code that locks
its own customer before reading the referral is parked holding that lock, and the
two deadlock once the table is released; code that reads the referral first and
then locks both customers in id order holds nothing while parked.
"""

import asyncio

import pytest
from sqlalchemy import text

from tests.api.ledger_calls import RECORD, order_input
from tests.api.test_referrals import CUSTOMER, PROGRAM, REFERRAL, UPSERT

WAITING_ON_REFERRALS = text(
    "SELECT count(*) FROM pg_locks WHERE relation = 'referrals'::regclass AND NOT granted"
)


async def code_of(gql, external_id: str) -> str:
    return (await gql(CUSTOMER, {"externalId": external_id}))["customer"]["referralCode"]


async def refer(gql, code: str, referee: str, key: str) -> None:
    answer = await gql(
        REFERRAL,
        {"input": {"code": code, "referee": {"externalId": referee}, "idempotencyKey": key}},
    )
    assert answer["referralRecord"]["userErrors"] == []
    assert answer["referralRecord"]["referral"]["status"] == "PENDING"


async def wait_until_both_parked(database) -> None:  # noqa: ANN001
    """Polls the lock table (no timing assumption: the loop ends on the condition,
    and a bounded number of looks turns a hang into a failure)."""
    async with database.engine.connect() as conn:
        for _ in range(5000):
            if (await conn.execute(WAITING_ON_REFERRALS)).scalar_one() == 2:
                return
            await conn.rollback()
            await asyncio.sleep(0.01)
    raise AssertionError("the two orders never reached the referral read")


async def test_mutual_referrals_ordering_at_once_do_not_deadlock(gql, database):
    if database.is_sqlite:
        pytest.skip("row locks and deadlocks are PostgreSQL's; SQLite serializes writers")
    await gql(PROGRAM, {"input": {"referrerBonus": 300, "refereeBonus": 100}})
    for external_id in ("alice", "bob"):
        await gql(UPSERT, {"id": external_id})
    await refer(gql, await code_of(gql, "alice"), "bob", "alice-refers-bob")
    await refer(gql, await code_of(gql, "bob"), "alice", "bob-refers-alice")

    async with database.engine.connect() as blocker:
        await blocker.execute(text("LOCK TABLE referrals IN ACCESS EXCLUSIVE MODE"))
        orders = [
            asyncio.create_task(
                gql.raw(
                    RECORD,
                    {
                        "input": order_input(
                            f"o-{who}", "80.00", customer=who, placed_at="2026-11-20T10:00:00Z"
                        )
                    },
                )
            )
            for who in ("alice", "bob")
        ]
        await wait_until_both_parked(database)
        await blocker.rollback()  # releases the table: both orders go on at once
    answers = await asyncio.gather(*orders)

    assert [a.get("errors") for a in answers] == [None, None]
    for answer in answers:
        assert answer["data"]["orderRecord"]["userErrors"] == []
    for who in ("alice", "bob"):
        customer = (await gql(CUSTOMER, {"externalId": who}))["customer"]
        assert customer["referredBy"]["status"] == "QUALIFIED"
        assert customer["referrals"]["edges"][0]["node"]["status"] == "QUALIFIED"
        # own order (80) + referee bonus (100) + referrer bonus (300)
        assert customer["points"]["available"] == 80 + 100 + 300
