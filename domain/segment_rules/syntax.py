"""The syntax tree the parser builds: what the marketer wrote, before any checking."""

from __future__ import annotations

from dataclasses import dataclass

from domain.segment_rules.lexer import T
from domain.segment_rules.text import Span


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
