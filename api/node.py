"""The Relay `Node` interface and `node(id:)`, which resolves any business object.

Each area registers how to fetch its type and which scope reading it needs. This is
shared infrastructure (every area's types implement `Node`), not an area package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from api.auth import CustomerPrincipal, require
from api.errors import BadUserInput, Forbidden
from api.ids import BadGlobalId, decode_any
from domain.access import Scope


@strawberry.interface(description="An object with a global ID, fetchable with node(id:).")
class Node:
    id: strawberry.ID


Owner = Callable[[Any], int]


@dataclass(frozen=True)
class NodeFetcher:
    scope: Scope
    fetch: Callable[[strawberry.Info, int], Awaitable[Node | None]]
    owner: Owner | None


FETCHERS: dict[str, NodeFetcher] = {}


F = TypeVar("F", bound=Callable[[strawberry.Info, int], Awaitable[Any]])


def register(type_name: str, scope: Scope, *, owner: Owner | None = None) -> Callable[[F], F]:
    """`owner` names the customer an object belongs to: a customer token may fetch
    objects of its own customer, and nothing without an owner."""

    def decorator(fetch: F) -> F:
        FETCHERS[type_name] = NodeFetcher(scope, fetch, owner)
        return fetch

    return decorator


async def resolve_node(info: strawberry.Info, global_id: str) -> Node | None:
    caller = require(info)
    try:
        type_name, key = decode_any(global_id)
    except BadGlobalId:
        return None
    fetcher = FETCHERS.get(type_name)
    if fetcher is None:
        return None
    if isinstance(caller, CustomerPrincipal):
        node = await fetcher.fetch(info, key) if fetcher.owner else None
        # Another customer's object and a missing one look the same to a token.
        if node is None or fetcher.owner is None or fetcher.owner(node) != caller.customer_id:
            raise Forbidden("A customer token may only read its own customer's objects.")
        return node
    require(info, fetcher.scope)
    return await fetcher.fetch(info, key)


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null when there is none.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="Several objects by global ID, in the order asked (≤ 100).")
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise BadUserInput("nodes takes at most 100 ids.")
        return list(await asyncio.gather(*(resolve_node(info, gid) for gid in ids)))
