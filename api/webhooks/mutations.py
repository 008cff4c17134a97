"""Subscriptions (create, update, delete, rotate the secret) and re-sends."""

from __future__ import annotations

from datetime import timedelta

import strawberry

from api.areas import mutation_fields
from api.auth import requires
from api.errors import UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from api.webhooks.inputs import (
    WebhookDeliveryRetryInput,
    WebhookReplayInput,
    WebhookSubscriptionCreateInput,
    WebhookSubscriptionDeleteInput,
    WebhookSubscriptionRotateSecretInput,
    WebhookSubscriptionUpdateInput,
)
from api.webhooks.types import WebhookDeliveryType, WebhookSubscriptionType
from domain import webhooks as domain
from domain.access import Scope

SECRET_DESCRIPTION = (
    "The signing secret (whsec_…), for the receiver's Standard Webhooks library. Shown "
    "this once: it is stored encrypted and never returned again."
)


@strawberry.type
class WebhookSubscriptionCreatePayload:
    webhook_subscription: WebhookSubscriptionType | None = None
    secret: str | None = strawberry.field(default=None, description=SECRET_DESCRIPTION)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookSubscriptionUpdatePayload:
    webhook_subscription: WebhookSubscriptionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookSubscriptionDeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookSubscriptionRotateSecretPayload:
    webhook_subscription: WebhookSubscriptionType | None = None
    secret: str | None = strawberry.field(default=None, description=SECRET_DESCRIPTION)
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryRetryPayload:
    webhook_delivery: WebhookDeliveryType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookReplayPayload:
    queued: int | None = strawberry.field(
        default=None, description="How many deliveries were queued (at most 10,000 a call)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def webhook_service(info: strawberry.Info) -> domain.WebhookService:
    settings = info.context.settings
    return domain.WebhookService(
        info.context.uow,
        info.context.clock,
        domain.SecretBox(settings.secret_key),
        production=settings.is_production,
    )


def _subscription_id(given: strawberry.ID, field: str = "id") -> int:
    return decode_input_id(given, "WebhookSubscription", ("input", field))


@mutation_fields(position=140)
@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        description="Subscribes a URL to event types; the worker sends each matching event.",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookSubscriptionCreatePayload)
    async def webhook_subscription_create(
        self, info: strawberry.Info, input: WebhookSubscriptionCreateInput
    ) -> WebhookSubscriptionCreatePayload:
        issued = await webhook_service(info).create(
            domain.CreateSubscription(input.url, input.event_types, input.description, input.active)
        )
        return WebhookSubscriptionCreatePayload(
            webhook_subscription=WebhookSubscriptionType.from_domain(issued.subscription),
            secret=issued.secret,
        )

    @strawberry.mutation(
        description="Changes what is given; deactivating pauses deliveries (they wait).",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookSubscriptionUpdatePayload)
    async def webhook_subscription_update(
        self, info: strawberry.Info, input: WebhookSubscriptionUpdateInput
    ) -> WebhookSubscriptionUpdatePayload:
        changed = await webhook_service(info).update(
            domain.UpdateSubscription(
                _subscription_id(input.id),
                input.url,
                input.event_types,
                input.description,
                input.active,
            )
        )
        return WebhookSubscriptionUpdatePayload(
            webhook_subscription=WebhookSubscriptionType.from_domain(changed)
        )

    @strawberry.mutation(
        description="Deletes the subscription and its deliveries.",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookSubscriptionDeletePayload)
    async def webhook_subscription_delete(
        self, info: strawberry.Info, input: WebhookSubscriptionDeleteInput
    ) -> WebhookSubscriptionDeletePayload:
        await webhook_service(info).delete(_subscription_id(input.id))
        return WebhookSubscriptionDeletePayload(deleted_id=input.id)

    @strawberry.mutation(
        description="A new secret, shown once; the previous one keeps signing beside it "
        "for graceSeconds, so receivers can switch without losing a delivery.",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookSubscriptionRotateSecretPayload)
    async def webhook_subscription_rotate_secret(
        self, info: strawberry.Info, input: WebhookSubscriptionRotateSecretInput
    ) -> WebhookSubscriptionRotateSecretPayload:
        issued = await webhook_service(info).rotate_secret(
            _subscription_id(input.id), timedelta(seconds=input.grace_seconds)
        )
        return WebhookSubscriptionRotateSecretPayload(
            webhook_subscription=WebhookSubscriptionType.from_domain(issued.subscription),
            secret=issued.secret,
        )

    @strawberry.mutation(
        description="Sends a delivery again (a DEAD one gets a fresh set of attempts).",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookDeliveryRetryPayload)
    async def webhook_delivery_retry(
        self, info: strawberry.Info, input: WebhookDeliveryRetryInput
    ) -> WebhookDeliveryRetryPayload:
        key = decode_input_id(input.id, "WebhookDelivery", ("input", "id"))
        delivery = await webhook_service(info).retry(key)
        return WebhookDeliveryRetryPayload(
            webhook_delivery=WebhookDeliveryType.from_domain(delivery)
        )

    @strawberry.mutation(
        description="Queues every event of the subscription's types since `from` again, "
        "in outbox order (same webhook-id as before, so receivers can spot repeats).",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    @refusals_as_user_errors(WebhookReplayPayload)
    async def webhook_replay(
        self, info: strawberry.Info, input: WebhookReplayInput
    ) -> WebhookReplayPayload:
        queued = await webhook_service(info).replay(
            _subscription_id(input.subscription_id, "subscriptionId"), input.from_
        )
        return WebhookReplayPayload(queued=queued)
