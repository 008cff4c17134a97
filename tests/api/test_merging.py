"""Merging duplicates over GraphQL: a merged pair equals one customer who had both
histories, B resolves to A, refusals, replays, and duplicate candidates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.ids import decode
from domain.jobs import run_daily
from domain.merging import MAX_SHARING
from persistence.events import EventRow
from persistence.identities import CustomerIdentityRow
from persistence.orders import CustomerMonthRow
from persistence.points import LedgerEntryRow, LotRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.ledger_calls import ADJUST, RECORD, REFUND, order_input
from tests.event_horizon import settle
from tests.ledger_audit import assert_ledger_clean

MERGE = """mutation($input: CustomerMergeInput!) {
  customerMerge(input: $input) {
    replayed
    survivor { id externalId ordersCount points { available pending debt } }
    merge { survivorId mergedId ordersMoved lotsMoved pointsMoved pendingPointsMoved tagsAdded
            redemptionsMoved referralsMoved feedbackMoved couponsMoved activitiesMoved
            identitiesMoved }
    userErrors { field code message }
  } }"""

STATE = """query($id: ID!) { customer(id: $id) {
  ordersCount totalSpent { amount } firstOrderAt lastOrderAt
  tier { name }
  points { available pending debt lifetimeEarned }
  segments { name }
} }"""

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { customer { id referralCode } userErrors { field code } } }"""

PROGRAM = """mutation($input: ProgramUpdateInput!) {
  programUpdate(input: $input) { userErrors { field code } } }"""

DUPLICATES = """query($first: Int, $after: String) {
  duplicateCandidates(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { reason reasons score first { externalId } second { externalId } } }
  } }"""


async def upsert(gql, external_id: str, **profile) -> str:
    data = await gql(UPSERT, {"input": {"externalId": external_id, "name": "n", **profile}})
    assert data["customerUpsert"]["userErrors"] == []
    return data["customerUpsert"]["customer"]["id"]


async def record(gql, customer: str, external_id: str, amount: str, placed_at) -> None:
    data = await gql(
        RECORD,
        {
            "input": order_input(
                external_id, amount, customer=customer, placed_at=placed_at.isoformat()
            )
        },
    )
    assert data["orderRecord"]["userErrors"] == []


async def refund(gql, external_id: str, amount: str) -> None:
    data = await gql(
        REFUND,
        {
            "input": {
                "orderExternalId": external_id,
                "amount": amount,
                "idempotencyKey": external_id,
            }
        },
    )
    assert data["orderRefund"]["userErrors"] == []


async def debit(gql, customer_id: str, points: int, key: str) -> None:
    data = await gql(
        ADJUST,
        {
            "input": {
                "customerId": customer_id,
                "points": -points,
                "reason": "correction",
                "idempotencyKey": key,
            }
        },
    )
    assert data["pointsAdjust"]["userErrors"] == []


async def merge(gql, survivor: str, merged: str, key: str = "merge-1") -> dict:
    data = await gql(
        MERGE, {"input": {"survivor": survivor, "merged": merged, "idempotencyKey": key}}
    )
    return data["customerMerge"]


async def lots_of(database, customer_id: str) -> list[tuple]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(LotRow).where(LotRow.customer_id == decode(customer_id, "Customer"))
        )
        return sorted(
            (r.kind, r.points, r.remaining, r.state, r.available_at, r.expires_at)
            for r in rows.scalars()
        )


async def months_of(database, customer_id: str) -> list[tuple]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(CustomerMonthRow).where(
                CustomerMonthRow.customer_id == decode(customer_id, "Customer")
            )
        )
        return sorted(
            (r.months, r.month_start, r.orders_count, r.net_cents, r.first_at, r.last_at, r.prev_at)
            for r in rows.scalars()
        )


async def state(gql, customer_id: str) -> dict:
    return (await gql(STATE, {"id": customer_id}))["customer"]


async def two_worlds(gql, clock) -> tuple[str, str, str]:
    """A and B (to be merged) and U, who had the union of both histories recorded
    directly: the same operations in the same order, named by U instead of A or B.

    B spends everything and is then refunded an order (a points debt); A and B each
    have a still-pending order (pendingDays 14)."""
    await gql(PROGRAM, {"input": {"pendingDays": 14}})
    now = clock.now()
    a = await upsert(gql, "a", phone="+8613800000001")
    b = await upsert(gql, "b", phone="+8613800000001")
    u = await upsert(gql, "u")
    day = timedelta(days=1)
    steps = [
        ("b", "b1", "300.00", now - 200 * day),
        ("a", "a1", "200.00", now - 100 * day),
        ("b", "b3", "120.00", now - 50 * day),
        ("a", "a2", "50.00", now - 3 * day),
        ("b", "b2", "80.00", now - 1 * day),
    ]
    for owner, order, amount, at in steps:
        await record(gql, owner, order, amount, at)
        await record(gql, "u", f"u-{order}", amount, at)
    await debit(gql, b, 420, "spend-b")
    await debit(gql, u, 420, "spend-u")
    await refund(gql, "b3", "120.00")
    await refund(gql, "u-b3", "120.00")
    return a, b, u


async def assert_same(gql, database, a: str, u: str) -> None:
    assert await state(gql, a) == await state(gql, u)
    assert await lots_of(database, a) == await lots_of(database, u)
    assert await months_of(database, a) == await months_of(database, u)


async def test_a_merge_equals_one_customer_with_both_histories(gql, database, clock, settings):
    a, b, u = await two_worlds(gql, clock)
    assert (await state(gql, b))["points"]["debt"] == 120

    merged = await merge(gql, a, b)

    assert merged["userErrors"] == []
    assert merged["merge"]["ordersMoved"] == 3
    assert merged["merge"]["pointsMoved"] == -120  # B's debt moved to A
    assert merged["merge"]["pendingPointsMoved"] == 80
    assert merged["survivor"]["points"] == {"available": 80, "pending": 130, "debt": 0}
    await assert_same(gql, database, a, u)
    await assert_ledger_clean(database)

    # The pending lots become available on A exactly as on U.
    later = clock.now() + timedelta(days=15)
    await run_daily(lambda: SqlUnitOfWork(database, settings.program_defaults()), later)
    await assert_same(gql, database, a, u)
    assert (await state(gql, a))["points"]["available"] == 210
    await assert_ledger_clean(database)


async def test_the_merged_points_pay_the_survivors_debt_as_one_customer_would(gql, database, clock):
    now = clock.now()
    a = await upsert(gql, "a")
    await upsert(gql, "b")
    u = await upsert(gql, "u")
    b = (await gql('{ customer(externalId: "b") { id } }'))["customer"]["id"]
    for owner, order, amount, days in (("a", "a1", "100.00", 30), ("b", "b1", "200.00", 20)):
        await record(gql, owner, order, amount, now - timedelta(days=days))
        await record(gql, "u", f"u-{order}", amount, now - timedelta(days=days))
    await debit(gql, a, 100, "spend-a")
    await debit(gql, u, 100, "spend-u")
    await refund(gql, "a1", "100.00")  # A: debt 100
    await refund(gql, "u-a1", "100.00")  # U: taken from B's lot instead
    assert (await state(gql, a))["points"]["debt"] == 100

    merged = await merge(gql, a, b)

    assert merged["survivor"]["points"] == {"available": 100, "pending": 0, "debt": 0}
    await assert_same(gql, database, a, u)
    await assert_ledger_clean(database)


async def test_transfer_entries_name_each_lot_on_both_ledgers(gql, database, clock):
    now = clock.now()
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    await record(gql, "b", "b1", "100.00", now - timedelta(days=30))
    await record(gql, "b", "b2", "40.00", now - timedelta(days=10))
    await merge(gql, a, b)
    ledger = """query($id: ID!) { node(id: $id) { ... on Customer {
      ledger(first: 10) { edges { node { kind points balanceAfter } } } } } }"""
    entries = (await gql(ledger, {"id": a}))["node"]["ledger"]["edges"]
    assert [e["node"] for e in entries] == [
        {"kind": "TRANSFER_IN", "points": 40, "balanceAfter": 140},
        {"kind": "TRANSFER_IN", "points": 100, "balanceAfter": 100},
    ]
    async with database.sessions() as session:
        rows = await session.execute(
            select(LedgerEntryRow.kind, LedgerEntryRow.points, LedgerEntryRow.balance_after)
            .where(LedgerEntryRow.customer_id == decode(b, "Customer"))
            .order_by(LedgerEntryRow.id)
        )
        assert [tuple(r) for r in rows.all()] == [
            ("EARN", 100, 100),
            ("EARN", 40, 140),
            ("TRANSFER_OUT", -100, 40),  # FIFO: the lot that expires first
            ("TRANSFER_OUT", -40, 0),
        ]
    # The storefront retrying an order it sent for B before the merge: a replay.
    again = await gql(
        RECORD,
        {
            "input": order_input(
                "b1", "100.00", customer="b", placed_at=(now - timedelta(days=30)).isoformat()
            )
        },
    )
    assert again["orderRecord"]["userErrors"] == []
    assert again["orderRecord"]["replayed"] is True


async def test_the_survivor_reaches_the_tier_of_the_union(gql, clock):
    for name, rank, threshold in (("Bronze", 1, "0"), ("Silver", 2, "1000")):
        created = await gql(
            """mutation($input: TierCreateInput!) { tierCreate(input: $input) {
                 userErrors { field code } } }""",
            {
                "input": {
                    "name": name,
                    "rank": rank,
                    "threshold": threshold,
                    "earnMultiplier": "1.0",
                }
            },
        )
        assert created["tierCreate"]["userErrors"] == []
    now = clock.now()
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    u = await upsert(gql, "u")
    for owner, order, amount, days in (("a", "a1", "600.00", 20), ("b", "b1", "600.00", 10)):
        await record(gql, owner, order, amount, now - timedelta(days=days))
        await record(gql, "u", f"u-{order}", amount, now - timedelta(days=days))
    assert (await state(gql, a))["tier"] == {"name": "Bronze"}
    assert (await state(gql, u))["tier"] == {"name": "Silver"}

    await merge(gql, a, b)

    assert await state(gql, a) == await state(gql, u)


async def test_replay_returns_the_first_merge_and_a_changed_request_is_refused(gql):
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    c = await upsert(gql, "c")
    first = await merge(gql, a, b, key="k")
    again = await merge(gql, a, b, key="k")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["merge"] == first["merge"]
    other = await merge(gql, a, c, key="k")
    assert [(e["field"], e["code"]) for e in other["userErrors"]] == [
        (["input", "idempotencyKey"], "IDEMPOTENCY_CONFLICT")
    ]


@pytest.mark.parametrize(
    ("case", "field", "code"),
    [
        ("itself", "merged", "INVALID"),
        ("erased survivor", "survivor", "ERASED"),
        ("erased merged", "merged", "ERASED"),
        ("already merged", "merged", "INVALID"),
        ("two referrers", "merged", "ALREADY_REFERRED"),
        ("own referrer", "merged", "SELF_REFERRAL"),
    ],
)
async def test_refusals_name_the_field_and_change_nothing(gql, database, case, field, code):
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    survivor, merged = a, b
    if case == "itself":
        merged = a
    elif case.startswith("erased"):
        victim = a if case == "erased survivor" else b
        erase = """mutation($id: ID!) { customerErase(input: {id: $id}) { userErrors { code } } }"""
        await gql(erase, {"id": victim})
    elif case == "already merged":
        c = await upsert(gql, "c")
        assert (await merge(gql, c, b, key="earlier"))["userErrors"] == []
    elif case in ("two referrers", "own referrer"):
        referral = """mutation($input: ReferralRecordInput!) { referralRecord(input: $input) {
          userErrors { code } } }"""
        codes = {}
        for name in ("r1", "r2", "a"):
            await upsert(gql, name)
            found = await gql(
                '{ customer(externalId: "%s") { referralCode } }' % name  # noqa: UP031
            )
            codes[name] = found["customer"]["referralCode"]
        pairs = [("r1", "a"), ("r2", "b")] if case == "two referrers" else [("a", "b")]
        for referrer, referee in pairs:
            done = await gql(
                referral,
                {
                    "input": {
                        "code": codes[referrer],
                        "referee": {"externalId": referee},
                        "idempotencyKey": f"{referrer}-{referee}",
                    }
                },
            )
            assert done["referralRecord"]["userErrors"] == []
    refused = await merge(gql, survivor, merged)
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", field], code)]
    assert refused["merge"] is None
    if case != "itself":
        kept = '{ customer(externalId: "b") { id } }'
        expected = b if case not in ("erased merged", "already merged") else None
        if case == "already merged":
            expected = (await gql('{ customer(externalId: "c") { id } }'))["customer"]["id"]
        found = (await gql(kept))["customer"]
        assert (found["id"] if found else None) == expected
    await assert_ledger_clean(database)


async def test_the_merged_customer_resolves_to_the_survivor(gql, clock):
    now = clock.now()
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    await gql(
        """mutation($ids: [ID!]!) { customerTagsAdd(input: {customerIds: $ids,
             tagNames: ["VIP"]}) { changedCount } }""",
        {"ids": [b]},
    )
    code_of_b = (await gql('{ customer(externalId: "b") { referralCode } }'))["customer"]
    moved = await merge(gql, a, b)
    assert moved["merge"]["tagsAdded"] == 1

    by_id = await gql("query($id: ID!) { customer(id: $id) { id tags { name } } }", {"id": b})
    assert by_id["customer"] == {"id": a, "tags": [{"name": "VIP"}]}
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": b})
    assert node["node"] == {"id": a}
    by_external = await gql('{ customer(externalId: "b") { id } }')
    assert by_external["customer"] == {"id": a}
    listed = await gql("{ customers(first: 10) { edges { node { id } } } }")
    assert [e["node"]["id"] for e in listed["customers"]["edges"]] == [a]
    summary = await gql("{ lifecycleSummary { total } }")
    assert summary["lifecycleSummary"] == {"total": 1}

    # An order naming B (a CustomerRefInput) is recorded on A.
    await record(gql, "b", "after-merge", "10.00", now)
    assert (await state(gql, a))["ordersCount"] == 1

    # customerUpsert of B's externalId updates A's profile.
    updated = await gql(
        """mutation { customerUpsert(input: {externalId: "b", city: "Hangzhou"}) {
             created customer { id externalId city } } }"""
    )
    assert updated["customerUpsert"] == {
        "created": False,
        "customer": {"id": a, "externalId": "a", "city": "Hangzhou"},
    }

    # A bare id of B (pointsAdjust's customerId) acts on A too.
    await debit(gql, b, 5, "after-merge")
    assert (await state(gql, a))["points"]["available"] == 10 - 5

    # B's referral code refers on A's behalf.
    referred = await gql(
        """mutation($input: ReferralRecordInput!) { referralRecord(input: $input) {
             referral { referrer { externalId } } userErrors { code message } } }""",
        {
            "input": {
                "code": code_of_b["referralCode"],
                "referee": {"externalId": "friend", "name": "Friend"},
                "idempotencyKey": "friend",
            }
        },
    )
    assert referred["referralRecord"]["userErrors"] == []
    assert referred["referralRecord"]["referral"] == {"referrer": {"externalId": "a"}}


async def test_duplicate_candidates_pairs_scores_and_pages(gql):
    await upsert(gql, "p1", phone="+8613800000001", email="x@example.com")
    await upsert(gql, "p2", phone="+8613800000001", email="x@example.com")
    await upsert(gql, "p3", phone="+8613800000001")
    await upsert(gql, "e1", email="solo@example.com")
    await upsert(gql, "e2", email="SOLO@example.com")
    await upsert(gql, "lone", phone="+8613900000009")
    data = (await gql(DUPLICATES, {"first": 10}))["duplicateCandidates"]
    found = [
        (
            e["node"]["first"]["externalId"],
            e["node"]["second"]["externalId"],
            e["node"]["reason"],
            e["node"]["reasons"],
            e["node"]["score"],
        )
        for e in data["edges"]
    ]
    assert found == [
        ("p1", "p2", "PHONE", ["PHONE", "EMAIL"], 80),
        ("p1", "p3", "PHONE", ["PHONE"], 60),
        ("p2", "p3", "PHONE", ["PHONE"], 60),
        ("e1", "e2", "EMAIL", ["EMAIL"], 50),
    ]
    assert data["totalCount"] == 4

    pages, after = [], None
    while True:
        page = (await gql(DUPLICATES, {"first": 1, "after": after}))["duplicateCandidates"]
        pages += [
            (e["node"]["first"]["externalId"], e["node"]["second"]["externalId"])
            for e in page["edges"]
        ]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == [(f[0], f[1]) for f in found]

    # Merged away: the pair is gone, and so are the pairs of the merged customer.
    p2 = (await gql('{ customer(externalId: "p2") { id } }'))["customer"]["id"]
    p3 = (await gql('{ customer(externalId: "p3") { id } }'))["customer"]["id"]
    await merge(gql, p2, p3)
    data = (await gql(DUPLICATES, {"first": 10}))["duplicateCandidates"]
    assert [
        (e["node"]["first"]["externalId"], e["node"]["second"]["externalId"]) for e in data["edges"]
    ] == [
        ("p1", "p2"),
        ("e1", "e2"),
    ]


async def test_a_phone_that_many_customers_share_is_not_evidence(gql):
    """A shop's own phone typed in for walk-in members is on many customers: it makes
    no pairs (it would make n² of them), while the same number of customers sharing
    their phones in twos and threes does."""
    for n in range(MAX_SHARING + 1):
        await upsert(gql, f"walk-in-{n}", phone="+8602161234567")
    for n in range(MAX_SHARING):
        await upsert(gql, f"family-{n}", phone="+8613800000042")
    await upsert(gql, "twin-a", phone="+8613900000001", email="twin@example.com")
    await upsert(gql, "twin-b", phone="+8613900000001", email="twin@example.com")
    data = (await gql(DUPLICATES, {"first": 100}))["duplicateCandidates"]
    pairs = {
        (e["node"]["first"]["externalId"], e["node"]["second"]["externalId"]) for e in data["edges"]
    }
    assert not any(a.startswith("walk-in") for a, _ in pairs)
    family = MAX_SHARING * (MAX_SHARING - 1) // 2  # at the limit, still evidence
    assert data["totalCount"] == len(pairs) == family + 1
    assert ("twin-a", "twin-b") in pairs


async def test_the_same_wechat_id_in_two_apps_is_a_candidate(gql, database, clock):
    first = decode(await upsert(gql, "mini-program"), "Customer")
    second = decode(await upsert(gql, "official-account"), "Customer")
    async with database.sessions() as session:
        session.add_all(
            [
                CustomerIdentityRow(
                    customer_id=customer,
                    type="WECHAT_OPENID",
                    namespace=app,
                    value="o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
                    created_at=clock.now(),
                )
                for customer, app in ((first, "wx-app-1"), (second, "wx-app-2"))
            ]
        )
        await session.commit()
    data = (await gql(DUPLICATES, {"first": 10}))["duplicateCandidates"]
    assert [
        (e["node"]["first"]["externalId"], e["node"]["reasons"], e["node"]["score"])
        for e in data["edges"]
    ] == [("mini-program", ["IDENTITY"], 90)]


async def test_everything_of_b_moves_to_a_and_is_counted(gql, database, clock):
    now = clock.now()
    a = await upsert(gql, "a")
    b = await upsert(gql, "b")
    await record(gql, "b", "b1", "100.00", now - timedelta(days=3))
    reward = await gql(
        """mutation { rewardCreate(input: {name: "Mug", pointsCost: 30, kind: FREE_PRODUCT})
             { reward { id } userErrors { code } } }"""
    )
    reward_id = reward["rewardCreate"]["reward"]["id"]
    template = await gql(
        """mutation { couponTemplateCreate(input: {name: "Welcome", kind: FREE_SHIPPING,
             validDays: 7}) { couponTemplate { id } userErrors { code } } }"""
    )
    template_id = template["couponTemplateCreate"]["couponTemplate"]["id"]
    code_of_b = (await gql('{ customer(externalId: "b") { referralCode } }'))["customer"]
    redeem = """mutation($b: ID!, $r: ID!) { rewardRedeem(input: {customerId: $b, rewardId: $r,
                 idempotencyKey: "redeem-b"}) { replayed userErrors { code } } }"""
    for document, variables in (
        (redeem, {"b": b, "r": reward_id}),
        (
            """mutation($b: ID!) { feedbackRecord(input: {customerId: $b, kind: NPS, score: 9})
                 { userErrors { code } } }""",
            {"b": b},
        ),
        (
            """mutation($b: ID!, $t: ID!) { couponIssue(input: {templateId: $t, customerId: $b,
                 idempotencyKey: "coupon-b"}) { userErrors { code } } }""",
            {"b": b, "t": template_id},
        ),
        (
            """mutation($code: String!) { referralRecord(input: {code: $code,
                 referee: {externalId: "friend", name: "Friend"}, idempotencyKey: "friend"})
                 { userErrors { code } } }""",
            {"code": code_of_b["referralCode"]},
        ),
    ):
        done = await gql(document, variables)
        assert all(not v["userErrors"] for v in done.values()), done
    async with database.sessions() as session:
        session.add(
            CustomerIdentityRow(
                customer_id=decode(b, "Customer"),
                type="POS_CARD",
                namespace="",
                value="8800123",
                created_at=now,
            )
        )
        await session.commit()

    merged = await merge(gql, a, b)

    assert merged["merge"] == {
        "survivorId": a,
        "mergedId": b,
        "ordersMoved": 1,
        "lotsMoved": 1,
        "pointsMoved": 70,
        "pendingPointsMoved": 0,
        "tagsAdded": 0,
        "redemptionsMoved": 1,
        "referralsMoved": 1,
        "feedbackMoved": 1,
        "couponsMoved": 1,
        "activitiesMoved": 0,
        "identitiesMoved": 1,
    }
    lists = await gql(
        """query($id: ID!) { customer(id: $id) {
             orders(first: 5) { totalCount } redemptions(first: 5) { totalCount }
             feedback(first: 5) { totalCount } coupons(first: 5) { totalCount }
             referrals(first: 5) { totalCount } } }""",
        {"id": a},
    )
    assert lists["customer"] == {
        key: {"totalCount": 1}
        for key in ("orders", "redemptions", "feedback", "coupons", "referrals")
    }
    # The shopper's app retrying its redemption for B: the first one, not a second.
    again = await gql(redeem, {"b": b, "r": reward_id})
    assert again["rewardRedeem"] == {"replayed": True, "userErrors": []}
    async with database.sessions() as session:
        owners = await session.execute(select(CustomerIdentityRow.customer_id))
        assert list(owners.scalars()) == [decode(a, "Customer")]
    await assert_ledger_clean(database)


async def test_the_daily_triggers_skip_a_merged_customer(gql, database, clock, settings):
    today = clock.now().date()
    a = await upsert(gql, "a")
    b = await upsert(gql, "b", birthday=today.replace(year=1990).isoformat())
    await merge(gql, a, b)

    await run_daily(lambda: SqlUnitOfWork(database, settings.program_defaults()), clock.now())

    await settle(database)
    async with database.sessions() as session:
        about_b = await session.execute(
            select(EventRow.type).where(EventRow.customer_id == decode(b, "Customer"))
        )
        assert "customer.birthday" not in list(about_b.scalars())
