"""E-mail: a multipart message (text, and HTML when the template has it) with the
one-click unsubscribe headers of RFC 2369 and RFC 8058.

`List-Unsubscribe` carries the signed link the server handles
(api/messaging/unsubscribe.py) and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`
tells mail clients they may POST to it without showing the page, which is what
large mailbox providers require of bulk senders.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from domain.messaging.channels import (
    MailRefused,
    MailTransport,
    Outgoing,
    Recipient,
    SendResult,
    TransportError,
)
from domain.messaging.templates import TemplateChannel


class EmailChannel:
    channel = TemplateChannel.EMAIL

    def __init__(self, transport: MailTransport, sender: str, sender_name: str = "") -> None:
        self.transport = transport
        self.sender = sender
        self.sender_name = sender_name

    def address(self, recipient: Recipient) -> str | None:
        return recipient.email or None

    def build(self, outgoing: Outgoing) -> EmailMessage:
        rendered = outgoing.rendered
        message = EmailMessage()
        message["From"] = (
            formataddr((self.sender_name, self.sender)) if self.sender_name else self.sender
        )
        message["To"] = outgoing.address
        message["Subject"] = rendered.subject or ""
        domain = self.sender.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(f"loyalty-message-{outgoing.message_id}", domain=domain)
        if outgoing.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{outgoing.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(rendered.body)
        if rendered.html_body:
            message.add_alternative(rendered.html_body, subtype="html")
        return message

    async def send(self, outgoing: Outgoing) -> SendResult:
        message = self.build(outgoing)
        try:
            await self.transport.send(message)
        except MailRefused as exc:
            return SendResult.refused(f"SMTP refused: {exc}")
        except TransportError as exc:
            return SendResult.retry(f"SMTP unreachable: {exc}")
        return SendResult.sent(str(message["Message-ID"]))
