"""The Event type."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from api import ids
from api.customers.nodes import load_customer
from api.events.loaders import EVENT
from api.node import Node, register
from domain import events as domain
from domain.access import Scope

if TYPE_CHECKING:
    from api.customers.types import CustomerType


def _version(payload: dict[str, object]) -> int:
    version = payload.get(domain.SCHEMA_VERSION_KEY)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


@strawberry.type(name="Event", description="Something that happened, for automation to act on.")
class EventType(Node):
    id: strawberry.ID
    type: str = strawberry.field(description='What happened, e.g. "customer.created".')
    occurred_at: datetime
    payload: JSON = strawberry.field(
        description="The facts of the event, typed per event type and schema version (the "
        "README's event catalogue); always carries schemaVersion and customerId."
    )
    schema_version: int = strawberry.field(
        description="The payload's schema version (payload.schemaVersion); 0 for events "
        "stored before payloads were versioned."
    )
    customer_key: strawberry.Private[int | None]
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, event: domain.Event) -> EventType:
        return cls(
            id=strawberry.ID(ids.encode("Event", event.id)),
            type=event.type.value,
            occurred_at=event.occurred_at,
            payload=JSON(event.payload),
            schema_version=_version(event.payload),
            customer_key=event.customer_id,
            db_id=ids.stored_key(event.id),
        )

    @strawberry.field(description="The customer the event is about; null for program events.")
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")] | None:
        return None if self.customer_key is None else await load_customer(info, self.customer_key)


@register("Event", Scope.EVENTS_READ)
async def fetch_event(info: strawberry.Info, key: int) -> EventType | None:
    event = await info.context.loader(EVENT).load(key)
    return EventType.from_domain(event) if event else None
