"""DateTime, Date and Decimal as the API accepts them: bounded where they enter.

strawberry's built-ins accept a DateTime without offset, year 1, `sNaN` and
`1e999999999`; each then fails deep in a resolver or in SQL as "Unexpected error.".
Refusing them while coercing the input covers every field at once, and the error
(BAD_USER_INPUT, see api/protections/messages.py) names the variable path or argument.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

from graphql import (
    ASTValidationRule,
    GraphQLError,
    StringValueNode,
    ValueNode,
    value_from_ast_untyped,
)
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import isoformat
from strawberry.types.scalar import ScalarDefinition

from api.protections.messages import literal_path

MIN_YEAR = 1900
MAX_YEAR = 9999
MAX_TEXT = 64
MAX_DECIMAL_DIGITS = 30
MAX_DECIMAL_EXPONENT = 18
"""|value| < 10**19 and at most 30 significant digits: above any amount or rate."""


def _refused(type_name: str, value: object, why: str) -> StrawberryInputCoercionError:
    shown = value if len(str(value)) <= MAX_TEXT else f"{str(value)[:MAX_TEXT]}…"
    return StrawberryInputCoercionError(f'Value cannot represent a {type_name}: "{shown}". {why}')


def _text(type_name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _refused(type_name, value, "Expected a string.")
    if len(value) > MAX_TEXT:
        raise _refused(type_name, value, f"Longer than {MAX_TEXT} characters.")
    return value


def _in_years(type_name: str, value: object, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _refused(type_name, value, f"The year must be between {MIN_YEAR} and {MAX_YEAR}.")


def parse_datetime(value: object) -> dt.datetime:
    text = _text("DateTime", value)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _refused("DateTime", value, "Expected ISO 8601 with an offset.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _refused("DateTime", value, "The offset is missing (e.g. +08:00 or Z).")
    _in_years("DateTime", value, parsed.year)
    try:
        _in_years("DateTime", value, parsed.astimezone(dt.UTC).year)
    except OverflowError:
        raise _refused("DateTime", value, "Out of range.") from None
    return parsed


def parse_date(value: object) -> dt.date:
    text = _text("Date", value)
    try:
        parsed = dt.date.fromisoformat(text)
    except ValueError:
        raise _refused("Date", value, "Expected an ISO 8601 date (YYYY-MM-DD).") from None
    _in_years("Date", value, parsed.year)
    return parsed


def parse_decimal(value: object) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _refused("Decimal", value, "Expected a string or a number.")
    text = _text("Decimal", str(value))
    try:
        parsed = decimal.Decimal(text.strip())
    except decimal.DecimalException:
        raise _refused("Decimal", value, "Expected a decimal number.") from None
    if not parsed.is_finite():
        raise _refused("Decimal", value, "NaN and Infinity are not numbers here.")
    if parsed and (
        parsed.adjusted() > MAX_DECIMAL_EXPONENT
        or parsed.adjusted() < -MAX_DECIMAL_DIGITS
        or len(parsed.as_tuple().digits) > MAX_DECIMAL_DIGITS
    ):
        raise _refused("Decimal", value, "Out of range.")
    if not parsed and parsed.as_tuple().exponent not in range(-MAX_DECIMAL_DIGITS, 1):
        parsed = decimal.Decimal(0)  # 0E+999999999 is zero; keep it small
    return parsed


def _literal(parse: Callable[[object], Any]) -> Callable[..., Any]:
    """parse_literal: as parse_value, with the value's node so the error can name it."""

    def inner(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
        try:
            return parse(value_from_ast_untyped(node, variables))
        except StrawberryInputCoercionError as exc:
            raise StrawberryInputCoercionError(exc.message, nodes=[node]) from None

    return inner


def _scalar(
    name: str, description: str, origin: type, parse: Callable[[object], Any], serialize: Any
) -> ScalarDefinition:
    return ScalarDefinition(
        name=name,
        description=description,
        specified_by_url=None,
        serialize=serialize,
        parse_value=parse,
        parse_literal=_literal(parse),
        origin=origin,
    )


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    dt.datetime: _scalar(
        "DateTime",
        "Date with time (ISO 8601) with its offset, e.g. 2025-03-01T10:00:00+08:00; "
        f"years {MIN_YEAR}–{MAX_YEAR}.",
        dt.datetime,
        parse_datetime,
        isoformat,
    ),
    dt.date: _scalar(
        "Date",
        f"Date (ISO 8601, YYYY-MM-DD); years {MIN_YEAR}–{MAX_YEAR}.",
        dt.date,
        parse_date,
        isoformat,
    ),
    decimal.Decimal: _scalar(
        "Decimal",
        "Decimal (fixed-point), as a string or a number; finite, below 10^19, "
        f"at most {MAX_DECIMAL_DIGITS} significant digits.",
        decimal.Decimal,
        parse_decimal,
        str,
    ),
}
"""strawberry's own scalars, replaced in every schema (see api/schema.py)."""


class NoNulInStrings(ASTValidationRule):
    """Refuses string literals holding NUL (\\u0000), naming the argument.

    PostgreSQL text cannot hold NUL (asyncpg refuses the whole statement), so a NUL in
    any name, key or search would end as "Unexpected error."; GraphQL's own String
    scalar cannot be replaced, so literals are checked here and variables at the HTTP
    edge (api/http/transport.py).
    """

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if "\x00" in node.value:
            name = literal_path(self.context.document, node) or "a string literal"
            self.report_error(
                GraphQLError(
                    f"Argument '{name}' has an invalid value: NUL (\\u0000) is not allowed.",
                    nodes=[node],
                    extensions={"code": "BAD_USER_INPUT"},
                )
            )
