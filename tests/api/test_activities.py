"""Points for actions over GraphQL: limits per program-local period, check-in
streaks, coded refusals, idempotency, and who may record them."""

from __future__ import annotations

import pytest

from domain.access import Role
from tests.api.earning_calls import LEDGER, PROGRAM_UPDATE, create_rule
from tests.conftest import make_key
from tests.ledger_audit import assert_ledger_clean

ACTIVITY = """
mutation($input: ActivityRecordInput!) {
  activityRecord(input: $input) {
    activity { type points streakDays attributes rule { name } }
    customer { id points { available } }
    replayed
    userErrors { field code message }
  }
}"""


@pytest.fixture
async def partner(gql, database):  # noqa: ANN001, ANN201
    data = await gql(PROGRAM_UPDATE, {"input": {"timezone": "Asia/Shanghai"}})
    assert data["programUpdate"]["userErrors"] == []
    await create_rule(
        gql, name="Daily check-in", kind="ACTIVITY", effect={"points": 20},
        activity={"type": "check_in", "limitCount": 1, "limitPeriod": "DAY",
                  "streakDays": 3, "streakPoints": 50},
    )  # fmt: skip
    await create_rule(
        gql, name="Reviews", kind="ACTIVITY", effect={"points": 50},
        activity={"type": "REVIEW", "limitCount": 3, "limitPeriod": "WEEK"},
    )  # fmt: skip
    return gql.as_key(await make_key(database, Role.PARTNER))


async def act(gql, type_: str, at: str, key: str, **extra) -> dict:  # noqa: ANN001, ANN003
    data = await gql(
        ACTIVITY,
        {
            "input": {
                "customer": {"externalId": "fan", "name": "Fan"},
                "type": type_,
                "occurredAt": at,
                "idempotencyKey": key,
                **extra,
            }
        },
    )
    return data["activityRecord"]


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["userErrors"]]


async def test_one_check_in_per_local_day_and_a_streak_bonus_every_third_day(partner, database):  # noqa: ANN001
    day1 = await act(partner, "CHECK_IN", "2026-11-02T08:00:00+08:00", "c1")
    assert day1["activity"] == {
        "type": "CHECK_IN", "points": 20, "streakDays": 1, "attributes": None,
        "rule": {"name": "Daily check-in"},
    }  # fmt: skip
    # 23:59 the same Shanghai day (15:59 UTC): the day's check-in is done.
    again = await act(partner, "CHECK_IN", "2026-11-02T15:59:00Z", "c1b")
    assert codes(again) == ["LIMIT_REACHED"]
    day2 = await act(partner, "CHECK_IN", "2026-11-02T16:00:00Z", "c2")  # 00:00 on the 3rd
    day3 = await act(partner, "CHECK_IN", "2026-11-04T21:00:00+08:00", "c3")
    day5 = await act(partner, "CHECK_IN", "2026-11-06T09:00:00+08:00", "c5")  # the 5th skipped
    assert [(d["activity"]["points"], d["activity"]["streakDays"]) for d in (day2, day3, day5)] == [
        (20, 2),
        (70, 3),
        (20, 1),
    ]
    assert day5["customer"]["points"]["available"] == 130
    ledger = (await partner(LEDGER, {"id": day5["customer"]["id"]}))["node"]["ledger"]
    assert [
        (e["node"]["kind"], e["node"]["points"], e["node"]["rule"]["name"]) for e in ledger["edges"]
    ] == [
        ("BONUS", 20, "Daily check-in"),
        ("BONUS", 70, "Daily check-in"),
        ("BONUS", 20, "Daily check-in"),
        ("BONUS", 20, "Daily check-in"),
    ]
    await assert_ledger_clean(database)


async def test_three_reviews_a_week(partner):  # noqa: ANN001
    # Monday 2 to Sunday 8 November 2026 is one ISO week.
    for i, at in enumerate(["2026-11-02T10:00:00+08:00", "2026-11-04T10:00:00+08:00",
                            "2026-11-08T23:00:00+08:00"]):  # fmt: skip
        done = await act(partner, "REVIEW", at, f"r{i}", attributes={"reviewId": i})
        assert done["userErrors"] == [] and done["activity"]["points"] == 50
    fourth = await act(partner, "REVIEW", "2026-11-08T23:30:00+08:00", "r3")
    assert codes(fourth) == ["LIMIT_REACHED"]
    monday = await act(partner, "REVIEW", "2026-11-09T00:00:00+08:00", "r4")
    assert monday["activity"]["points"] == 50
    assert monday["customer"]["points"]["available"] == 200


async def test_refusals_and_idempotency(partner, gql, database):  # noqa: ANN001
    first = await act(partner, "CHECK_IN", "2026-11-02T08:00:00+08:00", "k1")
    replay = await act(partner, "CHECK_IN", "2026-11-02T08:00:00+08:00", "k1")
    assert replay["replayed"] is True and replay["activity"] == first["activity"]
    conflict = await act(partner, "CHECK_IN", "2026-11-02T09:00:00+08:00", "k1")
    assert codes(conflict) == ["IDEMPOTENCY_CONFLICT"]
    duplicate = await act(partner, "REVIEW", "2026-11-02T08:00:00+08:00", "k2")
    again = await act(partner, "REVIEW", "2026-11-02T08:00:00+08:00", "k3")
    assert duplicate["userErrors"] == [] and codes(again) == ["DUPLICATE"]
    inactive = await act(partner, "SHARE", "2026-11-02T08:00:00+08:00", "k4")
    assert codes(inactive) == ["RULE_INACTIVE"]
    bad = await act(partner, "no way!", "2030-01-01T00:00:00Z", "k5")
    assert {tuple(e["field"]) for e in bad["userErrors"]} == {
        ("input", "type"),
        ("input", "occurredAt"),
    }
    analyst = gql.as_key(await make_key(database, Role.ANALYST))
    refused = await analyst.raw(
        ACTIVITY,
        {"input": {"customer": {"externalId": "fan"}, "type": "CHECK_IN",
                   "occurredAt": "2026-11-03T08:00:00+08:00", "idempotencyKey": "k6"}},
    )  # fmt: skip
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await assert_ledger_clean(database)


async def test_concurrent_check_ins_earn_once(partner, database):  # noqa: ANN001
    import asyncio

    await act(partner, "CHECK_IN", "2026-11-01T08:00:00+08:00", "seed")  # the customer exists
    same_key = await asyncio.gather(
        *(act(partner, "CHECK_IN", "2026-11-02T08:00:00+08:00", "tap") for _ in range(10))
    )
    assert sorted(r["replayed"] for r in same_key) == [False] + [True] * 9
    assert all(r["userErrors"] == [] for r in same_key)
    other_keys = await asyncio.gather(
        *(act(partner, "CHECK_IN", f"2026-11-03T08:00:0{i}+08:00", f"k{i}") for i in range(10))
    )
    assert sorted(codes(r)[0] if r["userErrors"] else "ok" for r in other_keys) == [
        "LIMIT_REACHED"
    ] * 9 + ["ok"]
    final = (await partner(LEDGER, {"id": same_key[0]["customer"]["id"]}))["node"]
    assert final["points"]["available"] == 20 + 20 + 70  # the 3rd day in a row: +50
    await assert_ledger_clean(database)
