"""The segment rule language: text → tokens → syntax tree → checked rule.

A marketer writes a rule such as

    lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"

and this module turns it into a small typed tree (`Rule`) that `persistence.segments`
compiles to a SQLAlchemy expression with bound parameters. Nothing here evaluates
text as code and nothing builds SQL: the only way a rule reaches the database is as
values of known fields.

Why a hand-written recursive-descent parser and not a parser library (lark, pyparsing):
the grammar is four precedence levels and one comparison form, about a hundred lines;
writing it by hand keeps the module dependency-free and pure, and — what matters most
here — lets every error say, in a marketer's words, what was expected at which line
and column ("Expected a value after '>' at column 15") instead of a generator's
"unexpected token" message that would need translating anyway.

Grammar (keywords are case-insensitive; precedence NOT > AND > OR):

    rule       := or_expr EOF
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := field op value | field ["NOT"] "IN" "(" value ("," value)* ")"
    field      := name | name "(" string ")" | "attributes" "." name | "attributes" "[" string "]"
    op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value      := number | string | date | relative | word

Values: numbers `500`, `12.50`, `-3`; strings in double or single quotes with the
escapes \\" \\' \\\\ \\n \\t; absolute dates `2026-01-31` (a whole calendar day in the
program time zone); relative instants `-30d`, `-12h`, `-2w` (that long before the
rule's as-of instant); words: enum values (`SILENT`), `this_month`, `true`/`false`.

Meaning of unknown values (a customer with no city, no order, no birthday): `=`, `<`,
`>`, `IN` … never match an unknown value; `!=` and `NOT IN` always do. So every
comparison is true or false, and `NOT x` is exactly the customers `x` leaves out.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

MAX_RULE_LENGTH = 4000
MAX_DEPTH = 40
MAX_IN_VALUES = 1000

LIFECYCLE_STAGES = ("PROSPECT", "NEW", "LOYAL", "ACTIVE", "SILENT", "CHURNED")
RFM_CLASSES = (
    "IMPORTANT_VALUE",
    "IMPORTANT_DEVELOP",
    "IMPORTANT_RETAIN",
    "IMPORTANT_WINBACK",
    "GENERAL_VALUE",
    "GENERAL_DEVELOP",
    "GENERAL_RETAIN",
    "GENERAL_WINBACK",
)
GENDERS = ("FEMALE", "MALE", "OTHER", "UNDISCLOSED")


# ---- positions and errors ------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Where something is in the rule text: 0-based offset, 1-based line and column."""

    offset: int
    line: int
    column: int
    length: int = 1


class RuleError(Exception):
    """One problem in a rule, with where it is and a message that says it plainly."""

    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


class RuleErrors(Exception):
    """Every problem found in a rule (a syntax error stops at the first one)."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


class _Text:
    """The rule text, turning offsets into spans and spans into "at column 12"."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.single_line = "\n" not in text

    def span(self, offset: int, length: int = 1) -> Span:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return Span(offset, line, column, max(length, 1))

    def where(self, span: Span) -> str:
        if self.single_line:
            return f"at column {span.column}"
        return f"at line {span.line}, column {span.column}"

    def error(self, message: str, span: Span) -> RuleError:
        """`message` may hold "{at}", replaced by the position."""
        at = self.where(span)
        text = message.replace("{at}", at) if "{at}" in message else f"{message} ({at})"
        return RuleError(text, span)


# ---- tokens ----------------------------------------------------------------------------


class T(StrEnum):
    NUMBER = "number"
    STRING = "string"
    DATE = "date"
    RELATIVE = "relative"
    WORD = "word"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    DOT = "."
    LBRACKET = "["
    RBRACKET = "]"
    EOF = "end of the rule"


@dataclass(frozen=True)
class Token:
    kind: T
    text: str
    span: Span
    value: object = None

    def is_keyword(self, *words: str) -> bool:
        return self.kind is T.WORD and self.text.upper() in words


KEYWORDS = ("AND", "OR", "NOT", "IN")
RELATIVE_UNITS = {"d": "days", "h": "hours", "w": "weeks"}
ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}

_SCANNER = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w-]))
  | (?P<measure>[-+]?\d+(?:\.\d+)?[^\W\d]\w*)
  | (?P<number>[-+]?\d+(?:\.\d+)?(?![\w.]))
  | (?P<word>[^\W\d]\w*)
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),.\[\]])
  | (?P<quote>["'])
    """,
    re.VERBOSE,
)
_PUNCT = {
    "(": T.LPAREN,
    ")": T.RPAREN,
    ",": T.COMMA,
    ".": T.DOT,
    "[": T.LBRACKET,
    "]": T.RBRACKET,
}


def tokenize(source: str) -> list[Token]:
    text = _Text(source)
    tokens: list[Token] = []
    pos = 0
    while pos < len(source):
        match = _SCANNER.match(source, pos)
        if match is None:
            raise text.error(f"Unexpected character {source[pos]!r} {{at}}", text.span(pos))
        kind = match.lastgroup
        raw = match.group()
        span = text.span(pos, len(raw))
        if kind == "ws":
            pass
        elif kind == "date":
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise text.error(f"{raw} is not a calendar date {{at}}", span) from None
            tokens.append(Token(T.DATE, raw, span, _bounded_date(text, day, span)))
        elif kind == "measure":
            tokens.append(_relative(text, raw, span))
        elif kind == "number":
            tokens.append(Token(T.NUMBER, raw, span, _bounded_number(text, Decimal(raw), span)))
        elif kind == "word":
            tokens.append(Token(T.WORD, raw, span))
        elif kind == "op":
            tokens.append(Token(T.OP, "=" if raw == "==" else "!=" if raw == "<>" else raw, span))
        elif kind == "punct":
            tokens.append(Token(_PUNCT[raw], raw, span))
        else:  # a quote opens a string
            end, value = _string(text, pos)
            tokens.append(Token(T.STRING, source[pos:end], text.span(pos, end - pos), value))
            pos = end
            continue
        pos = match.end()
    tokens.append(Token(T.EOF, "", text.span(len(source), 1)))
    return tokens


def _relative(text: _Text, raw: str, span: Span) -> Token:
    match = re.fullmatch(r"([-+]?)(\d+(?:\.\d+)?)(\w+)", raw)
    assert match is not None
    sign, amount, unit = match.groups()
    if unit not in RELATIVE_UNITS:
        raise text.error(
            f"Unknown unit {unit!r} in {raw} {{at}}; write days as d, hours as h, weeks as w "
            "(for example -30d)",
            span,
        )
    if "." in amount:
        raise text.error(f"Use a whole number in {raw} {{at}}", span)
    if not sign:
        raise text.error(
            f"Write -{raw} for {amount} {RELATIVE_UNITS[unit]} before the as-of date {{at}}", span
        )
    delta = _bounded_delta(text, RELATIVE_UNITS[unit], int(amount), span)
    return Token(T.RELATIVE, raw, span, -delta if sign == "-" else delta)


def _string(text: _Text, start: int) -> tuple[int, str]:
    source = text.text
    quote = source[start]
    out: list[str] = []
    pos = start + 1
    while pos < len(source):
        ch = source[pos]
        if ch == quote:
            return pos + 1, "".join(out)
        if ch == "\\":
            if pos + 1 >= len(source):
                break
            escaped = source[pos + 1]
            if escaped not in ESCAPES:
                raise text.error(
                    f"Unknown escape \\{escaped} in text {{at}}; use \\\" \\' \\\\ \\n or \\t",
                    text.span(pos, 2),
                )
            out.append(ESCAPES[escaped])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise text.error(
        f"The text opened {{at}} is never closed: add a closing {quote}", text.span(start)
    )


# ---- syntax tree -----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    name: str
    span: Span
    argument: str | None = None  # the category of category_spent, the key of attributes


@dataclass(frozen=True)
class Literal:
    kind: T
    text: str
    value: object
    span: Span


@dataclass(frozen=True)
class Comparison:
    field: FieldRef
    op: str  # = != < <= > >= IN NOT IN
    values: tuple[Literal, ...]
    span: Span


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = And | Or | Not | Comparison

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, text: _Text, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind is not T.EOF:
            self.pos += 1
        return token

    def fail(self, message: str, token: Token | None = None) -> RuleError:
        token = token or self.token
        return self.text.error(message, token.span)

    @staticmethod
    def describe(token: Token) -> str:
        return "the end of the rule" if token.kind is T.EOF else repr(token.text)

    def parse(self) -> Expr:
        if self.token.kind is T.EOF:
            raise self.fail("The rule is empty: write a condition such as total_spent > 500 {at}")
        expr = self.or_expr()
        if self.token.kind is not T.EOF:
            if self.token.kind is T.RPAREN:
                raise self.fail("This ')' closes nothing {at}")
            raise self.fail(f"Expected AND or OR before {self.describe(self.token)} {{at}}")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.token.is_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.token.is_keyword("AND"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"The rule nests deeper than {MAX_DEPTH} levels {{at}}")
        try:
            if self.token.is_keyword("NOT"):
                self.advance()
                return Not(self.not_expr())
            if self.token.kind is T.LPAREN:
                opening = self.advance()
                expr = self.or_expr()
                if self.token.kind is not T.RPAREN:
                    raise self.fail(
                        f"Expected ')' to close the '(' {self.text.where(opening.span)}, "
                        f"found {self.describe(self.token)} {{at}}"
                    )
                self.advance()
                return expr
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Comparison:
        field = self.field()
        op_token = self.token
        if op_token.kind is T.OP:
            self.advance()
            value = self.value(f"after '{op_token.text}'")
            return Comparison(field, op_token.text, (value,), field.span)
        if op_token.is_keyword("IN"):
            self.advance()
            return Comparison(field, "IN", self.value_list(), field.span)
        if op_token.is_keyword("NOT") and self.tokens[self.pos + 1].is_keyword("IN"):
            self.advance()
            self.advance()
            return Comparison(field, "NOT IN", self.value_list(), field.span)
        raise self.fail(
            f"Expected a comparison (=, !=, <, <=, >, >=, IN) after {field.name}, "
            f"found {self.describe(op_token)} {{at}}"
        )

    def field(self) -> FieldRef:
        token = self.token
        if token.kind is not T.WORD or token.is_keyword(*KEYWORDS):
            raise self.fail(
                f"Expected a field such as total_spent or tag, found {self.describe(token)} {{at}}"
            )
        self.advance()
        name = token.text
        if self.token.kind is T.DOT:
            self.advance()
            key = self.token
            if key.kind is not T.WORD:
                raise self.fail(f"Expected a key name after '{name}.' {{at}}")
            self.advance()
            return FieldRef(name, _join(token.span, key.span), key.text)
        if self.token.kind is T.LBRACKET:
            self.advance()
            key = self.token
            if key.kind is not T.STRING:
                raise self.fail(f'Expected a quoted key {{at}}, like {name}["key"]')
            self.advance()
            if self.token.kind is not T.RBRACKET:
                raise self.fail("Expected ']' {at}")
            end = self.advance()
            return FieldRef(name, _join(token.span, end.span), str(key.value))
        if self.token.kind is T.LPAREN:
            self.advance()
            argument = self.token
            if argument.kind is not T.STRING:
                raise self.fail(f'Expected quoted text {{at}}, like {name}("shoes")')
            self.advance()
            if self.token.kind is not T.RPAREN:
                raise self.fail(f"Expected ')' after the text given to {name} {{at}}")
            end = self.advance()
            return FieldRef(name, _join(token.span, end.span), str(argument.value))
        return FieldRef(name, token.span)

    def value(self, where: str) -> Literal:
        token = self.token
        if token.kind in (T.NUMBER, T.STRING, T.DATE, T.RELATIVE) or (
            token.kind is T.WORD and not token.is_keyword(*KEYWORDS)
        ):
            self.advance()
            return Literal(token.kind, token.text, token.value, token.span)
        raise self.fail(f"Expected a value {where}, found {self.describe(token)} {{at}}")

    def value_list(self) -> tuple[Literal, ...]:
        if self.token.kind is not T.LPAREN:
            raise self.fail('Expected \'(\' after IN, like tag IN ("vip", "gold") {at}')
        opening = self.advance()
        values = [self.value("in the IN list")]
        while self.token.kind is T.COMMA:
            self.advance()
            values.append(self.value("after ','"))
            if len(values) > MAX_IN_VALUES:
                raise self.fail(f"An IN list holds at most {MAX_IN_VALUES} values {{at}}")
        if self.token.kind is not T.RPAREN:
            raise self.fail(
                f"Expected ',' or ')' in the IN list opened {self.text.where(opening.span)}, "
                f"found {self.describe(self.token)} {{at}}"
            )
        self.advance()
        return tuple(values)


def _join(first: Span, last: Span) -> Span:
    return Span(first.offset, first.line, first.column, last.offset + last.length - first.offset)


def parse(source: str) -> Expr:
    """The syntax tree of `source`, or a RuleError at the first syntax error."""
    if len(source) > MAX_RULE_LENGTH:
        raise RuleError(
            f"The rule is longer than {MAX_RULE_LENGTH} characters", Span(MAX_RULE_LENGTH, 1, 1)
        )
    text = _Text(source)
    return _Parser(text, tokenize(source)).parse()


# ---- the field catalogue -----------------------------------------------------------------


class FieldType(StrEnum):
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    ENUM = "enum"
    STRING = "text"
    TAG = "tag"
    TIER = "tier"
    MONTH = "month"
    ATTRIBUTE = "attribute"


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    values: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    argument: str | None = None  # "category" / "key": the field takes one
    order_derived: bool = False  # computed from orders as of the rule's as-of instant


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("orders_count", FieldType.NUMBER, "counted orders", low=0, order_derived=True),
        Field("total_spent", FieldType.MONEY, "net amount of counted orders", order_derived=True),
        Field(
            "average_order_value",
            FieldType.MONEY,
            "total_spent / orders_count (unknown without orders)",
            order_derived=True,
        ),
        Field("points_balance", FieldType.NUMBER, "available points now"),
        Field("first_order_at", FieldType.DATE, "first counted order", order_derived=True),
        Field("last_order_at", FieldType.DATE, "last counted order", order_derived=True),
        Field("created_at", FieldType.DATE, "when the customer was created"),
        Field(
            "lifecycle",
            FieldType.ENUM,
            "lifecycle stage",
            values=LIFECYCLE_STAGES,
            order_derived=True,
        ),
        Field("rfm_class", FieldType.ENUM, "RFM class", values=RFM_CLASSES, order_derived=True),
        Field("r_score", FieldType.NUMBER, "RFM recency score", low=1, high=5, order_derived=True),
        Field(
            "f_score", FieldType.NUMBER, "RFM frequency score", low=1, high=5, order_derived=True
        ),
        Field("m_score", FieldType.NUMBER, "RFM monetary score", low=1, high=5, order_derived=True),
        Field("tier", FieldType.TIER, "current tier, by name; < and > compare tier ranks"),
        Field("tag", FieldType.TAG, "a tag the customer wears"),
        Field("channel", FieldType.STRING, "acquisition channel"),
        Field("city", FieldType.STRING, "city"),
        Field("name", FieldType.STRING, "the customer's name"),
        Field("gender", FieldType.ENUM, "gender", values=GENDERS),
        Field("birthday_month", FieldType.MONTH, "month of birth, 1-12", low=1, high=12),
        Field(
            "category_spent",
            FieldType.MONEY,
            'spend on items of one category, like category_spent("shoes")',
            argument="category",
            order_derived=True,
        ),
        Field(
            "attributes",
            FieldType.ATTRIBUTE,
            "a custom attribute, like attributes.vip_level",
            argument="key",
        ),
    )
}


# ---- the checked rule ------------------------------------------------------------------


class ThisMonth:
    """`this_month`: the month of the as-of instant in the program time zone."""

    def __repr__(self) -> str:
        return "this_month"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ThisMonth)

    def __hash__(self) -> int:
        return hash("this_month")


THIS_MONTH = ThisMonth()


@dataclass(frozen=True)
class Relative:
    """An instant relative to the as-of instant (negative: before it)."""

    delta: timedelta


@dataclass(frozen=True)
class Condition:
    """One comparison whose field exists and whose values fit it.

    `values` are plain Python values: Decimal for numbers and money, str for text and
    enums (enums upper-cased), date or Relative for dates, int or THIS_MONTH for
    months, and str/Decimal/bool for attributes.
    """

    field: Field
    argument: str | None
    op: str
    values: tuple[object, ...]


@dataclass(frozen=True)
class AllOf:
    items: tuple[RuleNode, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[RuleNode, ...]


@dataclass(frozen=True)
class NoneOf:
    item: RuleNode


RuleNode = AllOf | AnyOf | NoneOf | Condition


@dataclass(frozen=True)
class Rule:
    text: str
    root: RuleNode

    def conditions(self) -> list[Condition]:
        found: list[Condition] = []
        stack: list[RuleNode] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Condition):
                found.append(node)
            elif isinstance(node, NoneOf):
                stack.append(node.item)
            else:
                stack.extend(node.items)
        return found

    @property
    def uses_orders(self) -> bool:
        return any(c.field.order_derived for c in self.conditions())


def parse_rule(source: str) -> Rule:
    """The checked rule, or RuleErrors with every problem found.

    A syntax error stops parsing, so it comes alone; unknown fields and values that do
    not fit their field are all reported together.
    """
    try:
        tree = parse(source)
    except RuleError as exc:
        raise RuleErrors([exc]) from None
    checker = _Checker(_Text(source))
    root = checker.check(tree)
    if checker.errors:
        raise RuleErrors(checker.errors)
    return Rule(source, root)


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word.lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    if not close:
        return ""
    original = next(o for o in options if o.lower() == close[0])
    return f" — did you mean {original}?"


class _Checker:
    def __init__(self, text: _Text) -> None:
        self.text = text
        self.errors: list[RuleError] = []

    def error(self, message: str, span: Span) -> None:
        self.errors.append(self.text.error(message, span))

    def check(self, node: Expr) -> RuleNode:
        if isinstance(node, And):
            return AllOf(tuple(self.check(item) for item in node.items))
        if isinstance(node, Or):
            return AnyOf(tuple(self.check(item) for item in node.items))
        if isinstance(node, Not):
            return NoneOf(self.check(node.item))
        return self.comparison(node)

    def comparison(self, node: Comparison) -> RuleNode:
        ref = node.field
        field = FIELDS.get(ref.name.lower())
        placeholder = Condition(FIELDS["orders_count"], None, "=", (Decimal(0),))
        if field is None:
            self.error(
                f"Unknown field '{ref.name}' {{at}}{_suggest(ref.name, list(FIELDS))}",
                ref.span,
            )
            return placeholder
        if field.argument and ref.argument is None:
            example = (
                'category_spent("shoes")' if field.argument == "category" else "attributes.level"
            )
            self.error(f"{field.name} needs a {field.argument}, like {example} {{at}}", ref.span)
            return placeholder
        if not field.argument and ref.argument is not None:
            self.error(f"{field.name} takes no {ref.argument!r} {{at}}", ref.span)
            return placeholder
        if field.argument and not ref.argument.strip():
            self.error(f"The {field.argument} of {field.name} is empty {{at}}", ref.span)
            return placeholder
        if field.argument == "key" and '"' in ref.argument:
            self.error('An attribute key cannot contain " {at}', ref.span)
            return placeholder
        before = len(self.errors)
        values = tuple(self.value(field, node.op, v) for v in node.values)
        if len(self.errors) == before:
            self.operator(field, node, values)
        if field.type is FieldType.ATTRIBUTE and len(self.errors) == before:
            kinds = {type(v) for v in values}
            if len(kinds) > 1:
                self.error(
                    "Mix numbers, text and true/false in one IN list "
                    "and the attribute cannot match them all {at}",
                    node.values[0].span,
                )
        return Condition(field, ref.argument, node.op, values)

    def operator(self, field: Field, node: Comparison, values: tuple[object, ...]) -> None:
        op = node.op
        ordering = op in ("<", "<=", ">", ">=")
        span = node.field.span
        if field.type in (FieldType.ENUM, FieldType.STRING, FieldType.TAG) and ordering:
            self.error(f"{field.name} can only be compared with =, != or IN, not {op} {{at}}", span)
        elif field.type is FieldType.DATE and op in ("IN", "NOT IN"):
            self.error(f"Compare {field.name} with <, <=, >, >=, = or != (not IN) {{at}}", span)
        elif field.type is FieldType.DATE and not ordering and isinstance(values[0], Relative):
            self.error(
                f"A relative date like {node.values[0].text} is an instant: use <, <=, > or >= "
                f"with it, e.g. {field.name} > {node.values[0].text} {{at}}",
                node.values[0].span,
            )
        elif field.type is FieldType.ATTRIBUTE and ordering and not isinstance(values[0], Decimal):
            self.error(
                f"Only numbers can be compared with {op}; "
                f"{node.field.name}.{node.field.argument} {op} {node.values[0].text} is not "
                f"a number comparison {{at}}",
                node.values[0].span,
            )

    def value(self, field: Field, op: str, literal: Literal) -> object:
        kind = literal.kind
        t = field.type
        if t in (FieldType.NUMBER, FieldType.MONEY):
            if kind is not T.NUMBER:
                noun = "an amount of money" if t is FieldType.MONEY else "a number"
                self.error(
                    f"{field.name} is {noun}; compare it with a number such as "
                    f"{'500' if t is FieldType.MONEY else '3'}, not {literal.text} {{at}}",
                    literal.span,
                )
                return None
            number = literal.value
            assert isinstance(number, Decimal)
            if (
                t is FieldType.NUMBER
                and field.name != "points_balance"
                and number != number.to_integral()
            ):
                self.error(
                    f"{field.name} is a whole number, not {literal.text} {{at}}", literal.span
                )
            if (
                field.low is not None
                and field.high is not None
                and not (field.low <= number <= field.high)
            ):
                self.error(
                    f"{field.name} goes from {field.low} to {field.high}; "
                    f"{literal.text} is outside {{at}}",
                    literal.span,
                )
            return number
        if t is FieldType.DATE:
            if kind is T.DATE or kind is T.RELATIVE:
                return literal.value if kind is T.DATE else Relative(literal.value)  # type: ignore[arg-type]
            self.error(
                f"{field.name} is a date; compare it with a date like 2026-01-31 or a relative "
                f"date like -30d, not {literal.text} {{at}}",
                literal.span,
            )
            return None
        if t is FieldType.ENUM:
            if (
                kind in (T.WORD, T.STRING)
                and str(literal.value or literal.text).upper() in field.values
            ):
                return str(literal.value or literal.text).upper()
            word = str(literal.value if kind is T.STRING else literal.text)
            self.error(
                f"Unknown {field.name} {word!r} {{at}}{_suggest(word, field.values)} "
                f"({field.name} is one of {', '.join(field.values)})",
                literal.span,
            )
            return None
        if t in (FieldType.STRING, FieldType.TAG, FieldType.TIER):
            if kind is T.STRING:
                return str(literal.value)
            if kind is T.WORD:
                self.error(
                    f'Put text in quotes {{at}}: {field.name} = "{literal.text}"', literal.span
                )
            else:
                self.error(
                    f"{field.name} is text; put the value in quotes, like {field.name} = "
                    f'"{literal.text}" {{at}}',
                    literal.span,
                )
            return None
        if t is FieldType.MONTH:
            if kind is T.WORD and literal.text.lower() == "this_month":
                return THIS_MONTH
            if (
                kind is T.NUMBER
                and literal.value == literal.value.to_integral()
                and (  # type: ignore[union-attr]
                    1 <= literal.value <= 12  # type: ignore[operator]
                )
            ):
                return int(literal.value)  # type: ignore[arg-type]
            self.error(
                f"{field.name} is a month from 1 to 12 or this_month, not {literal.text} {{at}}",
                literal.span,
            )
            return None
        # attributes: the literal says how to read the attribute
        if kind is T.NUMBER:
            return literal.value
        if kind is T.STRING:
            return str(literal.value)
        if kind is T.WORD and literal.text.lower() in ("true", "false"):
            if op not in ("=", "!="):
                self.error("Compare true/false with = or != {at}", literal.span)
            return literal.text.lower() == "true"
        self.error(
            f"Compare an attribute with a number, quoted text or true/false, "
            f'not {literal.text} (for text write "{literal.text}") {{at}}',
            literal.span,
        )
        return None


# ---- literal bounds --------------------------------------------------------------------
# Every literal is bounded when the rule is read, so a rule that passes can always be
# compiled to SQL: no timedelta overflow, no date past 9999-12-31 once a day is added,
# no integer wider than a BIGINT. A rule saved before these bounds existed now fails
# to parse, and readers treat such a stored rule as matching nobody.

MIN_RULE_DATE = date(1900, 1, 1)
MAX_RULE_DATE = date(9999, 12, 30)
MAX_RULE_NUMBER = Decimal(10) ** 15
MAX_RULE_DECIMALS = 6
MAX_RELATIVE_DAYS = 36_525
"""A relative date reaches back at most a hundred years."""


def _bounded_date(text: _Text, day: date, span: Span) -> date:
    if not MIN_RULE_DATE <= day <= MAX_RULE_DATE:
        raise text.error(
            f"Dates go from {MIN_RULE_DATE} to {MAX_RULE_DATE}; {day} is outside {{at}}", span
        )
    return day


def _bounded_number(text: _Text, number: Decimal, span: Span) -> Decimal:
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


def _bounded_delta(text: _Text, unit: str, amount: int, span: Span) -> timedelta:
    per_day = {"days": 1, "hours": 24, "weeks": 1 / 7}.get(unit, 1)
    if amount > MAX_RELATIVE_DAYS * per_day:
        raise text.error(
            f"A relative date reaches back at most {MAX_RELATIVE_DAYS} days {{at}}", span
        )
    return timedelta(**{unit: amount})
