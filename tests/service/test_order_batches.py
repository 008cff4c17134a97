"""ordersRecordBulk's set-based path gives exactly what one orderRecord per input gives.

Generated histories (several customers, a customer many times in one batch, the same
externalId twice in a batch and across batches, refused inputs, pending points, tier
crossings, referrals that qualify, wrong currencies; in some, earning rules with
budgets that run out mid-batch) are recorded twice into two fresh
databases: once as batches through `record_many`, once input by input through
`record`, one after the other. The results and everything stored — statistics,
ledger, lots, tiers, referrals, events in order — must be the same, and the ledger
audit clean. And a batch costs the same number of statements whatever its size.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.earning_rules.model import Budget, BudgetPeriod, Conditions, Effect, RuleFields
from domain.earning_rules.service import EarningRuleService
from domain.errors import DomainError, InvalidInput
from domain.orders import OrderItem, RecordOrder, RecordResult
from domain.program import TierBasis
from domain.referrals import RecordReferral
from domain.segments import CreateSegment, SegmentService
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.earning_rules import EarningRuleRow, OrderPointsLineRow
from persistence.events import EventRow
from persistence.orders import OrderItemRow, OrderRow
from persistence.points import LedgerEntryRow, LotRow
from persistence.referrals import ReferralRow
from persistence.tiers import TierChangeRow, TierRow
from tests.conftest import utc
from tests.databases import PostgresTemplate, SqliteTemplate
from tests.ledger_audit import assert_ledger_clean
from tests.service import wiring

START = utc(2026, 3, 2, 10)
EXISTING = [f"c-{i}" for i in range(5)]  # c-3 and c-4 are referred and have no order yet
NEW = [f"n-{i}" for i in range(3)]


@pytest.fixture
async def twin(
    database_url: str,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> AsyncIterator[Database]:
    """A second fresh database on the same backend as `database`."""
    if database_url.startswith("sqlite"):
        database = Database.connect(sqlite_template.fresh())
        try:
            yield database
        finally:
            await database.dispose()
        return
    assert postgres_template is not None
    name, url = await postgres_template.fresh()
    database = Database.connect(url)
    try:
        yield database
    finally:
        await database.dispose()
        await postgres_template.drop(name)


async def prepare(
    database: Database, clock: FixedClock, pending_days: int, basis: str = "POINTS_EARNED"
) -> dict[str, int]:
    """The program, the default tiers, five customers and two pending referrals."""
    await wiring.program(database, clock).update(
        {
            "pending_days": pending_days,
            "referral_min_order_amount": Decimal("50"),
            "tier_basis": TierBasis(basis),
        }
    )
    await wiring.tiers(database, clock).ensure_defaults()
    orders = wiring.orders(database, clock)
    ids = {}
    for name in EXISTING:
        profile = ProfileInput(name=name)
        result = (
            await orders.record(
                RecordOrder(
                    f"seed-{name}", CustomerRef(external_id=name, profile=profile), 10, "CNY", START
                )
            )
            if name not in ("c-3", "c-4")
            else None
        )
        if result is not None:
            ids[name] = result.customer.id
    referrals = wiring.referrals(database, clock)
    for referrer, referee in (("c-0", "c-3"), ("c-1", "c-4")):
        code = await referrals.code_of(ids[referrer])
        recorded = await referrals.record(
            RecordReferral(code, CustomerRef(external_id=referee, profile=ProfileInput()), referee)
        )
        ids[referee] = recorded.referral.referee_id
    return ids


async def add_earning_rules(database: Database, clock: FixedClock, segment: bool = False) -> None:
    """Double points on the app, with a total budget and a weekly one per customer
    that the histories run through, and a first-order bonus stacked on it; with
    `segment`, a bonus for the customers of a saved segment that their own orders
    bring them into."""
    rules = EarningRuleService(wiring.uow_factory(database), clock)
    if segment:
        regular = await SegmentService(wiring.uow_factory(database), clock).create(
            CreateSegment("Regulars", "orders_count >= 2")
        )
        await rules.create(
            RuleFields(
                name="Regulars",
                kind="FIXED_BONUS",
                conditions=Conditions(segment_id=regular.id),
                effect=Effect(points=7),
            )
        )
    await rules.create(
        RuleFields(
            name="App double",
            kind="MULTIPLIER",
            conditions=Conditions(channels=("app",)),
            effect=Effect(multiplier=Decimal(2)),
            budget=Budget(
                total_points=6000,
                per_customer_points=1500,
                per_customer_period=BudgetPeriod.WEEK,
            ),
        )
    )
    await rules.create(
        RuleFields(name="Welcome", kind="FIRST_ORDER_BONUS", effect=Effect(points=50))
    )


def history(seed: int, ids: dict[str, int]) -> list[list[RecordOrder]]:
    """Batches of order commands, some of them refused, some repeated."""
    rng = random.Random(seed)
    used: list[RecordOrder] = []
    batches = []
    for b in range(4):
        batch = []
        for i in range(rng.randint(5, 30)):
            roll = rng.random()
            if used and roll < 0.12:
                earlier = rng.choice(used)
                if rng.random() < 0.3:  # same externalId, another amount: a conflict
                    earlier = RecordOrder(
                        earlier.external_id, earlier.customer, "7.77", "CNY", earlier.placed_at
                    )
                batch.append(earlier)
                continue
            name = rng.choice(EXISTING + NEW + ["ghost"])
            if name in ids and rng.random() < 0.4:
                ref = CustomerRef(id=ids[name])
            elif name == "ghost" or rng.random() < 0.1:
                ref = CustomerRef(external_id=name)  # no profile: unknown ones are refused
            else:
                ref = CustomerRef(external_id=name, profile=ProfileInput(name=name.upper()))
            amount: Any = rng.choice(["12.50", "60", "480.99", "1200", "2600", "0.99"])
            currency = "CNY"
            if rng.random() < 0.08:
                currency = "USD"
            if rng.random() < 0.05:
                amount = "-3"
            placed_at = START - timedelta(days=rng.randint(0, 40), minutes=rng.randint(0, 600))
            if rng.random() < 0.05:
                placed_at = START + timedelta(minutes=2)  # within the clock skew
            items = [
                OrderItem(f"sku-{k}", rng.randint(1, 3), Decimal("4.20"))
                for k in range(rng.randint(0, 2))
            ]
            command = RecordOrder(
                f"o-{seed}-{b}-{i}",
                ref,
                amount,
                currency,
                placed_at,
                channel=rng.choice([None, "app"]),
                items=items,
                award_points=rng.random() > 0.1,
                api_key_id=None,
            )
            used.append(command)
            batch.append(command)
        batches.append(batch)
    return batches


def outcome(result: RecordResult | DomainError | InvalidInput) -> Any:
    if isinstance(result, InvalidInput):
        return ("refused", sorted((e.code, e.field) for e in result.errors))
    if isinstance(result, DomainError):
        return ("refused", [(result.code, result.field)])
    stats = result.customer.stats
    return (result.order.external_id, result.order.points_earned, result.replayed, stats)


async def stored(database: Database) -> dict[str, list[Any]]:
    """Everything an order writes, ids replaced by the names they stand for."""
    async with database.sessions() as session:

        async def rows(model: Any, order_by: Any) -> list[Any]:
            return list((await session.execute(select(model).order_by(order_by))).scalars())

        customers = await rows(CustomerRow, CustomerRow.id)
        who = {c.id: c.external_id for c in customers}
        orders = await rows(OrderRow, OrderRow.id)
        order = {o.id: o.external_id for o in orders}
        tiers = {t.id: t.name for t in await rows(TierRow, TierRow.id)}
        lots = await rows(LotRow, LotRow.id)
        lot = {x.id: (order.get(x.order_id), x.kind, who[x.customer_id]) for x in lots}
        referrals = await rows(ReferralRow, ReferralRow.id)
        referral = {r.id: who[r.customer_id] for r in referrals}
        earning_rules = await rows(EarningRuleRow, EarningRuleRow.id)
        rule = {r.id: r.name for r in earning_rules}

        def payload(p: dict[str, Any]) -> dict[str, Any]:
            named = {"referrerId": who, "refereeId": who, "fromTierId": tiers, "toTierId": tiers}
            # Referral codes are random: each database made its own.
            return {k: named[k].get(v) if k in named else v for k, v in p.items() if k != "code"}

        return {
            "customers": [
                (
                    c.external_id,
                    c.name,
                    c.orders_count,
                    Decimal(c.total_spent),
                    c.first_order_at,
                    c.last_order_at,
                    c.points_balance,
                    c.points_debt,
                    c.lifetime_earned,
                    tiers.get(c.tier_id),
                    c.tier_since,
                )
                for c in customers
            ],
            "orders": [
                (
                    o.external_id,
                    who[o.customer_id],
                    Decimal(o.amount),
                    o.placed_at,
                    o.channel,
                    o.award_points,
                    o.points_earned,
                    o.request_hash,
                    o.created_at,
                )
                for o in orders
            ],
            "items": [
                (order[i.order_id], who[i.customer_id], i.sku, i.quantity, Decimal(i.unit_price))
                for i in await rows(OrderItemRow, OrderItemRow.id)
            ],
            "ledger": [
                (
                    who[e.customer_id],
                    e.kind,
                    e.points,
                    e.balance_after,
                    e.reason,
                    order.get(e.order_id),
                    lot.get(e.lot_id),
                    referral.get(e.referral_id),
                    e.created_at,
                )
                for e in await rows(LedgerEntryRow, LedgerEntryRow.id)
            ],
            "lots": [
                (
                    lot[x.id],
                    x.points,
                    x.remaining,
                    x.state,
                    x.available_at,
                    x.expires_at,
                    referral.get(x.referral_id),
                    x.created_at,
                )
                for x in lots
            ],
            "referrals": [
                (
                    who[r.customer_id],
                    who[r.referrer_id],
                    r.status,
                    r.qualified_at,
                    order.get(r.qualifying_order_id),
                    r.referrer_bonus,
                    r.referee_bonus,
                )
                for r in referrals
            ],
            "tier_history": [
                (
                    who[h.customer_id],
                    tiers.get(h.from_tier_id),
                    tiers.get(h.to_tier_id),
                    h.reason,
                    h.created_at,
                )
                for h in await rows(TierChangeRow, TierChangeRow.id)
            ],
            "ledger_rules": [
                rule.get(e.rule_id) for e in await rows(LedgerEntryRow, LedgerEntryRow.id)
            ],
            "breakdowns": [
                (
                    order[x.order_id],
                    who[x.customer_id],
                    rule.get(x.rule_id),
                    x.eligible_amount,
                    x.points,
                )
                for x in await rows(OrderPointsLineRow, OrderPointsLineRow.id)
            ],
            "budgets": [(r.name, r.budget_used) for r in earning_rules],
            "events": [
                (e.type, who.get(e.customer_id), payload(e.payload), e.occurred_at)
                for e in await rows(EventRow, EventRow.id)
            ],
        }


@pytest.mark.parametrize(
    ("seed", "pending_days", "basis", "rules"),
    [
        (1, 0, "POINTS_EARNED", ""),
        (2, 7, "SPEND", ""),
        (3, 0, "SPEND", ""),
        (4, 14, "POINTS_EARNED", ""),
        (5, 0, "POINTS_EARNED", "budgets"),
        (6, 7, "SPEND", "budgets"),
        (7, 0, "POINTS_EARNED", "segment"),
    ],
)
async def test_bulk_gives_what_one_order_record_per_input_gives(
    database: Database, twin: Database, seed: int, pending_days: int, basis: str, rules: str
):
    clock = FixedClock(START)
    ids = await prepare(database, clock, pending_days, basis)
    assert await prepare(twin, clock, pending_days, basis) == ids
    if rules:
        await add_earning_rules(database, clock, segment=rules == "segment")
        await add_earning_rules(twin, clock, segment=rules == "segment")
    bulk, one_by_one = wiring.orders(database, clock), wiring.orders(twin, clock)

    bulk_results, sequential_results = [], []
    for batch in history(seed, ids):
        bulk_results += await bulk.record_many(batch)
        for command in batch:
            try:
                sequential_results.append(await one_by_one.record(command))
            except (DomainError, InvalidInput) as exc:
                sequential_results.append(exc)
        clock.at += timedelta(hours=5)

    assert [outcome(r) for r in bulk_results] == [outcome(r) for r in sequential_results]
    outcomes = [outcome(r) for r in bulk_results]
    # The history did exercise what it is meant to.
    assert any(o[0] == "refused" for o in outcomes)
    assert any(o[0] != "refused" and o[2] for o in outcomes)  # replays
    bulk_state, sequential_state = await stored(database), await stored(twin)
    assert {e[0] for e in bulk_state["events"]} >= {
        "order.recorded",
        "points.earned",
        "tier.upgraded",
        "customer.created",
    }
    assert any(r[2] == "QUALIFIED" for r in bulk_state["referrals"])
    assert any(lot[3] == "PENDING" for lot in bulk_state["lots"]) == (pending_days > 0)
    for table in bulk_state:
        assert bulk_state[table] == sequential_state[table], table
    await assert_ledger_clean(database)
    await assert_ledger_clean(twin)
    if rules:
        # The rules gave points, and the app rule's budgets ran out on the way.
        budget = dict(bulk_state["budgets"])
        assert budget["Welcome"] > 0
        if rules == "segment":  # with a later order, once the earlier ones count
            assert budget["Regulars"] > 0
        lines = [b for b in bulk_state["breakdowns"] if b[2] is not None]
        assert any(line[4] > 0 for line in lines)
        assert budget["App double"] == sum(line[4] for line in lines if line[2] == "App double")
        assert budget["App double"] <= 6000
        if rules == "budgets":  # spent in full: the last orders got less
            assert budget["App double"] == 6000
        # One points.earned per ledger entry: a rule's line names its rule.
        by_rule = [e[2] for e in bulk_state["events"] if e[0] == "points.earned"]
        assert {p["ruleId"] for p in by_rule if p["kind"] == "EARN"} > {None}
        ruled = [e for e in bulk_state["ledger"] if e[1] == "EARN"]
        assert len(ruled) == len(
            [p for p in by_rule if p["kind"] == "EARN" and p["orderId"] is not None]
        )
    else:
        await assert_points_and_tiers_follow_the_rules(database, TierBasis(basis))


async def assert_points_and_tiers_follow_the_rules(database: Database, basis: TierBasis) -> None:
    """An oracle apart from the code under test: replays the event stream and checks
    each order's points (floor of amount × the multiplier of the tier held then) and
    each upgrade (the value summed from the stored orders recorded so far, in the
    window; an upgrade exactly when the value reaches a higher tier)."""
    async with database.sessions() as session:
        orders = {o.external_id: o for o in (await session.execute(select(OrderRow))).scalars()}
        tiers = list((await session.execute(select(TierRow).order_by(TierRow.rank))).scalars())
        events = list((await session.execute(select(EventRow).order_by(EventRow.id))).scalars())
    held: dict[int, TierRow | None] = {}
    recorded: dict[int, list[OrderRow]] = {}
    checked = 0
    for e in events:
        if e.type != "order.recorded":
            continue
        order = orders[e.payload["orderExternalId"]]
        customer = order.customer_id
        tier = held.get(customer)
        multiplier = Decimal(tier.earn_multiplier) if tier else Decimal(1)
        expected = int(Decimal(order.amount) * multiplier // 1) if order.award_points else 0
        assert order.points_earned == expected, order.external_id
        recorded.setdefault(customer, []).append(order)
        start = e.occurred_at - timedelta(days=365)
        value = sum(
            (
                Decimal(o.amount) if basis is TierBasis.SPEND else Decimal(o.points_earned)
                for o in recorded[customer]
                if start < o.placed_at <= e.occurred_at
            ),
            Decimal(0),
        )
        reached = [t for t in tiers if Decimal(t.threshold) <= value]
        target = reached[-1] if reached else None
        upgrade = next(
            (
                u
                for u in events
                if u.type == "tier.upgraded"
                and u.customer_id == customer
                and u.id > e.id
                and not any(
                    x.type == "order.recorded" and x.customer_id == customer and e.id < x.id < u.id
                    for x in events
                )
            ),
            None,
        )
        if target is not None and (tier is None or target.rank > tier.rank):
            assert upgrade is not None, order.external_id
            assert upgrade.payload["toTier"] == target.name
            assert Decimal(upgrade.payload["qualifyingValue"]) == value
            held[customer] = target
            checked += 1
        else:
            assert upgrade is None, order.external_id
    assert checked > 0


async def test_a_referral_qualifies_inside_a_batch_and_both_sides_are_paid(
    database: Database,
):
    clock = FixedClock(START)
    ids = await prepare(database, clock, pending_days=0)
    batch = [
        RecordOrder("small", CustomerRef(id=ids["c-3"]), "20", "CNY", START),
        RecordOrder("big", CustomerRef(id=ids["c-3"]), "80", "CNY", START),
        RecordOrder("referrer", CustomerRef(id=ids["c-0"]), "5", "CNY", START),
    ]
    results = await wiring.orders(database, clock).record_many(batch)

    state = await stored(database)
    assert state["referrals"][0][:3] == ("c-3", "c-0", "QUALIFIED")
    assert state["referrals"][0][4] == "big"
    bonus = [e for e in state["ledger"] if e[1] == "BONUS"]
    assert [(e[0], e[2]) for e in bonus] == [("c-0", 100), ("c-3", 100)]
    # The referrer's own order later in the batch sees the bonus in its balance.
    referrer = results[2]
    assert isinstance(referrer, RecordResult)
    assert referrer.customer.stats is not None
    assert referrer.customer.stats.points_balance == 10 + 100 + 5
    await assert_ledger_clean(database)


def batch_of(size: int, ids: dict[str, int], tag: str) -> list[RecordOrder]:
    """Existing and new customers, items, a refusal and a replay: every kind of write."""
    commands = [
        RecordOrder(
            f"{tag}-{i}",
            CustomerRef(id=ids[EXISTING[i % 3]])
            if i % 2
            else CustomerRef(external_id=f"{tag}-new-{i}", profile=ProfileInput(name="N")),
            "1500",
            "CNY",
            START,
            items=[OrderItem("sku", 1, Decimal("1500"))],
            channel="app" if i % 3 == 0 else None,
        )
        for i in range(size - 2)
    ]
    commands.append(RecordOrder(f"{tag}-bad", CustomerRef(id=ids["c-0"]), "1", "USD", START))
    commands.append(commands[0])
    return commands


@pytest.mark.parametrize("rules", [False, True])
async def test_a_batch_costs_the_same_statements_whatever_its_size(database: Database, rules: bool):
    """Also with earning rules active (budgets, a first-order bonus): their facts are
    read for the whole batch at once."""
    clock = FixedClock(START)
    ids = await prepare(database, clock, pending_days=0)
    if rules:
        await add_earning_rules(database, clock)
    service = wiring.orders(database, clock)
    counts = []
    for size, referee in ((10, "c-3"), (100, "c-4")):
        batch = batch_of(size, ids, f"b{size}")
        batch.append(RecordOrder(f"q-{size}", CustomerRef(id=ids[referee]), "99", "CNY", START))
        statements: list[str] = []

        def count(conn, cursor, statement, *rest, seen=statements) -> None:  # noqa: ANN001
            seen.append(statement)

        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            results = await service.record_many(batch)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert sum(isinstance(r, RecordResult) for r in results) == size
        counts.append(len(statements))
    assert counts[0] == counts[1]
    # The batch's reads and writes, the monthly read model's refresh (zone, delete,
    # insert, update; an advisory lock on PostgreSQL) and, with rules, their facts;
    # on SQLite each numbered insert (customers, orders, lots, entries) reads its
    # last rowid (persistence/statements.py).
    assert counts[0] <= (40 if rules else 33), counts
    await assert_ledger_clean(database)


async def test_two_batches_over_the_same_customers_at_once_both_commit(database: Database):
    """Two batches name the same customers in opposite orders and both create the same
    new customer: the locks are taken in id order in one statement (no deadlock), the
    loser of the new customer's insert runs again and finds it, and every order is
    recorded once with a clean ledger."""
    clock = FixedClock(START)
    ids = await prepare(database, clock, pending_days=0)
    names = ["c-0", "c-1", "c-2", "c-3", "c-4"]

    def batch(tag: str, order: list[str]) -> list[RecordOrder]:
        commands = [
            RecordOrder(f"{tag}-{name}", CustomerRef(id=ids[name]), "120", "CNY", START)
            for name in order
        ]
        shared = CustomerRef(external_id="shared-new", profile=ProfileInput(name="S"))
        commands.append(RecordOrder(f"{tag}-shared", shared, "30", "CNY", START))
        return commands

    first, second = await asyncio.gather(
        wiring.orders(database, clock).record_many(batch("a", names)),
        wiring.orders(database, clock).record_many(batch("b", names[::-1])),
    )

    assert all(isinstance(r, RecordResult) and not r.replayed for r in first + second)
    state = await stored(database)
    counts = {c[0]: c[2] for c in state["customers"]}
    assert counts["shared-new"] == 2
    assert [counts[n] for n in names] == [3, 3, 3, 2, 2]  # c-3, c-4 had no seed order
    assert (
        sum(1 for e in state["events"] if e[0] == "customer.created" and e[1] == "shared-new") == 1
    )
    await assert_ledger_clean(database)
