"""Bounds on a rule's literals.

Every literal is bounded when the rule is read, so a rule that passes can always be
compiled to SQL: no timedelta overflow, no date past 9999-12-31 once a day is added,
no integer wider than a BIGINT. A rule saved before these bounds existed now fails
to parse, and readers treat such a stored rule as matching nobody.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from domain.segment_rules.text import RuleText, Span

MIN_RULE_DATE = date(1900, 1, 1)
MAX_RULE_DATE = date(9999, 12, 30)
MAX_RULE_NUMBER = Decimal(10) ** 15
MAX_RULE_DECIMALS = 6
MAX_RELATIVE_DAYS = 36_525
"""A relative date reaches back at most a hundred years."""


def bounded_date(text: RuleText, day: date, span: Span) -> date:
    if not MIN_RULE_DATE <= day <= MAX_RULE_DATE:
        raise text.error(
            f"Dates go from {MIN_RULE_DATE} to {MAX_RULE_DATE}; {day} is outside {{at}}", span
        )
    return day


def bounded_number(text: RuleText, number: Decimal, span: Span) -> Decimal:
    exponent = number.as_tuple().exponent
    if abs(number) >= MAX_RULE_NUMBER or (
        isinstance(exponent, int) and exponent < -MAX_RULE_DECIMALS
    ):
        raise text.error(
            f"Numbers are below {MAX_RULE_NUMBER:,} with at most {MAX_RULE_DECIMALS} decimals "
            "{at}",
            span,
        )
    return number


def bounded_delta(text: RuleText, unit: str, amount: int, span: Span) -> timedelta:
    per_day = {"days": 1.0, "hours": 24.0, "weeks": 1 / 7}.get(unit, 1.0)
    if amount > MAX_RELATIVE_DAYS * per_day:
        raise text.error(
            f"A relative date reaches back at most {MAX_RELATIVE_DAYS} days {{at}}", span
        )
    return timedelta(**{unit: amount})
