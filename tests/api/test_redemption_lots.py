"""A cancelled redemption puts points back into the lots they came from, with those
lots' expiry — even when a lot expired in the meantime. The app runs on a clock the
test moves, so "January" and "after the expiry" are real instants, not sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from domain.clock import FixedClock
from tests.api.reward_calls import (
    CANCEL,
    account,
    assert_ledger_clean,
    give_points,
    new_customer,
    new_reward,
    redeem,
)
from tests.conftest import GraphQLClient, utc


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(utc(2025, 1, 10, 12))


@pytest.fixture
async def timed(database, settings, admin_key, clock) -> AsyncIterator[GraphQLClient]:  # noqa: ANN001
    app = create_app(settings, database=database, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield GraphQLClient(http, admin_key)


async def test_cancel_puts_points_back_with_their_january_expiry(timed, clock, database):
    shopper = await new_customer(timed, "lots-1", points=100)  # lot A: Jan 2025 → Jan 2026
    clock.at = utc(2025, 3, 10, 12)
    await give_points(timed, shopper, 150, "march")  # lot B: Mar 2025 → Mar 2026
    reward = await new_reward(timed, name="Blender", pointsCost=120)

    clock.at = utc(2025, 4, 10, 12)
    issued = (await redeem(timed, shopper, reward["id"], "april"))["redemption"]
    spent = await account(timed, shopper)
    # FIFO by expiry: all 100 of January's lot, then 20 of March's.
    assert spent["points"]["expiringSoon"] == [{"points": 130, "at": "2026-03-10T12:00:00+00:00"}]

    clock.at = utc(2025, 5, 10, 12)
    cancel = await timed(CANCEL, {"input": {"id": issued["id"], "idempotencyKey": "may"}})
    assert cancel["redemptionCancel"]["userErrors"] == []
    back = await account(timed, shopper)
    assert back["points"]["available"] == 250
    assert back["points"]["expiringSoon"] == [
        {"points": 100, "at": "2026-01-10T12:00:00+00:00"},
        {"points": 150, "at": "2026-03-10T12:00:00+00:00"},
    ]
    await assert_ledger_clean(database)


async def test_points_of_a_lot_that_expired_meanwhile_come_back_expired(timed, clock, database):
    shopper = await new_customer(timed, "lots-2", points=100)  # expires 2026-01-10
    clock.at = utc(2025, 12, 1, 12)
    await give_points(timed, shopper, 50, "december")  # expires 2026-12-01
    reward = await new_reward(timed, name="Umbrella", pointsCost=120)
    issued = (await redeem(timed, shopper, reward["id"], "dec"))["redemption"]
    assert (await account(timed, shopper))["points"]["available"] == 30

    clock.at = utc(2026, 2, 1, 12)  # January's lot is past its expiry now
    cancel = await timed(CANCEL, {"input": {"id": issued["id"], "idempotencyKey": "feb"}})
    assert cancel["redemptionCancel"]["userErrors"] == []

    state = await account(timed, shopper)
    kinds = [(e["kind"], e["points"], e["balanceAfter"]) for e in state["ledger"]["nodes"]]
    assert kinds[:3] == [("EXPIRE", -100, 50), ("REDEEM_CANCEL", 120, 150), ("REDEEM", -120, 30)]
    assert state["points"]["available"] == 50
    assert state["points"]["expiringSoon"] == [{"points": 50, "at": "2026-12-01T12:00:00+00:00"}]
    await assert_ledger_clean(database)
