"""The Relay `Node` interface and `node(id:)`, which resolves any business object.

Each area registers how to fetch its type and which scope reading it needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import strawberry

from api.auth import require
from api.errors import BadUserInput
from api.ids import BadGlobalId, decode_any
from domain.access import Scope


@strawberry.interface(description="An object with a global ID, fetchable with node(id:).")
class Node:
    id: strawberry.ID


@dataclass(frozen=True)
class NodeFetcher:
    scope: Scope
    fetch: Callable[[strawberry.Info, int], Awaitable[Node | None]]


FETCHERS: dict[str, NodeFetcher] = {}


def register(type_name: str, scope: Scope):  # noqa: ANN201
    def decorator(fetch: Callable[[strawberry.Info, int], Awaitable[Node | None]]):  # noqa: ANN202
        FETCHERS[type_name] = NodeFetcher(scope, fetch)
        return fetch

    return decorator


async def resolve_node(info: strawberry.Info, global_id: str) -> Node | None:
    try:
        type_name, key = decode_any(global_id)
    except BadGlobalId:
        return None
    fetcher = FETCHERS.get(type_name)
    if fetcher is None:
        return None
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
