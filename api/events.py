"""Events over GraphQL: the outbox read with a resumable cursor (admin only).

A consumer (an automation, a data pipeline, later the webhook worker) keeps the
`pageInfo.endCursor` of the last page it handled and passes it back as `after`.
The list only ever grows at its end, so resuming never skips nor repeats an event
(persistence/events.py explains how that holds on PostgreSQL, where ids are not
commit order). An empty page has no endCursor: keep the cursor you had.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api import ids
from api.auth import require
from api.customers import CustomerType
from api.errors import BadUserInput
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from domain import events as domain
from domain.access import Scope
from persistence import events as reads

CURSOR_SORT = "EVENTS"
KNOWN = frozenset(t.value for t in domain.EventType)
KNOWN_TYPES = ", ".join(sorted(KNOWN))


@strawberry.type(name="Event", description="Something that happened, for automation to act on.")
class EventType(Node):
    id: strawberry.ID
    type: str = strawberry.field(description='What happened, e.g. "customer.created".')
    occurred_at: datetime
    payload: JSON = strawberry.field(description="The facts of the event; keys depend on type.")
    customer_key: strawberry.Private[int | None]
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, event: domain.Event) -> EventType:
        return cls(
            id=strawberry.ID(ids.encode("Event", event.id)),
            type=event.type.value,
            occurred_at=event.occurred_at,
            payload=event.payload,
            customer_key=event.customer_id,
            db_id=event.id,
        )

    @strawberry.field(description="The customer the event is about; null for program events.")
    async def customer(self, info: strawberry.Info) -> CustomerType | None:
        if self.customer_key is None:
            return None
        customer = await info.context.loaders.customer.load(self.customer_key)
        return CustomerType.from_domain(customer) if customer else None


@register("Event", Scope.EVENTS_READ)
async def fetch_event(info: strawberry.Info, key: int) -> EventType | None:
    event = await info.context.loaders.event.load(key)
    return EventType.from_domain(event) if event else None


@strawberry.input
class EventFilter:
    types: list[str] | None = strawberry.field(
        default=None,
        description="Only these types (null: all; an empty list matches nothing). An "
        "unknown type is refused, so a typo never looks like a quiet stream.",
    )
    customer_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only events about this customer."
    )


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


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="Events in delivery order, oldest first. Resume from the last "
        "pageInfo.endCursor you handled; an empty page has no endCursor, so keep the "
        "cursor you had. An event appears once its transaction, and every transaction "
        "that started writing before it, have ended."
    )
    async def events(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: EventFilter | None = None,
    ) -> Connection[EventType]:
        require(info, Scope.EVENTS_READ)
        size = page_size(first)
        given = filter or EventFilter()
        types = _types(given.types)
        customer_key = _customer_key(given.customer_id)
        key = decode_cursor(after, CURSOR_SORT) if after else None
        try:
            page = await info.context.read(reads.events_after, key, size, types, customer_key)
        except reads.BadEventCursor:
            raise BadUserInput("after is not a cursor of this list and ordering.") from None
        return connection(
            page,
            CURSOR_SORT,
            EventType.from_domain,
            lambda: info.context.read(reads.count_events, types, customer_key),
            after=after,
        )
