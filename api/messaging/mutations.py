"""`messageTemplateCreate`, `messageTemplateUpdate`, `messageTemplateArchive`,
`consentUpdate`."""

from __future__ import annotations

from typing import Any

import strawberry

from api.areas import mutation_fields
from api.auth import CustomerPrincipal, require_customer, requires, requires_api_key
from api.errors import UserError, decode_input_id
from api.messaging.inputs import (
    ConsentUpdateInput,
    MessageTemplateArchiveInput,
    MessageTemplateCreateInput,
    MessageTemplateUpdateInput,
)
from api.messaging.types import ConsentType, MessageTemplateType
from api.payloads import refusals_as_user_errors
from domain.access import Scope
from domain.errors import DomainError, ErrorCode
from domain.messaging.consent import UpdateConsent
from domain.messaging.consent_service import ConsentService
from domain.messaging.template_service import TemplateService
from domain.messaging.templates import TemplateChannel, TemplateFields


@strawberry.type
class MessageTemplatePayload:
    template: MessageTemplateType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConsentUpdatePayload:
    consent: ConsentType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _fields(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise DomainError(
            ErrorCode.INVALID, ("fields",), 'An object of data key → text, e.g. {"thing1": "…"}.'
        )
    return value


def _service(info: strawberry.Info) -> TemplateService:
    return TemplateService(info.context.uow, info.context.clock)


@mutation_fields(position=143)
@strawberry.type
class MessagingMutation:
    @strawberry.mutation(
        description="A new message template; a text using an unknown variable is refused "
        "with its field path.",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(MessageTemplatePayload)
    async def message_template_create(
        self, info: strawberry.Info, input: MessageTemplateCreateInput
    ) -> MessageTemplatePayload:
        template = await _service(info).create(
            TemplateFields(
                name=input.name,
                channel=TemplateChannel(input.channel),
                subject=input.subject,
                body=input.body,
                html_body=input.html_body,
                provider_template_id=input.provider_template_id,
                page=input.page,
                fields=_fields(input.fields),
                parameters=input.parameters,
            )
        )
        return MessageTemplatePayload(template=MessageTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Changes a template (not its channel): later sends use the new text.",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(MessageTemplatePayload)
    async def message_template_update(
        self, info: strawberry.Info, input: MessageTemplateUpdateInput
    ) -> MessageTemplatePayload:
        key = decode_input_id(input.id, "MessageTemplate", ("input", "id"))
        template = await _service(info).update(
            key,
            TemplateFields(
                name=input.name,
                subject=input.subject,
                body=input.body,
                html_body=input.html_body,
                provider_template_id=input.provider_template_id,
                page=input.page,
                fields=_fields(input.fields),
                parameters=input.parameters,
            ),
        )
        return MessageTemplatePayload(template=MessageTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Archives a template: never sent again (a queued message falls back to "
        "its next template).",
        permission_classes=[requires_api_key(Scope.CAMPAIGNS_WRITE)],
    )
    @refusals_as_user_errors(MessageTemplatePayload)
    async def message_template_archive(
        self, info: strawberry.Info, input: MessageTemplateArchiveInput
    ) -> MessageTemplatePayload:
        key = decode_input_id(input.id, "MessageTemplate", ("input", "id"))
        template = await _service(info).archive(key)
        return MessageTemplatePayload(template=MessageTemplateType.from_domain(template))

    @strawberry.mutation(
        description="Records a customer's opt-in or opt-out of marketing on a channel "
        "(the latest word wins). A customer token may change only its own customer's.",
        permission_classes=[requires(Scope.CONSENT_WRITE)],
    )
    @refusals_as_user_errors(ConsentUpdatePayload)
    async def consent_update(
        self, info: strawberry.Info, input: ConsentUpdateInput
    ) -> ConsentUpdatePayload:
        customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
        caller = require_customer(info, Scope.CONSENT_WRITE, customer_id)
        default_source = "storefront" if isinstance(caller, CustomerPrincipal) else "api"
        consent = await ConsentService(info.context.uow, info.context.clock).update(
            UpdateConsent(
                customer_id,
                TemplateChannel(input.channel),
                input.granted,
                input.source if input.source is not None else default_source,
                input.at,
            )
        )
        return ConsentUpdatePayload(consent=ConsentType.from_domain(consent))
