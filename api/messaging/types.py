"""Message templates, previews, consents, messages and their outcomes."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api import ids
from api.messaging.loaders import OUTCOMES_OF_MESSAGE, TEMPLATE
from api.node import Node, register
from domain.access import Scope
from domain.messaging import consent as consent_domain
from domain.messaging import messages as message_domain
from domain.messaging import templates as domain

MessageChannel = strawberry.enum(domain.TemplateChannel, name="MessageChannel")
MessageStatus = strawberry.enum(message_domain.MessageStatus, name="MessageStatus")
MessageOutcomeKind = strawberry.enum(message_domain.Outcome, name="MessageOutcomeKind")


@strawberry.type(name="MessageTemplateField", description="A WeChat data key and its text.")
class TemplateFieldType:
    key: str
    value: str


@strawberry.type(
    name="MessageTemplate",
    description="What one channel sends, in Jinja2 (docs/messaging.md lists the variables).",
)
class MessageTemplateType(Node):
    id: strawberry.ID
    name: str
    channel: MessageChannel  # type: ignore[valid-type]
    subject: str | None = strawberry.field(description="EMAIL (required), WEBHOOK (optional).")
    body: str = strawberry.field(
        description="The text: an e-mail's text part; the summary of a WeChat or SMS template."
    )
    html_body: str | None = strawberry.field(description="EMAIL: the HTML part (autoescaped).")
    provider_template_id: str | None = strawberry.field(
        description="WECHAT: the subscribe-message template id; SMS: the Tencent Cloud template id."
    )
    page: str | None = strawberry.field(description="WECHAT: the mini-program page it opens.")
    fields: list[TemplateFieldType] = strawberry.field(
        description="WECHAT: each data key (thing1, time2…) and the text that fills it."
    )
    parameters: list[str] = strawberry.field(
        description="SMS: the texts of the provider template's {1}, {2}… in order."
    )
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_domain(cls, template: domain.MessageTemplate) -> MessageTemplateType:
        return cls(
            id=strawberry.ID(ids.encode("MessageTemplate", template.id)),
            name=template.name,
            channel=template.channel,
            subject=template.subject,
            body=template.body,
            html_body=template.html_body,
            provider_template_id=template.provider_template_id,
            page=template.page,
            fields=[TemplateFieldType(key=k, value=v) for k, v in template.fields.items()],
            parameters=list(template.parameters),
            archived_at=template.archived_at,
            created_at=template.created_at,
            updated_at=template.updated_at,
        )


@register("MessageTemplate", Scope.CAMPAIGNS_READ)
async def load_template(info: strawberry.Info, key: int) -> MessageTemplateType | None:
    found = await info.context.loader(TEMPLATE).load(key)
    return MessageTemplateType.from_domain(found) if found else None


@strawberry.type(name="MessagePreview", description="A template rendered for one customer.")
class MessagePreviewType:
    channel: MessageChannel  # type: ignore[valid-type]
    subject: str | None
    body: str
    html_body: str | None
    page: str | None
    fields: list[TemplateFieldType]
    parameters: list[str]

    @classmethod
    def from_domain(cls, rendered: domain.Rendered) -> MessagePreviewType:
        return cls(
            channel=rendered.channel,
            subject=rendered.subject,
            body=rendered.body,
            html_body=rendered.html_body,
            page=rendered.page,
            fields=[TemplateFieldType(key=k, value=v) for k, v in rendered.fields.items()],
            parameters=list(rendered.parameters),
        )


@strawberry.type(
    name="Consent", description="A customer's word on marketing over one channel (PIPL)."
)
class ConsentType:
    channel: MessageChannel  # type: ignore[valid-type]
    granted: bool = strawberry.field(description="Opted in (true) or out (false).")
    source: str = strawberry.field(
        description="Where it came from: storefront, unsubscribe_link, an admin tool…"
    )
    at: datetime = strawberry.field(description="When the customer gave or withdrew it.")
    recorded_at: datetime

    @classmethod
    def from_domain(cls, consent: consent_domain.Consent) -> ConsentType:
        return cls(
            channel=consent.channel,
            granted=consent.granted,
            source=consent.source,
            at=consent.at,
            recorded_at=consent.recorded_at,
        )


@strawberry.type(name="MessageOutcome", description="What one step of a message came to.")
class MessageOutcomeType:
    outcome: MessageOutcomeKind  # type: ignore[valid-type]
    channel: MessageChannel | None  # type: ignore[valid-type]
    template_id: strawberry.ID | None
    reason: str | None = strawberry.field(
        description="Why: the provider's code and text for FAILED, the quiet hours' end…"
    )
    at: datetime

    @classmethod
    def from_domain(cls, outcome: message_domain.MessageOutcome) -> MessageOutcomeType:
        template = outcome.template_id
        return cls(
            outcome=outcome.outcome,
            channel=domain.TemplateChannel(outcome.channel) if outcome.channel else None,
            template_id=None
            if template is None
            else strawberry.ID(ids.encode("MessageTemplate", template)),
            reason=outcome.reason,
            at=outcome.at,
        )


@strawberry.type(
    name="Message",
    description="One message to one customer: its templates tried in order, and what "
    "became of it (docs/messaging.md).",
)
class MessageType:
    status: MessageStatus  # type: ignore[valid-type]
    reason: str | None = strawberry.field(
        description="SKIPPED or FAILED: the last template's outcome (NO_CONSENT, CAPPED, "
        "NO_ADDRESS, FAILED); QUEUED: the last transient error, if any."
    )
    dedupe_key: str
    marketing: bool
    channel: MessageChannel | None = strawberry.field(  # type: ignore[valid-type]
        description="The channel it was sent over."
    )
    template_ids: list[strawberry.ID]
    campaign_id: strawberry.ID | None
    variant: str | None
    next_attempt_at: datetime = strawberry.field(description="QUEUED: when it is due.")
    created_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, message: message_domain.Message) -> MessageType:
        assert message.id is not None
        return cls(
            status=message.status,
            reason=message.reason,
            dedupe_key=message.dedupe_key,
            marketing=message.marketing,
            channel=domain.TemplateChannel(message.channel) if message.channel else None,
            template_ids=[
                strawberry.ID(ids.encode("MessageTemplate", t)) for t in message.template_ids
            ],
            campaign_id=None
            if message.campaign_id is None
            else strawberry.ID(ids.encode("Campaign", message.campaign_id)),
            variant=message.variant,
            next_attempt_at=message.next_attempt_at,
            created_at=message.created_at,
            sent_at=message.sent_at,
            finished_at=message.finished_at,
            db_id=message.id,
        )

    @strawberry.field(description="Every outcome, oldest first (a few per message).")
    async def outcomes(self, info: strawberry.Info) -> list[MessageOutcomeType]:
        found = await info.context.loader(OUTCOMES_OF_MESSAGE).load(self.db_id)
        return [MessageOutcomeType.from_domain(o) for o in found]
