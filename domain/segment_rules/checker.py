"""Syntax tree → checked rule: every field known, every value fitting its field."""

from __future__ import annotations

import difflib
from decimal import Decimal

from domain.segment_rules.fields import FIELDS, Field, FieldType
from domain.segment_rules.lexer import T
from domain.segment_rules.parser import parse
from domain.segment_rules.rule import (
    THIS_MONTH,
    AllOf,
    AnyOf,
    Condition,
    NoneOf,
    Relative,
    Rule,
    RuleNode,
)
from domain.segment_rules.syntax import And, Comparison, Expr, Literal, Not, Or
from domain.segment_rules.text import RuleError, RuleErrors, RuleText, Span


def parse_rule(source: str) -> Rule:
    """The checked rule, or RuleErrors with every problem found.

    A syntax error stops parsing, so it comes alone; unknown fields and values that do
    not fit their field are all reported together.
    """
    try:
        tree = parse(source)
    except RuleError as exc:
        raise RuleErrors([exc]) from None
    checker = _Checker(RuleText(source))
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
    def __init__(self, text: RuleText) -> None:
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
        argument = ref.argument
        if field.argument and argument is None:
            example = (
                'category_spent("shoes")' if field.argument == "category" else "attributes.level"
            )
            self.error(f"{field.name} needs a {field.argument}, like {example} {{at}}", ref.span)
            return placeholder
        if not field.argument and argument is not None:
            self.error(f"{field.name} takes no {argument!r} {{at}}", ref.span)
            return placeholder
        if field.argument and argument is not None and not argument.strip():
            self.error(f"The {field.argument} of {field.name} is empty {{at}}", ref.span)
            return placeholder
        if field.argument == "key" and argument is not None and '"' in argument:
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
            if t is FieldType.NUMBER and not field.fractional and number != number.to_integral():
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
            month = literal.value
            if isinstance(month, Decimal) and month == month.to_integral() and 1 <= month <= 12:
                return int(month)
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
