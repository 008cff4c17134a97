"""`earningPreview` shows what `orderRecord` then writes: generated carts (customers
old and new, lines in and out of the promoted category, any day and hour, birthdays)
against a set of rules that stack, exclude, cap by budget and multiply by tier; each
cart is previewed, then recorded, and the two breakdowns must be the same."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.earning_calls import PREVIEW, PROGRAM_UPDATE, RECORD, create_rule

TIERS = """mutation { tierCreate(input: {name: "Gold", rank: 1, threshold: "200",
  earnMultiplier: "1.5"}) { userErrors { code } } }"""

counter = itertools.count()

lines = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.sampled_from(["serum", "cream", "sneaker", "tee"]),
            "quantity": st.integers(1, 4),
            "unitPrice": st.decimals("0.01", "300", places=2).map(str),
            "category": st.sampled_from(["skincare", "shoes", None]),
        }
    ),
    max_size=4,
)
carts = st.fixed_dictionaries(
    {
        "customer": st.sampled_from(["ann", "bob", "cat", "dan", "eve"]),
        "amount": st.decimals("0.01", "900", places=2).map(str),
        "day": st.integers(1, 30),
        "hour": st.integers(0, 23),
        "channel": st.sampled_from(["app", "web", None]),
        "items": lines,
        "birthday": st.sampled_from([None, "1990-11-15", "1985-02-01"]),
    }
)


@pytest.fixture
async def promotions(gql):  # noqa: ANN001, ANN201
    assert (await gql(PROGRAM_UPDATE, {"input": {"timezone": "Asia/Shanghai"}}))["programUpdate"][
        "userErrors"
    ] == []
    await gql(TIERS)
    await create_rule(
        gql, name="Skincare 3x", kind="MULTIPLIER", effect={"multiplier": "3"},
        conditions={"categories": ["skincare"]}, priority=30, stackable=False,
        tierMultiplied=True, budget={"perCustomerPoints": 900, "perCustomerPeriod": "WEEK"},
    )  # fmt: skip
    await create_rule(
        gql, name="App weekend", kind="MULTIPLIER", effect={"multiplier": "1.5"},
        conditions={"channels": ["app"], "daysOfWeek": [6, 7]}, priority=20,
    )  # fmt: skip
    await create_rule(
        gql, name="Evening 10 per 50", kind="POINTS_PER_AMOUNT",
        effect={"points": 10, "perAmount": "50"},
        conditions={"timeFrom": "18:00:00", "timeUntil": "02:00:00"}, priority=10,
        budget={"totalPoints": 700},
    )  # fmt: skip
    await create_rule(
        gql, name="Big basket", kind="FIXED_BONUS", effect={"points": 80},
        conditions={"minOrderAmount": "400"}, budget={"totalPoints": 400},
    )  # fmt: skip
    await create_rule(gql, name="Welcome", kind="FIRST_ORDER_BONUS", effect={"points": 300})
    await create_rule(gql, name="Birthday", kind="BIRTHDAY_MONTH", effect={"multiplier": "2"})
    await create_rule(
        gql, name="Gold only", kind="FIXED_BONUS", effect={"points": 25}, priority=5,
        conditions={"tierIds": [await gold_id(gql)]},
    )  # fmt: skip
    return gql


async def gold_id(gql) -> str:  # noqa: ANN001
    tiers = await gql("{ tiers { id name } }")
    return next(t["id"] for t in tiers["tiers"] if t["name"] == "Gold")


def order_of(drawn: dict) -> dict:
    profile = {"birthday": drawn["birthday"]} if drawn["birthday"] else {}
    return {
        "externalId": f"gen-{next(counter)}",
        "customer": {"externalId": drawn["customer"], "name": "Shopper", **profile},
        "amount": drawn["amount"],
        "currency": "CNY",
        "placedAt": f"2026-11-{drawn['day']:02d}T{drawn['hour']:02d}:30:00+08:00",
        "channel": drawn["channel"],
        "items": [{k: v for k, v in item.items() if v is not None} for item in drawn["items"]],
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=carts)
async def test_preview_equals_what_the_order_then_earns(promotions, drawn):  # noqa: ANN001
    gql = promotions
    order = order_of(drawn)
    shown = (await gql(PREVIEW, {"input": order}))["earningPreview"]
    assert shown["userErrors"] == []
    recorded = (await gql(RECORD, {"input": order}))["orderRecord"]
    assert recorded["userErrors"] == []
    given_lines = [
        (x["rule"] and x["rule"]["name"], x["points"], x["eligibleAmount"]["amount"])
        for x in shown["preview"]["lines"]
        if x["points"] > 0
    ]
    kept = [
        (x["rule"] and x["rule"]["name"], x["points"], x["eligibleAmount"]["amount"])
        for x in recorded["order"]["pointsBreakdown"]
    ]
    assert given_lines == kept
    assert shown["preview"]["points"] == recorded["order"]["pointsEarned"]


async def test_a_preview_does_not_wait_for_a_writer(gql, database):  # noqa: ANN001
    """A preview only reads: on SQLite it takes no write lock, so a checkout's preview
    answers while a long write (an import chunk) holds the database's one write lock.
    (On PostgreSQL nothing here waits either way.)"""
    order = {
        "externalId": "preview-only",
        "customer": {"externalId": "new-shopper", "name": "Ann"},
        "amount": "120.00",
        "currency": "CNY",
        "placedAt": "2026-11-02T10:00:00+08:00",
    }
    writer = await database.write_session()  # BEGIN IMMEDIATE on SQLite
    try:
        shown = await asyncio.wait_for(gql(PREVIEW, {"input": order}), timeout=5)
    finally:
        await writer.rollback()
        await writer.close()
    assert shown["earningPreview"]["userErrors"] == []
    assert shown["earningPreview"]["preview"]["points"] == 120
