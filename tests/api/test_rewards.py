"""The reward catalog, redeeming, codes at checkout and cancelling, over GraphQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from api import ids
from domain.access import Role
from domain.redemptions import CODE_ALPHABET, CODE_LENGTH
from persistence.customers import CustomerRow
from persistence.tiers import TierRow
from tests.api.reward_calls import (
    ARCHIVE,
    CANCEL,
    REWARDS,
    TOKEN,
    UPDATE,
    USE,
    account,
    codes,
    new_customer,
    new_reward,
    redeem,
)
from tests.conftest import make_key


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def add_tier(database, name: str, rank: int) -> str:  # noqa: ANN001
    """Tiers are another area's API; the test puts the rows in place directly."""
    async with database.sessions() as session:
        row = TierRow(
            name=name,
            name_key=name.lower(),
            rank=rank,
            threshold=rank * 1000,
            earn_multiplier=1,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        await session.commit()
        return ids.encode("Tier", row.id)


async def set_tier(database, customer_id: str, tier_id: str) -> None:  # noqa: ANN001
    async with database.sessions() as session:
        await session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == ids.decode(customer_id, "Customer"))
            .values(tier_id=ids.decode(tier_id, "Tier"))
        )
        await session.commit()


async def test_catalog_create_validate_update_archive_and_filter(gql, database):
    bad = await gql(
        """mutation { rewardCreate(input: {name: " ", pointsCost: 0, kind: DISCOUNT_PERCENT,
             value: "120", stock: -1}) { reward { id } userErrors { field code } } }"""
    )
    fields = {tuple(e["field"]): e["code"] for e in bad["rewardCreate"]["userErrors"]}
    assert fields == {
        ("input", "name"): "REQUIRED",
        ("input", "pointsCost"): "INVALID",
        ("input", "stock"): "INVALID",
        ("input", "value"): "INVALID",
    }
    no_amount = await gql(
        """mutation { rewardCreate(input: {name: "10 off", pointsCost: 10, kind: DISCOUNT_AMOUNT})
             { userErrors { field code } } }"""
    )
    assert no_amount["rewardCreate"]["userErrors"] == [
        {"field": ["input", "value"], "code": "INVALID"}
    ]

    cheap = await new_reward(gql, name="Sticker", pointsCost=50)
    percent = await new_reward(
        gql, name="15% off", pointsCost=300, kind="DISCOUNT_PERCENT", value="15"
    )
    assert percent["value"] == "15.00" and percent["active"] is True and percent["stock"] is None
    gold = await add_tier(database, "Gold", 3)
    silver = await add_tier(database, "Silver", 2)
    vip = await new_reward(gql, name="Lounge", pointsCost=200, lowestTierId=gold)
    later = await new_reward(
        gql,
        name="Spring sale",
        pointsCost=10,
        activeFrom=iso(datetime.now(UTC) + timedelta(days=30)),
    )
    assert later["active"] is False

    changed = await gql(UPDATE, {"input": {"id": percent["id"], "pointsCost": 250, "stock": 3}})
    assert changed["rewardUpdate"]["reward"]["pointsCost"] == 250
    assert changed["rewardUpdate"]["reward"]["stock"] == 3
    assert changed["rewardUpdate"]["reward"]["value"] == "15.00"  # untouched

    everything = (await gql(REWARDS))["rewards"]
    assert [r["name"] for r in everything["nodes"]] == [
        "Spring sale",
        "Sticker",
        "Lounge",
        "15% off",
    ]
    active = (await gql(REWARDS, {"filter": {"activeOnly": True}}))["rewards"]
    assert [r["name"] for r in active["nodes"]] == ["Sticker", "Lounge", "15% off"]
    for_silver = (await gql(REWARDS, {"filter": {"tier": silver, "activeOnly": True}}))["rewards"]
    assert [r["name"] for r in for_silver["nodes"]] == ["Sticker", "15% off"]
    shopper = await new_customer(gql, "cat-1", points=220)
    affordable = await gql(REWARDS, {"filter": {"affordableFor": shopper, "activeOnly": True}})
    assert [r["name"] for r in affordable["rewards"]["nodes"]] == ["Sticker", "Lounge"]

    page = (await gql(REWARDS, {"first": 2}))["rewards"]
    assert page["pageInfo"]["hasNextPage"] is True and page["totalCount"] == 4
    rest = (await gql(REWARDS, {"first": 2, "after": page["pageInfo"]["endCursor"]}))["rewards"]
    assert [r["name"] for r in rest["nodes"]] == ["Lounge", "15% off"]

    archived = await gql(ARCHIVE, {"input": {"id": cheap["id"]}})
    assert archived["rewardArchive"]["reward"]["archivedAt"] is not None
    names = [r["name"] for r in (await gql(REWARDS))["rewards"]["nodes"]]
    assert "Sticker" not in names
    assert vip["lowestTier"]["id"] == gold


async def test_every_refusal_code_and_a_refusal_writes_nothing(gql, database):
    shopper = await new_customer(gql, "ref-1", points=1000)
    other = await new_customer(gql, "ref-2", points=10)
    reward = await new_reward(gql, name="Mug", pointsCost=100, stock=1, limitPerCustomer=1)

    missing = await redeem(gql, shopper, ids.encode("Reward", 999), "k0")
    assert codes(missing) == ["NOT_FOUND"]
    unknown_customer = await redeem(gql, ids.encode("Customer", 999), reward["id"], "k0")
    assert codes(unknown_customer) == ["NOT_FOUND"]

    poor = await redeem(gql, other, reward["id"], "k1")
    assert codes(poor) == ["INSUFFICIENT_POINTS"]
    first = await redeem(gql, shopper, reward["id"], "k2")
    assert first["userErrors"] == [] and first["customer"]["points"]["available"] == 900
    again = await redeem(gql, shopper, reward["id"], "k3")
    assert codes(again) == ["LIMIT_REACHED"]

    rich = await new_customer(gql, "ref-3", points=1000)
    sold_out = await redeem(gql, rich, reward["id"], "k4")
    assert codes(sold_out) == ["OUT_OF_STOCK"]

    future = await new_reward(
        gql, name="Later", pointsCost=1, activeFrom=iso(datetime.now(UTC) + timedelta(days=1))
    )
    assert codes(await redeem(gql, rich, future["id"], "k5")) == ["REWARD_INACTIVE"]
    ended = await new_reward(
        gql,
        name="Ended",
        pointsCost=1,
        activeFrom=iso(datetime.now(UTC) - timedelta(days=2)),
        activeUntil=iso(datetime.now(UTC) - timedelta(days=1)),
    )
    assert codes(await redeem(gql, rich, ended["id"], "k6")) == ["REWARD_INACTIVE"]
    archived = await new_reward(gql, name="Gone", pointsCost=1)
    await gql(ARCHIVE, {"input": {"id": archived["id"]}})
    assert codes(await redeem(gql, rich, archived["id"], "k7")) == ["REWARD_INACTIVE"]

    gold = await add_tier(database, "Gold", 3)
    silver = await add_tier(database, "Silver", 2)
    lounge = await new_reward(gql, name="Lounge", pointsCost=1, lowestTierId=gold)
    assert codes(await redeem(gql, rich, lounge["id"], "k8")) == ["TIER_TOO_LOW"]  # no tier
    await set_tier(database, rich, silver)
    assert codes(await redeem(gql, rich, lounge["id"], "k9")) == ["TIER_TOO_LOW"]
    await set_tier(database, rich, gold)
    assert (await redeem(gql, rich, lounge["id"], "k10"))["userErrors"] == []

    # Refusals wrote nothing: the poor and the sold-out customers have no entry but
    # their seed, and the stock is still 0 (not -1, not given back).
    for customer, balance in ((other, 10), (rich, 999)):
        state = await account(gql, customer)
        assert state["points"]["available"] == balance
        assert [e["kind"] for e in state["ledger"]["nodes"] if e["kind"] == "REDEEM"] == (
            ["REDEEM"] if customer == rich else []
        )
    listed = await gql("query($id: ID!) { reward(id: $id) { stock } }", {"id": reward["id"]})
    assert listed["reward"]["stock"] == 0


async def test_code_is_used_once_and_cancel_gives_points_and_stock_back(gql, database):
    shopper = await new_customer(gql, "use-1", points=500)
    reward = await new_reward(gql, name="Tote", pointsCost=200, stock=10)
    issued = (await redeem(gql, shopper, reward["id"], "r1"))["redemption"]
    code = issued["code"]
    assert issued["status"] == "ISSUED" and issued["reward"]["stock"] == 9
    raw = code.replace("-", "")
    assert len(raw) == CODE_LENGTH and set(raw) <= set(CODE_ALPHABET)
    assert code == f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"

    looked_up = await gql(
        "query($c: String!) { redemption(code: $c) { id status } }", {"c": raw.lower()}
    )
    assert looked_up["redemption"] == {"id": issued["id"], "status": "ISSUED"}
    used = (await gql(USE, {"code": f" {raw.lower()} "}))["redemptionUse"]
    assert used["userErrors"] == [] and used["redemption"]["status"] == "USED"
    assert used["redemption"]["usedAt"] is not None
    twice = (await gql(USE, {"code": code}))["redemptionUse"]
    assert codes(twice) == ["ALREADY_USED"]
    assert codes((await gql(USE, {"code": "NOPE-NOPE-NOPE1"}))["redemptionUse"]) == ["NOT_FOUND"]
    cannot = await gql(CANCEL, {"input": {"id": issued["id"], "idempotencyKey": "c0"}})
    assert codes(cannot["redemptionCancel"]) == ["ALREADY_USED"]

    second = (await redeem(gql, shopper, reward["id"], "r2"))["redemption"]
    cancelled = await gql(CANCEL, {"input": {"id": second["id"], "idempotencyKey": "c1"}})
    payload = cancelled["redemptionCancel"]
    assert payload["userErrors"] == [] and payload["redemption"]["status"] == "CANCELLED"
    assert payload["customer"]["points"]["available"] == 300
    assert payload["redemption"]["reward"]["stock"] == 9
    replay = await gql(CANCEL, {"input": {"id": second["id"], "idempotencyKey": "c1"}})
    assert replay["redemptionCancel"]["replayed"] is True
    assert replay["redemptionCancel"]["customer"]["points"]["available"] == 300
    other_key = await gql(CANCEL, {"input": {"id": second["id"], "idempotencyKey": "c2"}})
    assert codes(other_key["redemptionCancel"]) == ["ALREADY_CANCELLED"]
    assert codes((await gql(USE, {"code": second["code"]}))["redemptionUse"]) == [
        "ALREADY_CANCELLED"
    ]

    state = await account(gql, shopper)
    assert [(e["kind"], e["points"]) for e in state["ledger"]["nodes"]] == [
        ("REDEEM_CANCEL", 200),
        ("REDEEM", -200),
        ("REDEEM", -200),
        ("ADJUST", 500),
    ]
    assert state["ledger"]["nodes"][0]["redemption"]["id"] == second["id"]
    assert [r["status"] for r in state["redemptions"]["nodes"]] == ["CANCELLED", "USED"]


async def test_idempotent_redeem_sequential_and_conflict(gql, database):
    shopper = await new_customer(gql, "idem-1", points=1000)
    mug = await new_reward(gql, name="Mug", pointsCost=100)
    cap = await new_reward(gql, name="Cap", pointsCost=100)
    results = [await redeem(gql, shopper, mug["id"], "same") for _ in range(20)]
    assert {r["redemption"]["id"] for r in results} == {results[0]["redemption"]["id"]}
    assert {r["redemption"]["code"] for r in results} == {results[0]["redemption"]["code"]}
    assert [r["replayed"] for r in results] == [False] + [True] * 19
    conflict = await redeem(gql, shopper, cap["id"], "same")
    assert codes(conflict) == ["IDEMPOTENCY_CONFLICT"]
    state = await account(gql, shopper)
    assert state["points"]["available"] == 900
    assert state["redemptions"]["totalCount"] == 1
    # Keys are per customer: another shopper's app may use the same text.
    neighbour = await new_customer(gql, "idem-2", points=100)
    theirs = await redeem(gql, neighbour, cap["id"], "same")
    assert theirs["userErrors"] == [] and theirs["replayed"] is False


async def test_customer_token_redeems_and_cancels_for_itself_only(gql, client, database):
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    mine = await new_customer(gql, "tok-1", points=500)
    theirs = await new_customer(gql, "tok-2", points=500)
    reward = await new_reward(gql, name="Free latte", pointsCost=120)
    pricey = await new_reward(gql, name="Espresso machine", pointsCost=5000)
    token = (await storefront(TOKEN, {"customerId": mine}))["customerTokenCreate"]["token"]
    shopper = gql.as_key(token)

    me = await shopper("{ me { id points { available } } }")
    assert me["me"] == {"id": mine, "points": {"available": 500}}
    catalog = await shopper(REWARDS, {"filter": {"affordableFor": mine, "activeOnly": True}})
    assert [r["id"] for r in catalog["rewards"]["nodes"]] == [reward["id"]]
    everything = await shopper(REWARDS)
    assert {r["id"] for r in everything["rewards"]["nodes"]} == {reward["id"], pricey["id"]}

    own = await redeem(shopper, mine, reward["id"], "t1")
    assert own["userErrors"] == [] and own["customer"]["points"]["available"] == 380
    found = await shopper(
        "query($c: String!) { redemption(code: $c) { id } }", {"c": own["redemption"]["code"]}
    )
    assert found["redemption"]["id"] == own["redemption"]["id"]
    node = await shopper(
        "query($id: ID!) { node(id: $id) { ... on Redemption { status } } }",
        {"id": own["redemption"]["id"]},
    )
    assert node["node"] == {"status": "ISSUED"}
    listed = await shopper("{ me { redemptions { nodes { id } } } }")
    assert listed["me"]["redemptions"]["nodes"] == [{"id": own["redemption"]["id"]}]
    cancelled = await shopper(
        CANCEL, {"input": {"id": own["redemption"]["id"], "idempotencyKey": "t2"}}
    )
    assert cancelled["redemptionCancel"]["redemption"]["status"] == "CANCELLED"

    # Everything about another customer is FORBIDDEN, and nothing is written.
    foreign = await redeem(gql, theirs, reward["id"], "x1")
    attempts = [
        (REWARDS, {"filter": {"affordableFor": theirs}}),
        (
            """mutation($input: RewardRedeemInput!) { rewardRedeem(input: $input) { replayed } }""",
            {"input": {"customerId": theirs, "rewardId": reward["id"], "idempotencyKey": "t3"}},
        ),
        (
            """mutation($input: RedemptionCancelInput!) { redemptionCancel(input: $input) { replayed } }""",
            {"input": {"id": foreign["redemption"]["id"], "idempotencyKey": "t4"}},
        ),
        (
            """mutation($input: RedemptionCancelInput!) { redemptionCancel(input: $input) { replayed } }""",
            {"input": {"id": ids.encode("Redemption", 999), "idempotencyKey": "t5"}},
        ),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": foreign["redemption"]["id"]}),
        (
            "query($c: String!) { redemption(code: $c) { id } }",
            {"c": foreign["redemption"]["code"]},
        ),
        (
            "mutation($c: String!) { redemptionUse(input: {code: $c}) { userErrors { code } } }",
            {"c": own["redemption"]["code"]},
        ),
        (
            """mutation { rewardCreate(input: {name: "x", pointsCost: 1, kind: CUSTOM}) { reward { id } } }""",
            {},
        ),
    ]
    for query, variables in attempts:
        body = await shopper.raw(query, variables)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], (query, body)
    state = await account(gql, theirs)
    assert state["points"]["available"] == 380
    assert [r["status"] for r in state["redemptions"]["nodes"]] == ["ISSUED"]
