"""`webhookSubscriptions` and `webhookDeliveries`."""

from __future__ import annotations

from typing import Any

import strawberry

from api.areas import query_fields
from api.auth import requires
from api.errors import BadUserInput
from api.ids import BadGlobalId, WrongIdType, decode
from api.pagination import Connection, paginate
from api.webhooks.types import DeliveryStatus, WebhookDeliveryType, WebhookSubscriptionType
from domain import webhooks as domain
from domain.access import Scope
from persistence import webhooks as reads
from persistence.pagination import Page

MAX_SUBSCRIPTIONS_LISTED = 1000


@query_fields(position=140)
@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="Every webhook subscription, oldest first (their secrets are never shown).",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    async def webhook_subscriptions(self, info: strawberry.Info) -> list[WebhookSubscriptionType]:
        page = await info.context.read(reads.subscriptions_page, None, MAX_SUBSCRIPTIONS_LISTED)
        return [WebhookSubscriptionType.from_domain(s) for s in page.items]

    @strawberry.field(
        description="Deliveries, newest first: attempts, response codes and the last error.",
        permission_classes=[requires(Scope.WEBHOOKS_MANAGE)],
    )
    async def webhook_deliveries(
        self,
        info: strawberry.Info,
        subscription_id: strawberry.ID | None = None,
        status: DeliveryStatus | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDeliveryType]:
        key: int | None = None
        if subscription_id is not None:
            try:
                key = decode(subscription_id, "WebhookSubscription")
            except (BadGlobalId, WrongIdType):
                raise BadUserInput("subscriptionId is not a WebhookSubscription ID.") from None
        wanted = domain.DeliveryStatus(status) if status is not None else None

        async def read(after_key: tuple[Any, ...] | None, size: int) -> Page[Any]:
            return await info.context.read(reads.deliveries_page, key, wanted, after_key, size)

        return await paginate(
            sort="WEBHOOK_DELIVERIES",
            first=first,
            after=after,
            read=read,
            count=lambda: info.context.read(reads.count_deliveries, key, wanted),
            to_node=WebhookDeliveryType.from_domain,
            cursor_types=(int,),
        )
