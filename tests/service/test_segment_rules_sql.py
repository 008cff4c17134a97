"""Segment rules compiled to SQL, matched against a small hand-built dataset on both
databases. The expected members of every rule are worked out here from the data.

As of T = 2026-06-30 12:00 UTC (program time zone UTC, default thresholds):

| customer | counted orders (days before T: net)      | stage    | R   | F | M    |
| -------- | ---------------------------------------- | -------- | --- | - | ---- |
| alice    | 200: 200, 100: 300, 40: 100              | SILENT   | 40  | 3 | 600  |
| bob      | 10: 1000  (+ an order 5 days AFTER T)     | ACTIVE   | 10  | 1 | 1000 |
| carol    | 120: 800  (100: 50 refunded in full)      | CHURNED  | 120 | 1 | 800  |
| eve      | 3: 100 refunded 40 → 60                   | NEW      | 3   | 1 | 60   |
| dave     | none                                      | PROSPECT |     |   |      |
| frank    | none; erased, wears VIP: in no segment    |          |     |   |      |

RFM over the four buyers: mean R = 43.25 → recent: alice, bob, eve; mean F = 1.5 →
frequent: alice; mean M = 615 → high value: bob, carol. Classes: alice GENERAL_VALUE,
bob IMPORTANT_DEVELOP, carol IMPORTANT_WINBACK, eve GENERAL_DEVELOP.
Scores 1 + floor(5 × worse / 4): R alice 2, bob 3, carol 1, eve 4; F alice 4, others 1;
M alice 2, bob 4, carol 3, eve 1.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from domain.program import ProgramSettings
from domain.segment_rules import parse_rule
from domain.segments import BUILT_IN_SEGMENTS
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.orders import OrderItemRow, OrderRow, SqlOrderRepository
from persistence.segments import segment_count, segment_members, segments_of_customers
from persistence.tags import CustomerTagRow, TagRow
from persistence.tiers import TierRow
from tests.conftest import utc

T = utc(2026, 6, 30, 12)
PROGRAM = ProgramSettings()
EVERYONE = {"alice", "bob", "carol", "dave", "eve"}


async def build(database: Database) -> dict[str, int]:
    async with database.sessions() as session:
        silver = TierRow(
            name="Silver",
            name_key="silver",
            rank=1,
            threshold=Decimal(1000),
            earn_multiplier=Decimal("1.2"),
            created_at=T,
        )
        gold = TierRow(
            name="Gold",
            name_key="gold",
            rank=2,
            threshold=Decimal(3000),
            earn_multiplier=Decimal("1.5"),
            created_at=T,
        )
        session.add_all([silver, gold])
        await session.flush()

        def customer(external_id: str, **values) -> CustomerRow:  # noqa: ANN003
            values.setdefault("created_at", utc(2026, 1, 1))
            row = CustomerRow(external_id=external_id, updated_at=values["created_at"], **values)
            session.add(row)
            return row

        rows = {
            "alice": customer(
                "alice",
                name="Alice",
                city="Shanghai",
                acquisition_channel="WeChat",
                birthday=date(1990, 6, 15),
                attributes={"level": 3, "source": "wechat", "beta": True},
                points_balance=500,
                tier_id=silver.id,
                created_at=utc(2025, 1, 1),
            ),
            "bob": customer(
                "bob",
                name="Bob",
                city="Beijing",
                birthday=date(1985, 2, 10),
                attributes={"level": "3"},
                tier_id=gold.id,
            ),
            "carol": customer("carol", name="Carol", created_at=utc(2026, 6, 30, 11)),
            "dave": customer("dave", name="Dave", city="Hangzhou", created_at=T),
            "eve": customer("eve", name="x' OR 1=1 --"),
            "frank": customer("frank", name="Frank", erased_at=T),
        }
        await session.flush()
        ids = {name: row.id for name, row in rows.items()}

        count = 0

        def order(who: str, days: float, amount: str, refunded: str = "0") -> OrderRow:
            nonlocal count
            count += 1
            row = OrderRow(
                customer_id=ids[who],
                external_id=f"o-{count}",
                amount=Decimal(amount),
                refunded_amount=Decimal(refunded),
                currency="CNY",
                placed_at=T - timedelta(days=days),
                award_points=True,
                points_earned=0,
                points_reversed=0,
                request_hash="x",
                created_at=T,
            )
            session.add(row)
            return row

        a1 = order("alice", 200, "200")
        order("alice", 100, "300")
        a3 = order("alice", 40, "100")
        order("bob", 10, "1000")
        b2 = order("bob", -5, "5000")  # after T
        order("carol", 120, "800")
        c2 = order("carol", 100, "50", refunded="50")
        order("eve", 3, "100", refunded="40")
        await session.flush()
        for who in ("alice", "bob", "carol", "eve"):  # as orderRecord does
            await SqlOrderRepository(session).refresh_customer_stats(ids[who])

        def item(o: OrderRow, category: str, quantity: int, price: str) -> None:
            session.add(
                OrderItemRow(
                    order_id=o.id,
                    customer_id=o.customer_id,
                    sku=f"sku-{category}",
                    category=category,
                    quantity=quantity,
                    unit_price=Decimal(price),
                )
            )

        item(a1, "Shoes", 2, "50")
        item(a1, "Bags", 1, "100")
        item(a3, "shoes", 1, "100")
        item(b2, "Shoes", 1, "5000")
        item(c2, "Shoes", 1, "50")

        vip = TagRow(name="VIP", name_key="vip", source="MANUAL", created_at=T)
        dnc = TagRow(
            name="do-not-contact", name_key="do-not-contact", source="MANUAL", created_at=T
        )
        session.add_all([vip, dnc])
        await session.flush()
        session.add_all(
            [
                CustomerTagRow(customer_id=ids["alice"], tag_id=vip.id),
                CustomerTagRow(customer_id=ids["bob"], tag_id=dnc.id),
                CustomerTagRow(customer_id=ids["frank"], tag_id=vip.id),
            ]
        )
        await session.commit()
    return ids


async def members(database: Database, rule: str, as_of: datetime = T) -> set[str]:
    parsed = parse_rule(rule)
    async with database.sessions() as session:
        page = await segment_members(session, parsed, as_of, PROGRAM, None, 100)
        count = await segment_count(session, parsed, as_of, PROGRAM)
    found = {c.external_id for c in page.items}
    assert count == len(found)
    return found


CASES = [
    # the example
    ('lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"', {"alice"}),
    ("lifecycle = ACTIVE", {"bob"}),
    ("lifecycle IN (NEW, prospect)", {"eve", "dave"}),
    ("lifecycle NOT IN (NEW, PROSPECT)", {"alice", "bob", "carol"}),
    ("lifecycle = CHURNED", {"carol"}),
    ("orders_count >= 1", {"alice", "bob", "carol", "eve"}),
    ("orders_count = 0", {"dave"}),
    ("orders_count > 1", {"alice"}),
    ("orders_count != 1", {"alice", "dave"}),
    ("orders_count IN (0, 3)", {"alice", "dave"}),
    ("total_spent > 700", {"bob", "carol"}),  # bob's order after T is not counted
    ("total_spent <= 60", {"eve", "dave"}),  # eve's partial refund: 100 − 40
    ("total_spent = 600.00", {"alice"}),
    ("average_order_value > 250", {"bob", "carol"}),
    ("average_order_value = 200", {"alice"}),
    ("average_order_value != 200", {"bob", "carol", "eve", "dave"}),  # dave: unknown
    ("average_order_value < 100", {"eve"}),  # dave has no average, so no match
    ("points_balance > 100", {"alice"}),
    ("points_balance = 0", {"bob", "carol", "dave", "eve"}),
    ("last_order_at > -30d", {"bob", "eve"}),
    ("last_order_at < -30d", {"alice", "carol"}),
    ("last_order_at >= -960h", {"alice", "bob", "eve"}),  # 40 days, exactly alice's
    ("last_order_at > -1w", {"eve"}),
    ("first_order_at = 2026-06-27", {"eve"}),
    ("first_order_at >= 2026-06-27", {"eve"}),
    ("first_order_at > 2026-06-27", set()),
    ("first_order_at <= 2026-06-27", {"alice", "bob", "carol", "eve"}),
    ("first_order_at < 2026-06-27", {"alice", "bob", "carol"}),
    ("first_order_at != 2026-06-27", {"alice", "bob", "carol", "dave"}),
    ("created_at < 2026-01-01", {"alice"}),
    ("created_at >= 2026-06-30", {"carol", "dave"}),
    ("created_at > -1h", {"dave"}),  # carol was created exactly an hour before T
    ("rfm_class = GENERAL_VALUE", {"alice"}),
    ("rfm_class = IMPORTANT_DEVELOP", {"bob"}),
    ("rfm_class = IMPORTANT_WINBACK", {"carol"}),
    ("rfm_class = GENERAL_DEVELOP", {"eve"}),
    ("rfm_class != GENERAL_DEVELOP", {"alice", "bob", "carol", "dave"}),
    ("r_score = 2", {"alice"}),
    ("r_score = 3", {"bob"}),
    ("r_score = 1", {"carol"}),
    ("r_score = 4", {"eve"}),
    ("f_score = 4", {"alice"}),
    ("f_score = 1", {"bob", "carol", "eve"}),
    ("m_score >= 3", {"bob", "carol"}),
    ("m_score IN (1, 2)", {"alice", "eve"}),
    ('tag = "vip"', {"alice"}),  # frank wears it too, but he was erased
    ('tag IN ("VIP", "Do-Not-Contact")', {"alice", "bob"}),
    ('tag != "vip"', {"bob", "carol", "dave", "eve"}),
    ('tag NOT IN ("vip", "do-not-contact")', {"carol", "dave", "eve"}),
    ('tier = "gold"', {"bob"}),
    ('tier >= "Silver"', {"alice", "bob"}),
    ('tier < "Gold"', {"alice"}),
    ('tier != "Gold"', {"alice", "carol", "dave", "eve"}),
    ('tier IN ("Silver", "Platinum")', {"alice"}),
    ('city = "shanghai"', {"alice"}),
    ('city != "Shanghai"', {"bob", "carol", "dave", "eve"}),  # unknown city included
    ('city IN ("Beijing", "Hangzhou")', {"bob", "dave"}),
    ('channel = "wechat"', {"alice"}),
    ("gender = FEMALE", set()),
    ("birthday_month = this_month", {"alice"}),
    ("birthday_month IN (1, 2)", {"bob"}),
    ("birthday_month != 6", {"bob", "carol", "dave", "eve"}),
    ("birthday_month >= 3", {"alice"}),
    ('category_spent("shoes") >= 200', {"alice"}),  # Shoes + shoes: case ignored
    ('category_spent("Shoes") > 0', {"alice"}),  # bob's is after T, carol's refunded
    ('category_spent("bags") = 100', {"alice"}),
    ('category_spent("shoes") = 0', {"bob", "carol", "dave", "eve"}),
    ("attributes.level >= 3", {"alice"}),  # bob's level is the text "3"
    ('attributes.level = "3"', {"bob"}),
    ("attributes.level IN (1, 3)", {"alice"}),
    ("attributes.beta = true", {"alice"}),
    ("attributes.beta = false", set()),
    ("attributes.beta != true", {"bob", "carol", "dave", "eve"}),
    ('attributes["source"] = "WECHAT"', {"alice"}),
    ("attributes.missing > 0", set()),
    ("attributes.missing != 0", EVERYONE),
    # injection attempts stay literals
    ('name = "x\' OR 1=1 --"', {"eve"}),
    ("name = 'nobody\\' OR \\'1\\'=\\'1'", set()),
    ('city = "x\\"; DROP TABLE customers; --"', set()),
    ('tag = "\') OR 1=1 --"', set()),
    ('attributes["a\') OR 1=1 --"] = 1', set()),
    ('category_spent("x\') OR 1=1 --") >= 0', EVERYONE),
    # precedence and grouping: NOT > AND > OR
    ('lifecycle = NEW OR lifecycle = ACTIVE AND city = "Beijing"', {"eve", "bob"}),
    ('lifecycle = NEW OR lifecycle = ACTIVE AND city = "Shanghai"', {"eve"}),
    ('(lifecycle = NEW OR lifecycle = ACTIVE) AND city = "Beijing"', {"bob"}),
    ("NOT lifecycle = NEW AND orders_count > 0", {"alice", "bob", "carol"}),
    ("NOT (lifecycle = NEW AND orders_count > 0)", {"alice", "bob", "carol", "dave"}),
    ("NOT NOT lifecycle = NEW", {"eve"}),
    ('NOT city = "Shanghai"', {"bob", "carol", "dave", "eve"}),  # NOT is a complement
    ("orders_count > 0 AND NOT (rfm_class = GENERAL_VALUE OR m_score = 4)", {"carol", "eve"}),
]


async def test_rules_select_the_worked_out_customers(database):
    """One dataset for all the rules (a fresh database per rule would take minutes)."""
    await build(database)
    wrong = []
    for rule, expected in CASES:
        found = await members(database, rule)
        if found != expected:
            wrong.append(f"{rule}: expected {sorted(expected)}, got {sorted(found)}")
    assert wrong == []


async def test_as_of_ignores_orders_placed_later(database):
    await build(database)
    assert await members(database, "total_spent > 5000") == set()
    # Six days later bob's 5000 order counts: 6000 in total; everyone else ages.
    later = T + timedelta(days=6)
    assert await members(database, "total_spent > 5000", later) == {"bob"}
    assert await members(database, 'category_spent("shoes") >= 5000', later) == {"bob"}
    # 140 days before T only alice had ordered (her first order is 200 days before T).
    earlier = T - timedelta(days=140)
    assert await members(database, "orders_count > 0", earlier) == {"alice"}
    assert await members(database, "lifecycle = SILENT", earlier) == {"alice"}
    assert await members(database, "birthday_month = this_month", earlier) == {"bob"}


async def test_built_in_segments_partition_the_customers(database):
    await build(database)
    expected = {
        "lifecycle = PROSPECT": {"dave"},
        "lifecycle = NEW": {"eve"},
        "lifecycle = LOYAL": set(),
        "lifecycle = ACTIVE": {"bob"},
        "lifecycle = SILENT": {"alice"},
        "lifecycle = CHURNED": {"carol"},
        "rfm_class = IMPORTANT_VALUE": set(),
        "rfm_class = IMPORTANT_DEVELOP": {"bob"},
        "rfm_class = IMPORTANT_RETAIN": set(),
        "rfm_class = IMPORTANT_WINBACK": {"carol"},
        "rfm_class = GENERAL_VALUE": {"alice"},
        "rfm_class = GENERAL_DEVELOP": {"eve"},
        "rfm_class = GENERAL_RETAIN": set(),
        "rfm_class = GENERAL_WINBACK": set(),
    }
    assert [s.rule for s in BUILT_IN_SEGMENTS] == list(expected)
    for segment in BUILT_IN_SEGMENTS:
        assert await members(database, segment.rule) == expected[segment.rule], segment.rule


async def test_segments_of_a_batch_of_customers(database):
    ids = await build(database)
    keys = [(ids["alice"], T), (ids["dave"], T), (ids["frank"], T), (ids["bob"], T)]
    async with database.sessions() as session:
        found = await segments_of_customers(session, keys, PROGRAM)
    names = {key: [s.name for s in segments] for key, segments in found.items()}
    assert names[(ids["alice"], T)] == ["沉默客户", "一般价值客户"]
    assert names[(ids["dave"], T)] == ["潜在客户"]
    assert names[(ids["bob"], T)] == ["活跃客户", "重要发展客户"]
    assert names[(ids["frank"], T)] == []  # erased
