"""The segment rule language: text → tokens → syntax tree → checked rule.

A marketer writes a rule such as

    lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"

and this package turns it into a small typed tree (`Rule`) that `persistence.segments`
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

The package, one module per job: `text` (positions and errors), `lexer` (text →
tokens), `syntax` (the syntax tree), `parser` (tokens → tree), `fields` (the field
catalogue), `rule` (the checked rule), `checker` (tree → checked rule, `parse_rule`).
Callers import from the package; the names below are its public surface.
"""

from domain.segment_rules.checker import (
    parse_rule,
)
from domain.segment_rules.fields import (
    FIELDS,
    GENDERS,
    LIFECYCLE_STAGES,
    RFM_CLASSES,
    Field,
    FieldType,
)
from domain.segment_rules.lexer import (
    T,
    Token,
    tokenize,
)
from domain.segment_rules.parser import (
    MAX_DEPTH,
    MAX_IN_VALUES,
    MAX_RULE_LENGTH,
    OPERATORS,
    parse,
)
from domain.segment_rules.rule import (
    THIS_MONTH,
    AllOf,
    AnyOf,
    Condition,
    NoneOf,
    Relative,
    Rule,
    RuleNode,
    ThisMonth,
)
from domain.segment_rules.syntax import (
    And,
    Comparison,
    Expr,
    FieldRef,
    Literal,
    Not,
    Or,
)
from domain.segment_rules.text import (
    RuleError,
    RuleErrors,
    RuleText,
    Span,
)

__all__ = [
    "AllOf",
    "And",
    "AnyOf",
    "Comparison",
    "Condition",
    "Expr",
    "FIELDS",
    "Field",
    "FieldRef",
    "FieldType",
    "GENDERS",
    "LIFECYCLE_STAGES",
    "Literal",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "MAX_RULE_LENGTH",
    "NoneOf",
    "Not",
    "OPERATORS",
    "Or",
    "RFM_CLASSES",
    "Relative",
    "Rule",
    "RuleError",
    "RuleErrors",
    "RuleNode",
    "RuleText",
    "Span",
    "T",
    "THIS_MONTH",
    "ThisMonth",
    "Token",
    "parse",
    "parse_rule",
    "tokenize",
]
