"""The body of a webhook: Standard Webhooks' shape (type, timestamp, data), with the
event as the `events` API shows it (global IDs) under `data`."""

from __future__ import annotations

from typing import Any

from api import ids
from domain.events import Event


def render(event: Event) -> dict[str, Any]:
    return {
        "type": event.type.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "id": ids.encode("Event", event.id),
            "type": event.type.value,
            "occurredAt": event.occurred_at.isoformat(),
            "customerId": (
                None if event.customer_id is None else ids.encode("Customer", event.customer_id)
            ),
            "payload": event.payload,
        },
    }
