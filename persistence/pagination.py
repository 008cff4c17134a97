"""Keyset pagination: the next page starts after the last row's sort key.

Offsets get slower with every page on a large table and skip or repeat rows while
rows are inserted; a keyset page is an index range scan wherever it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased
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


# One page per parent, for many parents at once: (parent id, after, first).
PageRequest = tuple[int, tuple[Any, ...] | None, int]


async def pages_per_parent(
    session: AsyncSession,
    row_type: type[Any],
    parent: QueryableAttribute[Any],
    key: SortKey,
    requests: Sequence[PageRequest],
    key_of: Callable[[Any], tuple[Any, ...]],
    *,
    narrow: Callable[[Select[*tuple[Any, ...]]], Select[*tuple[Any, ...]]] | None = None,
) -> dict[PageRequest, Page[Any]]:
    """The pages of many parents' lists in one query per distinct cursor: each parent's
    rows are ranked with ROW_NUMBER() OVER (PARTITION BY parent ORDER BY the sort key)
    and only the top `first + 1` are read, so a page of parents costs one statement,
    not one each. An `after` cursor is a sort key, valid for every parent. `narrow`
    adds joins and conditions (a parent column of another table, rows left out)."""
    found: dict[PageRequest, Page[Any]] = {}
    by_after: dict[tuple[Any, ...] | None, list[PageRequest]] = {}
    for request in requests:
        by_after.setdefault(request[1], []).append(request)
    order = [c.desc() if key.descending else c.asc() for c in key.columns]
    for after, group in by_after.items():
        parent_ids = sorted({parent_id for parent_id, _, _ in group})
        most = max(first for _, _, first in group)
        rank = func.row_number().over(partition_by=parent, order_by=order).label("rank")
        inner = select(row_type, parent.label("parent_id"), rank).where(parent.in_(parent_ids))
        if narrow is not None:
            inner = narrow(inner)
        if after is not None:
            inner = inner.where(after_clause(key, after))
        ranked = inner.subquery()
        rows = await session.execute(
            select(aliased(row_type, ranked), ranked.c.parent_id)
            .where(ranked.c.rank <= most + 1)
            .order_by(ranked.c.parent_id, ranked.c.rank)
        )
        by_parent: dict[int, list[Any]] = {parent_id: [] for parent_id in parent_ids}
        for found_row, parent_id in rows.all():
            by_parent[parent_id].append(found_row)
        for request in group:
            parent_id, _, first = request
            found[request] = page_of(by_parent[parent_id][: first + 1], first, key_of)
    return found


async def counts_per_parent(
    session: AsyncSession, parent: QueryableAttribute[Any], parent_ids: Sequence[int]
) -> dict[int, int]:
    """How many rows each parent holds, in one GROUP BY query (a connection's totalCount)."""
    rows = await session.execute(
        select(parent, func.count()).where(parent.in_(list(parent_ids))).group_by(parent)
    )
    found = dict.fromkeys(parent_ids, 0)
    found.update({parent_id: int(total) for parent_id, total in rows.all()})
    return found
