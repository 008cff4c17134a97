"""The messaging channels' transports: HTTP on httpx, SMTP on aiosmtplib.

Thin on purpose: the providers' protocols (requests, signatures, error codes) are in
domain/messaging/; these move bytes and turn network trouble into the domain's
`TransportError` (try later) or `MailRefused` (a permanent SMTP answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage

import aiosmtplib
import httpx

from domain.messaging.channels import HttpAnswer, MailRefused, TransportError

USER_AGENT = "LoyaltyGraph-Messaging/1"
READ_LIMIT = 65_536


class HttpxTransport:
    def __init__(self, *, timeout_s: float) -> None:
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout_s),
            headers={"user-agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpAnswer:
        try:
            response = await self.client.request(method, url, headers=dict(headers), content=body)
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
        return HttpAnswer(response.status_code, response.content[:READ_LIMIT])


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username or None
        self.password = password or None
        self.security = security
        self.timeout_s = timeout_s

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise MailRefused("; ".join(str(r) for r in exc.recipients)) from None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise MailRefused(f"{exc.code} {exc.message}") from None
            raise TransportError(f"{exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from None
