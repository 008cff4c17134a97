"""Domain events: what automation hangs on.

Services append events through the unit of work, in the same transaction as the
change that causes them, so an event exists if and only if its change committed.
Delivery happens afterwards (a later worker); readers page through them with a
cursor that never skips an event whose transaction committed late
(persistence/events.py says how).

Every payload is typed: one frozen dataclass per event type and schema version
(domain/event_payloads.py), turned into JSON by `EventPayload.to_json` and built into
an `Event` with `Event.of`. No service writes a payload dict by hand.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, ClassVar, Protocol

from domain.unit_of_work import Port

SCHEMA_VERSION_KEY = "schemaVersion"


class EventType(StrEnum):
    CUSTOMER_CREATED = "customer.created"
    ORDER_RECORDED = "order.recorded"
    ORDER_REFUNDED = "order.refunded"
    POINTS_EARNED = "points.earned"
    POINTS_ADJUSTED = "points.adjusted"
    POINTS_REDEEMED = "points.redeemed"
    POINTS_EXPIRED = "points.expired"
    POINTS_EXPIRING_SOON = "points.expiring_soon"
    TIER_UPGRADED = "tier.upgraded"
    TIER_DOWNGRADED = "tier.downgraded"
    REWARD_REDEEMED = "reward.redeemed"
    REDEMPTION_USED = "redemption.used"
    REDEMPTION_CANCELLED = "redemption.cancelled"
    REFERRAL_RECORDED = "referral.recorded"
    REFERRAL_QUALIFIED = "referral.qualified"
    CUSTOMER_LIFECYCLE_CHANGED = "customer.lifecycle_changed"
    CUSTOMER_BIRTHDAY = "customer.birthday"
    CUSTOMER_REPURCHASE_DUE = "customer.repurchase_due"
    SEGMENT_ENTERED = "segment.entered"
    SEGMENT_EXITED = "segment.exited"
    # Messaging (docs/messaging.md): a message a provider accepted, one no template
    # could send (every template skipped or refused).
    MESSAGE_SENT = "message.sent"
    MESSAGE_SKIPPED = "message.skipped"
    COUPON_USED = "coupon.used"
    COUPON_RESTORED = "coupon.restored"
    COUPON_EXPIRING_SOON = "coupon.expiring_soon"
    CUSTOMER_MERGED = "customer.merged"
    JOURNEY_ACTED = "journey.acted"


@functools.cache  # a payload's few field names, converted for every event written
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def json_value(value: object) -> Any:
    """A payload field's JSON form: decimals as strings (never floats), instants and
    dates as ISO 8601, enums by value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class EventPayload:
    """Base of every payload definition. Subclasses are frozen dataclasses whose
    fields are the payload's keys (snake_case here, camelCase in JSON) and set
    `TYPE` and `VERSION`; the JSON also carries `schemaVersion`."""

    TYPE: ClassVar[EventType]
    VERSION: ClassVar[int]

    customer_id: int | None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {SCHEMA_VERSION_KEY: self.VERSION}
        for item in dataclasses.fields(self):
            document[camel(item.name)] = json_value(getattr(self, item.name))
        return document


@dataclass(frozen=True)
class Event:
    type: EventType
    customer_id: int | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @classmethod
    def of(cls, payload: EventPayload, occurred_at: datetime) -> Event:
        """The event of a typed payload: its type, its customer, its JSON."""
        return cls(payload.TYPE, payload.customer_id, occurred_at, payload.to_json())


class EventRepository(Protocol):
    async def append(self, event: Event) -> None: ...
    async def append_many(self, events: Sequence[Event]) -> None:
        """Appends the events in this order, in one statement whatever their number."""
        ...


EVENTS: Port[EventRepository] = Port("events")
