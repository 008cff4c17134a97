"""`events`."""

from __future__ import annotations

from typing import Any

import strawberry

from api import ids
from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.events.inputs import EventFilter
from api.events.types import EventType
from api.pagination import Connection, paginate
from domain import events as domain
from domain.access import Scope
from persistence import events as reads
from persistence.pagination import Page

CURSOR_SORT = "EVENTS"
KNOWN = frozenset(t.value for t in domain.EventType)
KNOWN_TYPES = ", ".join(sorted(KNOWN))


def _types(given: list[str] | None) -> list[str] | None:
    if given is None:
        return None
    unknown = sorted({t for t in given if t not in KNOWN})
    if unknown:
        raise BadUserInput(
            f"filter.types: unknown event type(s) {', '.join(unknown)}; known: {KNOWN_TYPES}."
        )
    return sorted(set(given))


def _customer_key(given: strawberry.ID | None) -> int | None:
    if given is None:
        return None
    try:
        return ids.decode(given, "Customer")
    except ValueError:
        raise BadUserInput("filter.customerId is not a Customer ID.") from None


@query_fields(position=90)
@strawberry.type
class EventQuery:
    @strawberry.field(
        description="Events in delivery order, oldest first. Resume from the last "
        "pageInfo.endCursor you handled; an empty page has no endCursor, so keep the "
        "cursor you had. An event appears once its transaction, and every transaction "
        "that started writing before it, have ended.",
        permission_classes=[requires(Scope.EVENTS_READ)],
    )
    async def events(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: EventFilter | None = None,
    ) -> Connection[EventType]:
        given = filter or EventFilter()
        types = _types(given.types)
        customer_key = _customer_key(given.customer_id)

        async def read(key: tuple[Any, ...] | None, size: int) -> Page[Any]:
            try:
                return await info.context.read(reads.events_after, key, size, types, customer_key)
            except reads.BadEventCursor:
                raise BadUserInput("after is not a cursor of this list and ordering.") from None

        return await paginate(
            sort=CURSOR_SORT,
            first=first,
            after=after,
            read=read,
            count=lambda: info.context.read(reads.count_events, types, customer_key),
            to_node=EventType.from_domain,
        )
