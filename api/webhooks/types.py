"""WebhookSubscription and WebhookDelivery."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.events.types import EventType, fetch_event
from api.node import Node, register
from api.webhooks.loaders import DELIVERY, SUBSCRIPTION
from domain import webhooks as domain
from domain.access import Scope

DeliveryStatus = strawberry.enum(
    domain.DeliveryStatus,
    name="WebhookDeliveryStatus",
    description="PENDING waits for its first or next attempt; DEAD failed every attempt.",
)


@strawberry.type(
    name="WebhookSubscription",
    description="A receiver URL and the event types it is sent, signed with its secret.",
)
class WebhookSubscriptionType(Node):
    id: strawberry.ID
    url: str
    description: str
    event_types: list[str]
    active: bool = strawberry.field(
        description="An inactive subscription is sent nothing; "
        "its deliveries wait until it is active again."
    )
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then the previous secret signs too (after a rotation)."
    )

    @classmethod
    def from_domain(cls, subscription: domain.Subscription) -> WebhookSubscriptionType:
        return cls(
            id=strawberry.ID(ids.encode("WebhookSubscription", subscription.id)),
            url=subscription.url,
            description=subscription.description,
            event_types=list(subscription.event_types),
            active=subscription.active,
            created_at=subscription.created_at,
            updated_at=subscription.updated_at,
            previous_secret_expires_at=subscription.previous_secret_expires_at,
        )


@strawberry.type(name="WebhookDelivery", description="One event on its way to one subscription.")
class WebhookDeliveryType(Node):
    id: strawberry.ID
    event_type: str
    status: DeliveryStatus  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Every attempt made, re-sends included.")
    failures: int = strawberry.field(
        description="Failures since the last success, retry or creation; DEAD at the limit."
    )
    next_attempt_at: datetime | None = strawberry.field(description="Set while PENDING.")
    last_attempt_at: datetime | None
    last_response_code: int | None = strawberry.field(
        description="The receiver's HTTP status; null when no answer came."
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed (timeout, connection, status, address)."
    )
    delivered_at: datetime | None
    created_at: datetime
    subscription_key: strawberry.Private[int]
    event_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, delivery: domain.Delivery) -> WebhookDeliveryType:
        pending = delivery.status is domain.DeliveryStatus.PENDING
        return cls(
            id=strawberry.ID(ids.encode("WebhookDelivery", delivery.id)),
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            failures=delivery.failures,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            last_attempt_at=delivery.last_attempt_at,
            last_response_code=delivery.last_response_code,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
            subscription_key=delivery.subscription_id,
            event_key=delivery.event_id,
        )

    @strawberry.field
    async def subscription(self, info: strawberry.Info) -> WebhookSubscriptionType | None:
        return await fetch_subscription(info, self.subscription_key)

    @strawberry.field(description="The event sent.")
    async def event(self, info: strawberry.Info) -> EventType | None:
        return await fetch_event(info, self.event_key)


@register("WebhookSubscription", Scope.WEBHOOKS_MANAGE)
async def fetch_subscription(info: strawberry.Info, key: int) -> WebhookSubscriptionType | None:
    found = await info.context.loader(SUBSCRIPTION).load(key)
    return WebhookSubscriptionType.from_domain(found) if found else None


@register("WebhookDelivery", Scope.WEBHOOKS_MANAGE)
async def fetch_delivery(info: strawberry.Info, key: int) -> WebhookDeliveryType | None:
    found = await info.context.loader(DELIVERY).load(key)
    return WebhookDeliveryType.from_domain(found) if found else None
