"""Webhook inputs."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input
class WebhookSubscriptionCreateInput:
    url: str = strawberry.field(description="https (in development also http to a loopback host).")
    event_types: list[str] = strawberry.field(description='e.g. ["customer.created"].')
    description: str = ""
    active: bool = True


@strawberry.input
class WebhookSubscriptionUpdateInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    description: str | None = None
    active: bool | None = None


@strawberry.input
class WebhookSubscriptionDeleteInput:
    id: strawberry.ID


@strawberry.input
class WebhookSubscriptionRotateSecretInput:
    id: strawberry.ID
    grace_seconds: int = strawberry.field(
        default=86_400,
        description="How long the previous secret still signs beside the new one "
        "(0 to 604800; 0 drops it at once).",
    )


@strawberry.input
class WebhookDeliveryRetryInput:
    id: strawberry.ID


@strawberry.input
class WebhookReplayInput:
    subscription_id: strawberry.ID
    from_: datetime = strawberry.field(
        name="from", description="Re-send every event of its types that occurred since then."
    )
