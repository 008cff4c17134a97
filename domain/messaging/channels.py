"""What every channel adapter is, and the thin transports they send through.

An adapter knows its provider's protocol (the request, the signature, the answer's
codes); the bytes go through a transport (`HttpTransport`, `MailTransport`) that
api/messaging/transport.py implements on httpx and aiosmtplib, so the protocol is
plain domain code and the tests run it against real local servers.

A send comes to one of three things:
- SENT: the provider accepted it (with its message id, for delivery receipts);
- REFUSED: the provider will not take this message for this customer (the user
  refused the subscription, an invalid number…): the pipeline records FAILED with
  the reason and tries the message's next template;
- RETRY: the provider could not be reached or was busy: the same template is tried
  again later, and after `MAX_TRANSIENT` tries in a row it counts as REFUSED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum
from typing import Protocol

from domain.messaging.templates import Rendered, TemplateChannel

MAX_TRANSIENT = 5


class SendStatus(StrEnum):
    SENT = "SENT"
    REFUSED = "REFUSED"
    RETRY = "RETRY"


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    provider_message_id: str | None = None
    reason: str | None = None

    @classmethod
    def sent(cls, provider_message_id: str | None = None) -> SendResult:
        return cls(SendStatus.SENT, provider_message_id)

    @classmethod
    def refused(cls, reason: str) -> SendResult:
        return cls(SendStatus.REFUSED, reason=reason[:500])

    @classmethod
    def retry(cls, reason: str) -> SendResult:
        return cls(SendStatus.RETRY, reason=reason[:500])


@dataclass(frozen=True)
class Recipient:
    """What a send needs to know of a customer."""

    customer_id: int
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    points_balance: int
    tier: str | None
    openids: Mapping[str, str] = field(default_factory=dict)
    """WeChat openids by app id (identities of type WECHAT_OPENID)."""


@dataclass(frozen=True)
class Outgoing:
    """One rendered message on its way to one address."""

    message_id: int
    recipient: Recipient
    address: str
    rendered: Rendered
    unsubscribe_url: str | None = None


class ChannelAdapter(Protocol):
    channel: TemplateChannel

    def address(self, recipient: Recipient) -> str | None:
        """Where this channel reaches the customer; None: it cannot (NO_ADDRESS)."""
        ...

    async def send(self, outgoing: Outgoing) -> SendResult: ...


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


class TransportError(Exception):
    """The request got no answer (connection refused, timeout)."""


class HttpTransport(Protocol):
    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpAnswer: ...


class MailRefused(Exception):
    """The SMTP server refused the message or its recipient (a 5xx answer)."""


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Raises MailRefused (permanent) or TransportError (try again later)."""
        ...
