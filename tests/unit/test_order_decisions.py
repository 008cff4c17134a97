"""The order flow's decisions without a database (domain.orders: `order_breakdown`,
`earn`, `qualifying_contribution`, `decide_order`), each value written out: what one
new order does to its customer's statistics, points, qualifying value and tier. The
service and API tests drive the same functions through both databases; these pin
the edges in milliseconds (and are what `make mutation` runs first)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from domain.customers import Customer, CustomerStats
from domain.earning_rules.evaluate import Breakdown, BreakdownLine
from domain.earning_rules.model import Budget, Conditions, EarningRule, Effect, RuleKind
from domain.earning_rules.service import BatchFacts
from domain.orders import (
    CustomerState,
    Order,
    decide_order,
    earn,
    order_breakdown,
    qualifying_contribution,
)
from domain.points import EntryKind, LotState, PointsAccount
from domain.program import ProgramSettings, TierBasis
from domain.referrals import Referral, ReferralStatus
from domain.tiers import Standing, Tier
from tests.conftest import utc

NOW = utc(2026, 3, 1, 12)
DAY = timedelta(days=1)
SILVER = Tier(1, "Silver", 1, Decimal(100), Decimal("1.5"))
GOLD = Tier(2, "Gold", 2, Decimal(500), Decimal(2))


def order(amount: str, *, award_points: bool = True, placed_at=NOW, refunded: str = "0") -> Order:  # noqa: ANN001
    return Order(
        id=7,
        customer_id=1,
        external_id="o-7",
        amount=Decimal(amount),
        currency="CNY",
        placed_at=placed_at,
        channel=None,
        award_points=award_points,
        request_hash="h",
        created_at=NOW,
        refunded_amount=Decimal(refunded),
    )


def state(stats: CustomerStats = CustomerStats(), value: str = "0") -> CustomerState:
    customer = Customer(id=1, external_id="c-1", created_at=NOW, updated_at=NOW, stats=stats)
    return CustomerState.of(customer, Decimal(value), None)


# ---- order_breakdown ------------------------------------------------------------------


def test_an_order_without_points_breaks_down_to_its_amount_and_no_points():
    assert order_breakdown(
        order("88.50", award_points=False), ProgramSettings(), Decimal(2), 1, None
    ) == Breakdown(BreakdownLine(None, Decimal("88.50"), 0, 0))


def test_the_base_points_are_the_floor_of_amount_times_rate_times_multiplier():
    program = ProgramSettings(earn_rate=Decimal("1.5"))
    breakdown = order_breakdown(order("99.99"), program, Decimal(2), None, None)
    assert (breakdown.base.points, breakdown.rules, breakdown.total) == (299, [], 299)


# ---- earn -----------------------------------------------------------------------------


def test_earn_credits_one_lot_with_the_orders_dates_and_sets_its_points():
    program = ProgramSettings(pending_days=0, expiry_days=30)
    account = PointsAccount(1, 0, 0, 0, [])
    placed = order("50")
    breakdown = Breakdown(BreakdownLine(None, Decimal(50), 50, 50))
    lots, entries = earn(account, placed, breakdown, program, NOW, api_key_id=3)
    assert [(x.customer_id, x.kind, x.points, x.state, x.order_id, x.expires_at) for x in lots] == [
        (1, EntryKind.EARN, 50, LotState.AVAILABLE, 7, NOW + 30 * DAY)
    ]
    assert [(e.points, e.reason, e.order_id, e.api_key_id) for e in entries] == [
        (50, "order o-7", 7, 3)
    ]
    assert placed.points_earned == 50


def test_an_order_stamped_ahead_of_the_clock_starts_its_lot_now():
    account = PointsAccount(1, 0, 0, 0, [])
    ahead = order("10", placed_at=NOW + timedelta(minutes=2))
    breakdown = Breakdown(BreakdownLine(None, Decimal(10), 10, 10))
    lots, entries = earn(account, ahead, breakdown, ProgramSettings(), NOW, None)
    assert (lots[0].available_at, len(entries)) == (NOW, 1)


def test_pending_points_are_a_lot_without_an_entry():
    account = PointsAccount(1, 0, 0, 0, [])
    breakdown = Breakdown(BreakdownLine(None, Decimal(10), 10, 10))
    lots, entries = earn(
        account, order("10"), breakdown, ProgramSettings(pending_days=7), NOW, None
    )
    assert ([(x.state, x.available_at) for x in lots], entries) == (
        [(LotState.PENDING, NOW + 7 * DAY)],
        [],
    )


def test_a_rules_points_get_their_own_lot_naming_the_rule():
    account = PointsAccount(1, 0, 0, 0, [])
    breakdown = Breakdown(
        BreakdownLine(None, Decimal(10), 10, 10), [BreakdownLine(4, Decimal(10), 5, 5)]
    )
    lots, entries = earn(account, order("10"), breakdown, ProgramSettings(), NOW, None)
    assert [(x.points, x.rule_id) for x in lots] == [(10, None), (5, 4)]
    assert [e.reason for e in entries] == ["order o-7", "order o-7 (earning rule)"]


# ---- qualifying_contribution ----------------------------------------------------------


def test_an_order_adds_its_points_or_its_net_amount_inside_the_window_only():
    points = ProgramSettings(tier_window_days=30)
    spend = ProgramSettings(tier_window_days=30, tier_basis=TierBasis.SPEND)
    placed = order("80", refunded="30")
    placed.points_earned, placed.points_reversed = 80, 30
    assert qualifying_contribution(placed, points, NOW) == Decimal(50)
    assert qualifying_contribution(placed, spend, NOW) == Decimal(50)
    edge = order("80", placed_at=NOW - 30 * DAY)
    assert qualifying_contribution(edge, spend, NOW) == Decimal(0)  # the start is out
    just_in = order("80", placed_at=NOW - 30 * DAY + timedelta(microseconds=1))
    assert qualifying_contribution(just_in, spend, NOW) == Decimal(80)


# ---- decide_order ---------------------------------------------------------------------


def test_an_order_updates_the_statistics_and_earns_at_the_held_tiers_multiplier():
    before = CustomerStats(
        orders_count=2,
        total_spent=Decimal(30),
        first_order_at=NOW - 9 * DAY,
        last_order_at=NOW - 2 * DAY,
        points_balance=30,
        lifetime_earned=30,
        tier_id=SILVER.id,
        tier_since=NOW - 9 * DAY,
    )
    customer = state(before, value="30")
    late = order("20", placed_at=NOW - 5 * DAY)  # between the first and the last
    outcome = decide_order(late, customer, None, [SILVER, GOLD], ProgramSettings(), NOW, None)
    assert outcome.order is late

    assert (customer.stats.orders_count, customer.stats.total_spent) == (3, Decimal(50))
    assert (customer.stats.first_order_at, customer.stats.last_order_at) == (
        NOW - 9 * DAY,
        NOW - 2 * DAY,
    )
    assert [e.points for e in outcome.earned] == [30]  # 20 × 1.5 at Silver
    assert outcome.breakdown is not None and outcome.breakdown.total == 30
    assert (customer.account.balance, customer.qualifying_value) == (60, Decimal(60))
    assert outcome.tier_change is None


def test_a_first_order_sets_both_dates():
    customer = state()
    decide_order(order("10"), customer, None, [], ProgramSettings(), NOW, None)
    assert (customer.stats.first_order_at, customer.stats.last_order_at) == (NOW, NOW)


def test_the_order_that_reaches_a_threshold_moves_the_customer_up():
    customer = state(value="90")
    outcome = decide_order(order("10"), customer, None, [SILVER, GOLD], ProgramSettings(), NOW, 5)
    change = outcome.tier_change
    assert change is not None and change.to_tier == SILVER
    assert customer.standing == Standing(1, SILVER.id, NOW)


def test_an_order_without_points_earns_nothing_and_carries_no_breakdown():
    customer = state(value="0")
    program = ProgramSettings(tier_basis=TierBasis.SPEND)
    outcome = decide_order(
        order("100", award_points=False), customer, None, [SILVER], program, NOW, None
    )
    assert (outcome.earned, outcome.lots, outcome.breakdown) == ([], [], None)
    assert customer.account.balance == 0
    # Spend still counts towards the tier when the program measures spend.
    assert outcome.tier_change is not None and outcome.tier_change.to_tier == SILVER


def test_a_batch_order_gets_the_rules_its_channel_and_amount_meet():
    """In a batch (ordersRecordBulk, imports) the rules are filtered once per order from
    the batch's facts: a rule for one channel above a minimum amount applies to the
    order that meets both, and to no other."""
    bonus = EarningRule(
        id=5,
        name="Tmall ¥100+",
        kind=RuleKind.FIXED_BONUS,
        conditions=Conditions(channels=("tmall",), min_order_amount=Decimal(100)),
        effect=Effect(points=50),
    )

    def decided(amount: str, channel: str | None) -> int:
        placed = replace(order(amount), channel=channel)
        batch = BatchFacts(rules=[bonus], spent={}, lines=[], ordered=set())
        outcome = decide_order(placed, state(), None, [], ProgramSettings(), NOW, None, batch=batch)
        return sum(line.points for line in (outcome.breakdown or Breakdown(BASE)).rules)

    assert decided("100", "tmall") == 50
    assert decided("99.99", "tmall") == 0
    assert decided("100", "jd") == 0


BASE = BreakdownLine(None, Decimal(0), 0, 0)


def test_a_batch_order_gets_the_rules_of_the_tier_its_customer_holds():
    silver_only = EarningRule(
        id=6,
        name="Silver bonus",
        kind=RuleKind.FIXED_BONUS,
        conditions=Conditions(tier_ids=(1,)),
        effect=Effect(points=20),
    )

    def decided(tier_id: int | None) -> int:
        batch = BatchFacts(rules=[silver_only], spent={}, lines=[], ordered=set())
        customer = state(CustomerStats(tier_id=tier_id, tier_since=NOW - DAY))
        outcome = decide_order(
            order("10"), customer, None, [SILVER, GOLD], ProgramSettings(), NOW, None, batch=batch
        )
        return sum(line.points for line in (outcome.breakdown or Breakdown(BASE)).rules)

    assert (decided(SILVER.id), decided(GOLD.id), decided(None)) == (20, 0, 0)


def test_the_order_that_qualifies_a_referral_pays_both_bonuses_beside_its_points():
    """The referee's first order of at least the minimum: its own lot, then the
    referrer's and the referee's bonus lots, all in the outcome; the referral is now
    QUALIFIED on the state the batch's next order sees."""
    program = ProgramSettings(referrer_bonus=100, referee_bonus=40)
    referee = state()
    referee.referral = Referral(
        id=3,
        referrer_id=2,
        referee_id=1,
        code="ABC",
        status=ReferralStatus.PENDING,
        recorded_at=NOW - DAY,
    )
    referrer = CustomerState.of(
        Customer(id=2, external_id="c-2", created_at=NOW, updated_at=NOW), Decimal(0), None
    )

    outcome = decide_order(order("10"), referee, referrer, [], program, NOW, None)

    assert [(x.customer_id, x.kind, x.points, x.referral_id) for x in outcome.lots] == [
        (1, EntryKind.EARN, 10, None),
        (2, EntryKind.BONUS, 100, 3),
        (1, EntryKind.BONUS, 40, 3),
    ]
    assert [(e.customer_id, e.kind, e.points) for e in outcome.entries] == [
        (1, EntryKind.EARN, 10),
        (2, EntryKind.BONUS, 100),
        (1, EntryKind.BONUS, 40),
    ]
    assert [e.points for e in outcome.earned] == [10]  # the order's own points only
    assert referee.referral is not None and referee.referral.status is ReferralStatus.QUALIFIED
    assert outcome.qualification is not None and outcome.qualification.referral.qualified_at == NOW
    assert (referee.account.balance, referrer.account.balance) == (50, 100)


def test_a_batch_remembers_each_order_for_the_next_first_order_and_budgets():
    """Two orders of one customer in one batch: a first-order bonus goes to the first
    only, and a total budget of 70 gives 50 then what is left (20)."""
    first_only = EarningRule(
        id=7, name="Welcome", kind=RuleKind.FIRST_ORDER_BONUS, effect=Effect(points=30)
    )
    budgeted = EarningRule(
        id=8,
        name="Fifty",
        kind=RuleKind.FIXED_BONUS,
        effect=Effect(points=50),
        budget=Budget(total_points=70),
    )
    batch = BatchFacts(rules=[first_only, budgeted], spent={}, lines=[], ordered=set())
    customer = state()

    def rule_points() -> dict[int | None, int]:
        outcome = decide_order(
            order("1"), customer, None, [], ProgramSettings(), NOW, None, batch=batch
        )
        assert outcome.breakdown is not None
        return {line.rule_id: line.points for line in outcome.breakdown.rules}

    assert rule_points() == {7: 30, 8: 50}
    assert rule_points() == {8: 20}
    assert batch.ordered == {1}
    assert [(r, c, p) for r, c, _, p in batch.lines] == [(7, 1, 30), (8, 1, 50), (8, 1, 20)]


def test_an_order_of_one_point_keeps_its_breakdown():
    outcome = decide_order(order("1.99"), state(), None, [], ProgramSettings(), NOW, 9)
    assert outcome.breakdown is not None and outcome.breakdown.total == 1
    assert [(e.points, e.api_key_id) for e in outcome.earned] == [(1, 9)]  # the caller's key
