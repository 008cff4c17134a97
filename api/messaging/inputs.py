"""Inputs of the messaging mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.messaging.types import MessageChannel


@strawberry.input
class MessageTemplateCreateInput:
    name: str
    channel: MessageChannel  # type: ignore[valid-type]
    body: str
    subject: str | None = None
    html_body: str | None = None
    provider_template_id: str | None = None
    page: str | None = None
    fields: JSON | None = strawberry.field(
        default=None, description='WECHAT: {"thing1": "{{ name }}", …}, data key → text.'
    )
    parameters: list[str] | None = None


@strawberry.input(description="Only what is given changes; the channel never does.")
class MessageTemplateUpdateInput:
    id: strawberry.ID
    name: str | None = None
    body: str | None = None
    subject: str | None = None
    html_body: str | None = None
    provider_template_id: str | None = None
    page: str | None = None
    fields: JSON | None = None
    parameters: list[str] | None = None


@strawberry.input
class MessageTemplateArchiveInput:
    id: strawberry.ID


@strawberry.input
class ConsentUpdateInput:
    customer_id: strawberry.ID
    channel: MessageChannel  # type: ignore[valid-type]
    granted: bool
    source: str | None = strawberry.field(
        default=None,
        description="Where the customer said so; default 'storefront' for a customer token, "
        "'api' for an API key.",
    )
    at: datetime | None = strawberry.field(
        default=None, description="When the customer said so; default now."
    )
