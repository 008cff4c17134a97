"""The segment rule language: what parses into what, and how errors read."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.segment_rules import (
    THIS_MONTH,
    AllOf,
    AnyOf,
    Condition,
    NoneOf,
    Relative,
    RuleErrors,
    parse_rule,
)


def tree(rule: str) -> object:
    """A compact view of the checked rule: ("and", …), ("or", …), ("not", …) and
    (field, op, values) with the argument folded into the field name."""

    def view(node: object) -> object:
        if isinstance(node, AllOf):
            return ("and", *(view(i) for i in node.items))
        if isinstance(node, AnyOf):
            return ("or", *(view(i) for i in node.items))
        if isinstance(node, NoneOf):
            return ("not", view(node.item))
        assert isinstance(node, Condition)
        name = node.field.name + (f"[{node.argument}]" if node.argument else "")
        return (name, node.op, node.values)

    return view(parse_rule(rule).root)


def errors(rule: str) -> list[str]:
    with pytest.raises(RuleErrors) as caught:
        parse_rule(rule)
    return [e.message for e in caught.value.errors]


def spans(rule: str) -> list[tuple[int, int, int]]:
    with pytest.raises(RuleErrors) as caught:
        parse_rule(rule)
    return [(e.span.line, e.span.column, e.span.offset) for e in caught.value.errors]


D = Decimal


@pytest.mark.parametrize(
    ("rule", "op"),
    [
        ("orders_count = 2", "="),
        ("orders_count == 2", "="),
        ("orders_count != 2", "!="),
        ("orders_count <> 2", "!="),
        ("orders_count < 2", "<"),
        ("orders_count <= 2", "<="),
        ("orders_count > 2", ">"),
        ("orders_count >= 2", ">="),
    ],
)
def test_every_comparison_operator(rule, op):
    assert tree(rule) == ("orders_count", op, (D(2),))


def test_in_and_not_in_lists():
    assert tree("lifecycle IN (SILENT, churned)") == ("lifecycle", "IN", ("SILENT", "CHURNED"))
    assert tree('tag not in ("a", "b")') == ("tag", "NOT IN", ("a", "b"))
    assert tree("m_score IN (4,5)") == ("m_score", "IN", (D(4), D(5)))


def test_precedence_not_binds_tighter_than_and_which_binds_tighter_than_or():
    rule = "orders_count = 1 OR NOT orders_count = 2 AND orders_count = 3"
    assert tree(rule) == (
        "or",
        ("orders_count", "=", (D(1),)),
        ("and", ("not", ("orders_count", "=", (D(2),))), ("orders_count", "=", (D(3),))),
    )


def test_parentheses_override_precedence():
    rule = "(orders_count = 1 OR orders_count = 2) AND NOT (city = 'x' OR city = 'y')"
    assert tree(rule) == (
        "and",
        ("or", ("orders_count", "=", (D(1),)), ("orders_count", "=", (D(2),))),
        ("not", ("or", ("city", "=", ("x",)), ("city", "=", ("y",)))),
    )


def test_keywords_ignore_case_and_rules_may_span_lines():
    rule = "lifecycle = silent\n  and total_spent > 500\n  Or not tag = 'vip'"
    assert tree(rule) == (
        "or",
        ("and", ("lifecycle", "=", ("SILENT",)), ("total_spent", ">", (D(500),))),
        ("not", ("tag", "=", ("vip",))),
    )


def test_the_issue_example():
    rule = 'lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"'
    assert tree(rule) == (
        "and",
        ("lifecycle", "=", ("SILENT",)),
        ("total_spent", ">", (D(500),)),
        ("not", ("tag", "=", ("do-not-contact",))),
    )


def test_strings_with_escapes_and_both_quotes():
    assert tree(r'name = "say \"hi\" \\ now"') == ("name", "=", ('say "hi" \\ now',))
    assert tree(r"name = 'it\'s'") == ("name", "=", ("it's",))
    assert tree(r'name = "a\tb\nc"') == ("name", "=", ("a\tb\nc",))
    assert tree('city = "上海"') == ("city", "=", ("上海",))
    assert tree('name = "x\' OR 1=1 --"') == ("name", "=", ("x' OR 1=1 --",))


def test_numbers_money_and_negative_numbers():
    assert tree("total_spent >= 99.50") == ("total_spent", ">=", (D("99.50"),))
    assert tree("points_balance < -10") == ("points_balance", "<", (D(-10),))


def test_relative_and_absolute_dates():
    assert tree("last_order_at > -30d") == ("last_order_at", ">", (Relative(timedelta(-30)),))
    assert tree("created_at >= -12h") == ("created_at", ">=", (Relative(timedelta(hours=-12)),))
    assert tree("first_order_at < -2w") == ("first_order_at", "<", (Relative(timedelta(-14)),))
    assert tree("created_at = 2026-01-31") == ("created_at", "=", (date(2026, 1, 31),))


def test_birthday_month_with_this_month():
    assert tree("birthday_month = this_month") == ("birthday_month", "=", (THIS_MONTH,))
    assert tree("birthday_month IN (1, 12)") == ("birthday_month", "IN", (1, 12))


def test_attributes_and_category_spent_take_an_argument():
    assert tree("attributes.level >= 3") == ("attributes[level]", ">=", (D(3),))
    assert tree('attributes["favourite shop"] = "Nanjing Rd"') == (
        "attributes[favourite shop]",
        "=",
        ("Nanjing Rd",),
    )
    assert tree("attributes.vip = TRUE") == ("attributes[vip]", "=", (True,))
    assert tree('category_spent("Shoes & Bags") > 100') == (
        "category_spent[Shoes & Bags]",
        ">",
        (D(100),),
    )


def test_order_derived_fields_are_known():
    assert parse_rule("lifecycle = NEW").uses_orders
    assert not parse_rule('tag = "vip" AND city = "x"').uses_orders


# ---- errors ----------------------------------------------------------------------------


def test_unknown_field_suggests_the_nearest():
    rule = "lifecycle = SILENT AND totl_spent > 500"
    assert errors(rule) == ["Unknown field 'totl_spent' at column 24 — did you mean total_spent?"]
    assert spans(rule) == [(1, 24, 23)]


def test_unknown_field_without_a_near_match():
    assert errors("shoe_size > 40") == ["Unknown field 'shoe_size' at column 1"]


def test_type_mismatches_read_plainly():
    assert errors('total_spent > "abc"') == [
        'total_spent is an amount of money; compare it with a number such as 500, not "abc" '
        "at column 15"
    ]
    assert errors("lifecycle = PURPLE") == [
        "Unknown lifecycle 'PURPLE' at column 13 (lifecycle is one of PROSPECT, NEW, LOYAL, "
        "ACTIVE, SILENT, CHURNED)"
    ]
    assert errors("lifecycle = SILNT")[0].startswith(
        "Unknown lifecycle 'SILNT' at column 13 — did you mean SILENT?"
    )
    assert errors("city = Shanghai") == ['Put text in quotes at column 8: city = "Shanghai"']
    assert errors("city > 'a'") == ["city can only be compared with =, != or IN, not > at column 1"]
    assert errors("last_order_at = -30d")[0].startswith(
        "A relative date like -30d is an instant: use <, <=, > or >= with it"
    )
    assert errors("created_at > 500") == [
        "created_at is a date; compare it with a date like 2026-01-31 or a relative date like "
        "-30d, not 500 at column 14"
    ]
    assert errors("r_score = 6") == ["r_score goes from 1 to 5; 6 is outside at column 11"]
    assert errors("orders_count > 1.5") == ["orders_count is a whole number, not 1.5 at column 16"]
    assert errors("birthday_month = 13") == [
        "birthday_month is a month from 1 to 12 or this_month, not 13 at column 18"
    ]
    assert errors("attributes.x > 'a'")[0].startswith("Only numbers can be compared with >")
    assert errors("category_spent > 5") == [
        'category_spent needs a category, like category_spent("shoes") at column 1'
    ]


def test_every_checking_error_is_reported_at_once():
    assert spans("totl_spent > 1 AND lifecycle = X AND city = 1") == [
        (1, 1, 0),
        (1, 32, 31),
        (1, 45, 44),
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "The rule is empty: write a condition such as total_spent > 500 at column 1"),
        ("total_spent >", "Expected a value after '>', found the end of the rule at column 14"),
        (
            "total_spent 500",
            "Expected a comparison (=, !=, <, <=, >, >=, IN) after total_spent, "
            "found '500' at column 13",
        ),
        (
            "(orders_count = 1",
            "Expected ')' to close the '(' at column 1, found the end of the rule at column 18",
        ),
        ("orders_count = 1)", "This ')' closes nothing at column 17"),
        (
            "orders_count = 1 orders_count = 2",
            "Expected AND or OR before 'orders_count' at column 18",
        ),
        (
            "AND orders_count = 1",
            "Expected a field such as total_spent or tag, found 'AND' at column 1",
        ),
        ('name = "abc', 'The text opened at column 8 is never closed: add a closing "'),
        ('name = "a\\qb"', "Unknown escape \\q in text at column 10; use \\\" \\' \\\\ \\n or \\t"),
        ("tag IN 'a'", 'Expected \'(\' after IN, like tag IN ("vip", "gold") at column 8'),
        (
            "tag IN ('a' 'b')",
            "Expected ',' or ')' in the IN list opened at column 8, found \"'b'\" at column 13",
        ),
        ("created_at > 30d", "Write -30d for 30 days before the as-of date at column 14"),
        (
            "created_at > -3m",
            "Unknown unit 'm' in -3m at column 14; write days as d, hours as h, "
            "weeks as w (for example -30d)",
        ),
        ("created_at > 2026-02-30", "2026-02-30 is not a calendar date at column 14"),
        ("total_spent > 5 ; drop", "Unexpected character ';' at column 17"),
    ],
)
def test_syntax_errors_say_what_was_expected_and_where(rule, message):
    assert errors(rule) == [message]


def test_positions_on_later_lines():
    rule = "lifecycle = SILENT\nAND totl_spent > 500"
    assert spans(rule) == [(2, 5, 23)]
    assert errors(rule) == [
        "Unknown field 'totl_spent' at line 2, column 5 — did you mean total_spent?"
    ]


def test_nesting_and_length_are_bounded():
    deep = "(" * 60 + "orders_count = 1" + ")" * 60
    assert "nests deeper" in errors(deep)[0]
    assert "longer than" in errors("orders_count = 1 OR " * 300 + "orders_count = 1")[0]
