"""The pure decision of what an order earns (domain/earning_rules/evaluate.py), with
no database: the cases the API tests do not reach one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.earning_rules.evaluate import (
    BudgetLeft,
    Cart,
    CustomerFacts,
    evaluate,
    reversal_by_line,
)
from domain.earning_rules.model import (
    ActivitySpec,
    Conditions,
    EarningRule,
    Effect,
    RuleKind,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONE = Decimal(1)


@dataclass(frozen=True)
class Line:
    sku: str
    category: str | None
    quantity: int
    unit_price: Decimal


def rule(rule_id: int, kind: RuleKind, **fields) -> EarningRule:  # noqa: ANN003
    return EarningRule(id=rule_id, name=f"r{rule_id}", kind=kind, **fields)


def earn(cart: Cart, rules: list[EarningRule], budgets=None, facts=None):  # noqa: ANN001, ANN201
    return evaluate(
        cart, facts or CustomerFacts(), rules, budgets or {}, earn_rate=ONE, zone=SHANGHAI
    )


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_a_time_window_that_wraps_midnight():
    late = rule(1, RuleKind.FIXED_BONUS, effect=Effect(points=7),
                conditions=Conditions(time_from=time(22), time_until=time(2)))  # fmt: skip
    given = {
        (h, m): earn(Cart(Decimal(10), at(h, m), None), [late]).total
        for h, m in [(21, 59), (22, 0), (23, 59), (0, 0), (1, 59), (2, 0)]
    }
    assert given == {(21, 59): 10, (22, 0): 17, (23, 59): 17, (0, 0): 17, (1, 59): 17, (2, 0): 10}


def test_points_per_amount_counts_whole_amounts_only():
    per = rule(1, RuleKind.POINTS_PER_AMOUNT, effect=Effect(points=5, per_amount=Decimal(100)))
    assert earn(Cart(Decimal("299.99"), at(12), None), [per]).rules[0].points == 10
    assert earn(Cart(Decimal("99.99"), at(12), None), [per]).rules == []


def test_an_order_without_lines_is_one_line_no_sku_rule_picks():
    skus = rule(1, RuleKind.MULTIPLIER, effect=Effect(multiplier=Decimal(2)),
                conditions=Conditions(skus=("serum",)))  # fmt: skip
    assert earn(Cart(Decimal(50), at(12), None), [skus]).total == 50


def test_a_spent_budget_gives_nothing_and_takes_no_lines():
    top = rule(1, RuleKind.MULTIPLIER, effect=Effect(multiplier=Decimal(3)), priority=9,
               stackable=False)  # fmt: skip
    below = rule(2, RuleKind.MULTIPLIER, effect=Effect(multiplier=Decimal(2)), priority=1)
    lines = [Line("a", None, 1, Decimal(100))]
    spent = earn(Cart(Decimal(100), at(12), None, lines), [top, below], {1: BudgetLeft(total=0)})
    assert [(x.rule_id, x.points, x.wanted) for x in spent.rules] == [(1, 0, 200), (2, 100, 100)]
    partly = earn(Cart(Decimal(100), at(12), None, lines), [top, below], {1: BudgetLeft(total=5)})
    assert [(x.rule_id, x.points) for x in partly.rules] == [(1, 5)]


def test_birthday_month_and_first_order_read_the_customer_facts():
    birthday = rule(1, RuleKind.BIRTHDAY_MONTH, effect=Effect(multiplier=Decimal(2)))
    welcome = rule(2, RuleKind.FIRST_ORDER_BONUS, effect=Effect(points=500))
    november = CustomerFacts(birthday=date(1990, 11, 30), first_order=False)
    cart = Cart(Decimal(40), datetime(2026, 10, 31, 16, tzinfo=UTC), None)  # 1 Nov in Shanghai
    assert earn(cart, [birthday, welcome], facts=november).total == 80
    assert earn(cart, [birthday, welcome], facts=CustomerFacts()).total == 540


def test_activity_rules_never_apply_to_orders():
    check_in = rule(1, RuleKind.ACTIVITY, effect=Effect(points=20),
                    activity=ActivitySpec("CHECK_IN"))  # fmt: skip
    assert earn(Cart(Decimal(10), at(12), None), [check_in]).total == 10


def test_each_line_reverses_on_its_own_and_never_more_than_it_gave():
    lines = [330, 377, 141, 50]
    first = reversal_by_line(lines, Decimal(330), Decimal(0), Decimal(110))
    rest = reversal_by_line(lines, Decimal(330), Decimal(110), Decimal(220))
    assert first == [110, 125, 47, 16]
    assert [a + b for a, b in zip(first, rest, strict=True)] == lines
