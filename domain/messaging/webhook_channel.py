"""The brand's own sender (or app-push service): the rendered message POSTed as
JSON, signed as our webhooks are (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature`, domain/webhooks.py `signed_headers`), so
a receiver that verifies our webhooks verifies these with the same code.

The body: ``{"type": "message.send", "message_id", "customer": {"id",
"external_id", "email", "phone", "wechat_openids"}, "channel": "WEBHOOK",
"subject", "body", "unsubscribe_url"}``. A 2xx answer is sent (a
``{"id": …}`` in it is kept as the provider's message id), a 4xx a refusal, a 5xx or
no answer is tried again later.
"""

from __future__ import annotations

import json

from domain.clock import Clock
from domain.messaging.channels import (
    HttpTransport,
    Outgoing,
    Recipient,
    SendResult,
    TransportError,
)
from domain.messaging.templates import TemplateChannel
from domain.webhooks import signed_headers


def webhook_message_id(message_id: int) -> str:
    return f"msg_message_{message_id}"


class WebhookChannel:
    channel = TemplateChannel.WEBHOOK

    def __init__(self, http: HttpTransport, clock: Clock, *, url: str, secret: str) -> None:
        self.http = http
        self.clock = clock
        self.url = url
        self.secret = secret

    def address(self, recipient: Recipient) -> str | None:
        return str(recipient.customer_id)

    def body(self, outgoing: Outgoing) -> str:
        r = outgoing.recipient
        return json.dumps(
            {
                "type": "message.send",
                "message_id": outgoing.message_id,
                "customer": {
                    "id": r.customer_id,
                    "external_id": r.external_id,
                    "email": r.email,
                    "phone": r.phone,
                    "wechat_openids": dict(r.openids),
                },
                "channel": self.channel.value,
                "subject": outgoing.rendered.subject,
                "body": outgoing.rendered.body,
                "unsubscribe_url": outgoing.unsubscribe_url,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    async def send(self, outgoing: Outgoing) -> SendResult:
        body = self.body(outgoing)
        headers = signed_headers(
            webhook_message_id(outgoing.message_id), body, self.clock.now(), [self.secret]
        )
        try:
            answer = await self.http.request("POST", self.url, headers, body.encode())
        except TransportError as exc:
            return SendResult.retry(f"sender unreachable: {exc}")
        if 200 <= answer.status < 300:
            try:
                found = json.loads(answer.body).get("id")
            except (ValueError, AttributeError):
                found = None
            return SendResult.sent(None if found is None else str(found)[:128])
        text = answer.body[:200].decode("utf-8", "replace")
        if answer.status >= 500:
            return SendResult.retry(f"sender HTTP {answer.status}: {text}")
        return SendResult.refused(f"sender HTTP {answer.status}: {text}")
