"""Keyset pagination: the next page starts after the last row's sort key.

Offsets get slower with every page on a large table and skip or repeat rows while
rows are inserted; a keyset page is an index range scan wherever it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    """Columns that order a list; the last one must be unique (the id)."""

    columns: tuple[ColumnElement[Any] | QueryableAttribute[Any], ...]
    descending: bool = False


@dataclass
class Page(Generic[T]):
    items: list[T]
    keys: list[tuple[Any, ...]]
    has_next: bool


def after_clause(key: SortKey, after: Sequence[Any]) -> ColumnElement[bool]:
    """(a, b, c) > (x, y, z), spelled out so bind types follow each column."""
    terms: list[ColumnElement[bool]] = []
    for i, column in enumerate(key.columns):
        equal = [key.columns[j] == after[j] for j in range(i)]
        beyond = column < after[i] if key.descending else column > after[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)


def keyset(
    statement: Select[*tuple[Any, ...]],
    key: SortKey,
    after: Sequence[Any] | None,
    first: int,
) -> Select[*tuple[Any, ...]]:
    if after is not None:
        statement = statement.where(after_clause(key, after))
    order = [c.desc() if key.descending else c.asc() for c in key.columns]
    return statement.order_by(*order).limit(first + 1)


def page_of(rows: Sequence[T], first: int, key_of: Callable[[T], tuple[Any, ...]]) -> Page[T]:
    items = list(rows[:first])
    return Page(items=items, keys=[key_of(r) for r in items], has_next=len(rows) > first)
