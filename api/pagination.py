"""Relay connections with keyset cursors.

A cursor is the sort key of the row it points at (plus the sort's name, so a cursor
from one ordering is refused by another), base64-encoded JSON. Pages hold at most
100 items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry

from api.errors import BadUserInput
from persistence.pagination import Page

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

T = TypeVar("T")


def _plain(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _typed(value: Any) -> Any:
    return datetime.fromisoformat(value["t"]) if isinstance(value, dict) else value


def encode_cursor(sort: str, key: Sequence[Any]) -> str:
    payload = json.dumps([sort, [_plain(v) for v in key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, types: Sequence[type] | None = None) -> tuple[Any, ...]:
    """The sort key a cursor holds, refused unless it fits this list.

    `types` are the sort key's Python types (e.g. ``(datetime, int)``): a cursor is
    client input, and a forged one with the wrong shape must be a BAD_USER_INPUT, not
    a database error. Instants must carry their offset either way.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if name != sort or not isinstance(key, list):
            raise ValueError(cursor)
        values = tuple(_typed(v) for v in key)
        if any(isinstance(v, datetime) and v.utcoffset() is None for v in values):
            raise ValueError(cursor)
        if types is not None and (
            len(values) != len(types)
            or any(_wrong_type(v, t) for v, t in zip(values, types, strict=True))
        ):
            raise ValueError(cursor)
        return values
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise BadUserInput("after is not a cursor of this list and ordering.") from exc


def _wrong_type(value: Any, expected: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, expected):
        return True
    return isinstance(value, int) and not -(2**63) <= value < 2**63  # a BIGINT column


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(f"first must be between 0 and {MAX_PAGE_SIZE}.")
    return first


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of this page, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole list holds (one COUNT query).")
    async def total_count(self) -> int:
        return await self.count()


def connection(
    page: Page,
    sort: str,
    to_node: Callable[[Any], Any],
    count: Callable[[], Awaitable[int]],
    *,
    after: str | None,
) -> Connection:
    edges = [
        Edge(cursor=encode_cursor(sort, key), node=to_node(item))
        for item, key in zip(page.items, page.keys, strict=True)
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


async def paginate(
    *,
    sort: str,
    first: int | None,
    after: str | None,
    read: Callable[[tuple[Any, ...] | None, int], Awaitable[Page]],
    count: Callable[[], Awaitable[int]],
    to_node: Callable[[Any], Any],
    cursor_types: Sequence[type] | None = None,
) -> Connection:
    """One page of a list: checks `first`, decodes `after`, reads the page with
    `read(key, size)` and builds the connection (`count` runs only if asked for)."""
    size = page_size(first)
    key = decode_cursor(after, sort, cursor_types) if after else None
    return connection(await read(key, size), sort, to_node, count, after=after)


async def paginate_per_parent(
    info: strawberry.Info,
    parent: int,
    *,
    sort: str,
    first: int | None,
    after: str | None,
    pages: Any,
    counts: Any,
    to_node: Callable[[Any], Any],
) -> Connection:
    """One parent's page of a list read through the area's batched loaders: `pages`
    keyed by (parent, after key, size) and `counts` by parent, so a page of parents
    costs one query for all their pages and one for all their counts."""
    return await paginate(
        sort=sort,
        first=first,
        after=after,
        read=lambda key, size: info.context.loader(pages).load((parent, key, size)),
        count=lambda: info.context.loader(counts).load(parent),
        to_node=to_node,
    )
