"""Domain events: what automation hangs on.

Services append events through the unit of work, in the same transaction as the
change that causes them, so an event exists if and only if its change committed.
Delivery happens afterwards (a later worker); readers page through them with a
cursor that never skips an event whose transaction committed late
(persistence/events.py says how).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from domain.unit_of_work import Port


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
    COUPON_USED = "coupon.used"
    COUPON_RESTORED = "coupon.restored"
    COUPON_EXPIRING_SOON = "coupon.expiring_soon"


@dataclass(frozen=True)
class Event:
    type: EventType
    customer_id: int | None
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


class EventRepository(Protocol):
    async def append(self, event: Event) -> None: ...
    async def append_many(self, events: Sequence[Event]) -> None:
        """Appends the events in this order, in one statement whatever their number."""
        ...


EVENTS: Port[EventRepository] = Port("events")
