"""Earning rules over GraphQL, with breakdowns computed by hand: several rules on one
order (priority, stacking, exclusion, category-only multipliers), member-day and
time windows at their edges in Asia/Shanghai, the birthday month, the first-order
bonus, budgets, and partial refunds of bonus-earning lines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.earning_calls import (
    LEDGER,
    PREVIEW,
    PROGRAM_UPDATE,
    REFUND,
    RULE_ARCHIVE,
    RULE_CREATE,
    RULE_UPDATE,
    RULES,
    SHOPPER_PREVIEW,
    cart,
    create_rule,
    lines_of,
    preview,
    record,
)
from tests.ledger_audit import assert_ledger_clean


@pytest.fixture
async def shanghai(gql):  # noqa: ANN001, ANN201
    data = await gql(PROGRAM_UPDATE, {"input": {"timezone": "Asia/Shanghai"}})
    assert data["programUpdate"]["userErrors"] == []
    return gql


SKINCARE_AND_SHOES = [
    {"sku": "serum", "quantity": 2, "unitPrice": "100", "category": "skincare"},
    {"sku": "sneaker", "quantity": 1, "unitPrice": "150", "category": "shoes"},
]


async def test_several_rules_stack_and_exclude_by_priority_and_refunds_reverse_each(
    shanghai, database
):  # noqa: ANN001
    gql = shanghai
    await create_rule(
        gql,
        name="Skincare 3x",
        kind="MULTIPLIER",
        effect={"multiplier": "3"},
        conditions={"categories": ["skincare"]},
        priority=20,
        stackable=False,
    )
    await create_rule(
        gql,
        name="Double points weekend",
        kind="MULTIPLIER",
        effect={"multiplier": "2"},
        conditions={"daysOfWeek": [6, 7]},
        priority=10,
    )
    await create_rule(
        gql,
        name="Big basket",
        kind="FIXED_BONUS",
        effect={"points": 50},
        conditions={"minOrderAmount": "300"},
        priority=5,
    )
    await create_rule(
        gql,
        name="Weekday only",
        kind="FIXED_BONUS",
        effect={"points": 999},
        conditions={"daysOfWeek": [1, 2, 3, 4, 5]},
    )
    # Saturday 7 November 2026, noon in Shanghai. Lines add up to 350 but the order is
    # 330 (a discount): each line counts for 330/350 of its price.
    order = cart("o-1", "330", "2026-11-07T12:00:00+08:00", items=SKINCARE_AND_SHOES)
    shown = await preview(gql, order)
    recorded = await record(gql, order)
    # base 330; skincare 200×330/350 = 188.571… × (3−1) → 377, and as the rule is not
    # stackable, the weekend and the bonus see only the sneaker: 150×330/350 = 141.43
    # × (2−1) → 141; the bonus applies (330 ≥ 300) on the line left: 50.
    assert lines_of(recorded["order"]) == [
        (None, 330, "330.00"),
        ("Skincare 3x", 377, "188.57"),
        ("Double points weekend", 141, "141.43"),
        ("Big basket", 50, "141.43"),
    ]
    assert recorded["order"]["pointsEarned"] == 898 == shown["points"]
    assert [(line["rule"] and line["rule"]["name"], line["points"]) for line in shown["lines"]] == [
        (None, 330),
        ("Skincare 3x", 377),
        ("Double points weekend", 141),
        ("Big basket", 50),
    ]
    ledger = (await gql(LEDGER, {"id": recorded["customer"]["id"]}))["node"]["ledger"]
    assert sorted(
        (e["node"]["kind"], e["node"]["points"], e["node"]["rule"] and e["node"]["rule"]["name"])
        for e in ledger["edges"]
    ) == [
        ("EARN", 50, "Big basket"),
        ("EARN", 141, "Double points weekend"),
        ("EARN", 330, None),
        ("EARN", 377, "Skincare 3x"),
    ]

    # A third of the order back: each line gives back floor(its points / 3) on its own:
    # 110 + 125 + 47 + 16 = 298 (one flooring of 898 would take 299).
    first = await gql(
        REFUND, {"input": {"orderExternalId": "o-1", "amount": "110", "idempotencyKey": "r-1"}}
    )
    assert first["orderRefund"]["refund"]["pointsReversed"] == 298
    # The rest: cumulatively every line gives back all it gave, 898 in total.
    rest = await gql(
        REFUND, {"input": {"orderExternalId": "o-1", "amount": "220", "idempotencyKey": "r-2"}}
    )
    assert rest["orderRefund"]["refund"]["pointsReversed"] == 600
    assert rest["orderRefund"]["order"]["pointsReversed"] == 898
    after = (await gql(LEDGER, {"id": recorded["customer"]["id"]}))["node"]
    assert after["points"]["available"] == 0
    await assert_ledger_clean(database)


async def test_a_stackable_rule_adds_on_the_same_lines(shanghai):  # noqa: ANN001
    gql = shanghai
    await create_rule(
        gql, name="Skincare 3x", kind="MULTIPLIER", effect={"multiplier": "3"},
        conditions={"categories": ["skincare"]}, priority=20, stackable=True,
    )  # fmt: skip
    await create_rule(
        gql, name="5 per 100", kind="POINTS_PER_AMOUNT",
        effect={"points": 5, "perAmount": "100"}, priority=10,
    )  # fmt: skip
    # Lines add up to the amount: skincare 200 → +400; 5 per whole 100 of 350 → 15.
    recorded = await record(
        gql, cart("o-2", "350", "2026-11-04T12:00:00+08:00", items=SKINCARE_AND_SHOES)
    )
    assert lines_of(recorded["order"]) == [
        (None, 350, "350.00"),
        ("Skincare 3x", 400, "200.00"),
        ("5 per 100", 15, "350.00"),
    ]


@pytest.mark.parametrize(
    ("placed_at", "applies"),
    [
        ("2026-11-08T09:59:59+08:00", False),  # member day, a second before the window
        ("2026-11-08T10:00:00+08:00", True),  # the window opens (inclusive)
        ("2026-11-08T13:59:59Z", True),  # 21:59:59 in Shanghai
        ("2026-11-08T14:00:00Z", False),  # 22:00 in Shanghai: the window is closed
        ("2026-11-09T02:00:00Z", False),  # 10:00 on the 9th: not member day
        ("2026-11-08T01:59:59Z", False),  # the 8th in UTC too, but 09:59:59 in Shanghai
    ],
)
async def test_member_day_and_time_window_in_the_program_time_zone(shanghai, placed_at, applies):  # noqa: ANN001
    gql = shanghai
    await create_rule(
        gql,
        name="Member day",
        kind="MULTIPLIER",
        effect={"multiplier": "2"},
        conditions={"daysOfMonth": [8], "timeFrom": "10:00:00", "timeUntil": "22:00:00"},
    )
    recorded = await record(gql, cart("o-md", "120", placed_at))
    assert recorded["order"]["pointsEarned"] == (240 if applies else 120)


@pytest.mark.parametrize(
    ("placed_at", "applies"),
    [
        ("2026-11-30T15:59:59Z", True),  # 30 November 23:59:59 in Shanghai
        ("2026-11-30T16:00:00Z", False),  # 1 December 00:00 in Shanghai
        ("2026-10-31T16:00:00Z", True),  # 1 November 00:00 in Shanghai (31 Oct in UTC)
    ],
)
async def test_birthday_month_in_the_program_time_zone(shanghai, placed_at, applies):  # noqa: ANN001
    gql = shanghai
    await create_rule(gql, name="Birthday", kind="BIRTHDAY_MONTH", effect={"points": 200})
    order = cart("o-bd", "100", placed_at, profile={"birthday": "1990-11-15"})
    recorded = await record(gql, order)
    assert recorded["order"]["pointsEarned"] == (300 if applies else 100)


async def test_first_order_bonus_once(gql):  # noqa: ANN001
    await create_rule(gql, name="Welcome", kind="FIRST_ORDER_BONUS", effect={"points": 500})
    first = await record(gql, cart("o-f1", "10", "2026-11-02T10:00:00Z"))
    assert lines_of(first["order"]) == [(None, 10, "10.00"), ("Welcome", 500, "10.00")]
    second = await record(gql, cart("o-f2", "10", "2026-11-03T10:00:00Z"))
    assert lines_of(second["order"]) == [(None, 10, "10.00")]


async def test_budgets_give_what_remains_then_nothing_and_the_preview_says_so(gql):  # noqa: ANN001
    rule = await create_rule(
        gql, name="Launch bonus", kind="FIXED_BONUS", effect={"points": 100},
        budget={"totalPoints": 150},
    )  # fmt: skip
    assert rule["budget"] == {
        "totalPoints": 150, "pointsGiven": 0, "pointsLeft": 150,
        "perCustomerPoints": None, "perCustomerPeriod": None,
    }  # fmt: skip
    a = await record(gql, cart("o-b1", "10", "2026-11-02T10:00:00Z", customer="a"))
    b = await record(gql, cart("o-b2", "10", "2026-11-02T10:00:00Z", customer="b"))
    assert lines_of(a["order"])[1:] == [("Launch bonus", 100, "10.00")]
    assert lines_of(b["order"])[1:] == [("Launch bonus", 50, "10.00")]
    shown = await preview(gql, cart("o-b3", "10", "2026-11-02T10:00:00Z", customer="c"))
    assert shown["points"] == 10
    assert [
        (x["points"], x["pointsWithoutBudget"], x["budgetLimited"]) for x in shown["lines"]
    ] == [
        (10, 10, False),
        (0, 100, True),
    ]
    c = await record(gql, cart("o-b3", "10", "2026-11-02T10:00:00Z", customer="c"))
    assert lines_of(c["order"]) == [(None, 10, "10.00")]


async def test_per_customer_budget_per_local_day(shanghai):  # noqa: ANN001
    gql = shanghai
    await create_rule(
        gql, name="Double, 100 a day", kind="MULTIPLIER", effect={"multiplier": "2"},
        budget={"perCustomerPoints": 100, "perCustomerPeriod": "DAY"},
    )  # fmt: skip
    one = await record(gql, cart("o-d1", "80", "2026-11-02T08:00:00+08:00"))
    two = await record(gql, cart("o-d2", "50", "2026-11-02T23:59:00+08:00"))
    other = await record(gql, cart("o-d3", "50", "2026-11-03T00:00:00+08:00"))
    stranger = await record(gql, cart("o-d4", "50", "2026-11-02T12:00:00+08:00", customer="x"))
    assert [o["order"]["pointsEarned"] for o in (one, two, other, stranger)] == [160, 70, 100, 100]


async def test_rule_upkeep_and_coded_refusals(gql):  # noqa: ANN001
    bad = await gql(
        RULE_CREATE,
        {
            "input": {
                "name": " ",
                "kind": "MULTIPLIER",
                "effect": {"points": 5},
                "conditions": {
                    "daysOfWeek": [0, 8],
                    "timeFrom": "10:00:00",
                    "timeUntil": "10:00:00",
                },
                "budget": {"perCustomerPoints": 10},
            }
        },
    )
    errors = {(tuple(e["field"]), e["code"]) for e in bad["earningRuleCreate"]["userErrors"]}
    assert errors == {
        (("input", "name"), "REQUIRED"),
        (("input", "effect", "multiplier"), "REQUIRED"),
        (("input", "effect", "points"), "INVALID"),
        (("input", "conditions", "daysOfWeek", "0"), "INVALID"),
        (("input", "conditions", "timeUntil"), "INVALID"),
        (("input", "budget", "perCustomerPeriod"), "REQUIRED"),
    }
    assert (await gql(RULES, {"at": None}))["earningRules"]["totalCount"] == 0

    rule = await create_rule(
        gql, name="Weekend", kind="MULTIPLIER", effect={"multiplier": "2"},
        activeFrom="2026-11-07T00:00:00+08:00", activeUntil="2026-11-09T00:00:00+08:00",
    )  # fmt: skip
    changed = await gql(
        RULE_UPDATE,
        {"input": {"id": rule["id"], "conditions": {"daysOfWeek": [6, 7]}, "priority": 3}},
    )
    assert changed["earningRuleUpdate"]["earningRule"] == {
        "id": rule["id"], "name": "Weekend", "priority": 3,
        "conditions": {"daysOfWeek": [6, 7]}, "effect": {"multiplier": "2.0000"},
    }  # fmt: skip
    inside = await gql(RULES, {"at": "2026-11-08T23:59:59+08:00"})
    outside = await gql(RULES, {"at": "2026-11-09T00:00:00+08:00"})
    assert inside["earningRules"]["totalCount"] == 1
    assert outside["earningRules"]["totalCount"] == 0
    archived = await gql(RULE_ARCHIVE, {"id": rule["id"]})
    assert archived["earningRuleArchive"]["earningRule"]["archivedAt"] is not None
    recorded = await record(gql, cart("o-a", "10", "2026-11-08T12:00:00+08:00"))
    assert recorded["order"]["pointsEarned"] == 10


async def test_preview_writes_nothing_and_tokens_preview_only_for_themselves(gql, database):  # noqa: ANN001
    from domain.access import Role
    from tests.conftest import make_key

    await create_rule(gql, name="Welcome", kind="FIRST_ORDER_BONUS", effect={"points": 500})
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT))
    mine = await record(storefront, cart("o-t0", "1", "2026-11-02T10:00:00Z", customer="me"))
    other = await record(storefront, cart("o-t1", "1", "2026-11-02T10:00:00Z", customer="you"))
    token = (
        await storefront(
            "mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }",
            {"id": mine["customer"]["id"]},
        )
    )["customerTokenCreate"]["token"]
    shopper = gql.as_key(token)
    order = cart("o-t2", "20", "2026-11-03T10:00:00Z")
    order["customer"] = {"id": mine["customer"]["id"]}
    shown = (await shopper(SHOPPER_PREVIEW, {"input": order}))["earningPreview"]["preview"]
    assert shown == {
        "points": 20, "lines": [{"ruleName": None, "points": 20, "budgetLimited": False}]
    }  # fmt: skip
    # The shopper sees the promotions' names on its own orders, never the rules' setup.
    mine_now = await shopper(
        "{ me { orders(first: 5) { nodes { externalId pointsBreakdown { ruleName points } } } } }"
    )
    assert mine_now["me"]["orders"]["nodes"] == [
        {"externalId": "o-t0", "pointsBreakdown": [
            {"ruleName": None, "points": 1}, {"ruleName": "Welcome", "points": 500}]}
    ]  # fmt: skip
    peek = await shopper.raw(
        "query($id: ID!) { node(id: $id) { ... on Order { pointsBreakdown { rule { name } } } } }",
        {"id": mine["order"]["id"]},
    )
    assert peek["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    order["customer"] = {"id": other["customer"]["id"]}
    refused = await shopper.raw(PREVIEW, {"input": order})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A preview of a new customer's first order writes no customer and no order.
    new = cart("o-t3", "20", "2026-11-03T10:00:00Z", customer="newcomer")
    assert (await preview(storefront, new))["points"] == 520
    again = await storefront.raw(
        'query { order(externalId: "o-t3") { id } customers(first: 10) { totalCount } }'
    )
    assert again["data"]["order"] is None
    assert again["data"]["customers"]["totalCount"] == 2


async def test_tier_and_saved_segment_conditions_and_a_tier_multiplied_rule(gql):  # noqa: ANN001
    from api import ids

    for name, rank, threshold, multiplier in (("Bronze", 1, "0", "1"), ("Gold", 2, "100", "1.5")):
        done = await gql(
            "mutation($input: TierCreateInput!) { tierCreate(input: $input) { userErrors { code } } }",
            {
                "input": {
                    "name": name,
                    "rank": rank,
                    "threshold": threshold,
                    "earnMultiplier": multiplier,
                }
            },
        )
        assert done["tierCreate"]["userErrors"] == []
    tiers = {t["name"]: t["id"] for t in (await gql("{ tiers { id name } }"))["tiers"]}
    segment = await gql(
        'mutation { segmentCreate(input: {name: "Repeat buyers", rule: "orders_count >= 1"}) '
        "{ segment { id } userErrors { code } } }"
    )
    segment_id = segment["segmentCreate"]["segment"]["id"]
    await create_rule(
        gql, name="Gold 2x", kind="MULTIPLIER", effect={"multiplier": "2"},
        conditions={"tierIds": [tiers["Gold"]]}, tierMultiplied=True,
    )  # fmt: skip
    await create_rule(
        gql, name="Repeat bonus", kind="FIXED_BONUS", effect={"points": 30},
        conditions={"segmentId": segment_id},
    )  # fmt: skip
    # First order: no tier yet and in no segment (as of the order, it has no order).
    first = await record(gql, cart("o-s1", "100", "2026-11-02T10:00:00Z"))
    assert lines_of(first["order"]) == [(None, 100, "100.00")]
    # 100 points made the customer Gold (×1.5): base 150; Gold 2x, tier-multiplied,
    # adds floor(100 × (2 − 1) × 1.5) = 150; one earlier order: a repeat buyer, +30.
    second = await record(gql, cart("o-s2", "100", "2026-11-03T10:00:00Z"))
    assert lines_of(second["order"]) == [
        (None, 150, "100.00"),
        ("Gold 2x", 150, "100.00"),
        ("Repeat bonus", 30, "100.00"),
    ]
    unknown = await gql(
        RULE_CREATE,
        {"input": {"name": "Ghosts", "kind": "FIXED_BONUS", "effect": {"points": 1},
                   "conditions": {"tierIds": [tiers["Gold"], ids.encode("Tier", 999999)],
                                  "segmentId": ids.encode("Segment", 999999)}}},
    )  # fmt: skip
    assert {(tuple(e["field"]), e["code"]) for e in unknown["earningRuleCreate"]["userErrors"]} == {
        (("input", "conditions", "tierIds", "1"), "NOT_FOUND"),
        (("input", "conditions", "segmentId"), "NOT_FOUND"),
    }


async def test_metrics_count_points_issued_per_rule_in_the_period(gql, clock):  # noqa: ANN001
    await create_rule(gql, name="Welcome", kind="FIRST_ORDER_BONUS", effect={"points": 500})
    await create_rule(gql, name="Everything 2x", kind="MULTIPLIER", effect={"multiplier": "2"})
    await record(gql, cart("o-m1", "40", "2026-11-02T10:00:00Z", customer="m1"))
    await record(gql, cart("o-m2", "60", "2026-11-02T10:00:00Z", customer="m2"))
    await record(gql, cart("o-m3", "10", "2026-11-02T10:00:00Z", customer="m2"))
    start = clock.now().replace(microsecond=0) - timedelta(hours=1)
    report = await gql(
        """query($from: DateTime!, $to: DateTime!) { metrics(period: {from: $from, to: $to}) {
          current { pointsIssued } pointsIssuedByRule { rule { name } points } } }""",
        {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()},
    )
    assert report["metrics"]["pointsIssuedByRule"] == [
        {"rule": {"name": "Welcome"}, "points": 1000},
        {"rule": {"name": "Everything 2x"}, "points": 110},
    ]
    assert report["metrics"]["current"]["pointsIssued"] == 110 + 110 + 1000


async def test_pending_rule_points_keep_their_rule_and_a_refund_shrinks_each_lot(
    gql, database, settings, clock
):  # noqa: ANN001
    from domain.jobs import run_daily
    from persistence.unit_of_work import SqlUnitOfWork
    from tests.conftest import utc

    await gql(PROGRAM_UPDATE, {"input": {"pendingDays": 14}})
    await create_rule(gql, name="Everything 3x", kind="MULTIPLIER", effect={"multiplier": "3"})
    placed = utc(2026, 5, 1, 9, 30)
    clock.at = placed
    recorded = await record(gql, cart("o-p", "100", placed.isoformat()))
    assert lines_of(recorded["order"]) == [(None, 100, "100.00"), ("Everything 3x", 200, "100.00")]
    assert recorded["customer"]["points"]["available"] == 0
    # A quarter refunded while pending: each lot shrinks by its own share (25 and 50).
    refund = await gql(
        REFUND, {"input": {"orderExternalId": "o-p", "amount": "25", "idempotencyKey": "p-1"}}
    )
    assert refund["orderRefund"]["refund"]["pointsReversed"] == 75
    report = await run_daily(
        lambda: SqlUnitOfWork(database, settings.program_defaults()), placed + timedelta(days=14)
    )
    assert report.activated_lots == 2
    ledger = (await gql(LEDGER, {"id": recorded["customer"]["id"]}))["node"]
    assert ledger["points"]["available"] == 225
    assert sorted(
        (e["node"]["points"], e["node"]["rule"] and e["node"]["rule"]["name"])
        for e in ledger["ledger"]["edges"]
    ) == [(75, None), (150, "Everything 3x")]
    await assert_ledger_clean(database)
