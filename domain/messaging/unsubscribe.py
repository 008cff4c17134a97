"""Signed unsubscribe links: whoever holds the link may opt that one customer out
of that one channel, and nothing else.

The token is ``<customer id>.<channel>.<signature>``, the signature an HMAC-SHA256
(truncated to 128 bits, base64url) of both under a key derived from the process's
secret key. It does not expire: a link in an old e-mail must still work (a law
asks that unsubscribing stay possible), and it can do nothing but opt out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from domain.messaging.templates import TemplateChannel

PATH = "/messaging/unsubscribe"


class UnsubscribeLinks:
    def __init__(self, key_material: str, base_url: str) -> None:
        self._key = hashlib.sha256(
            b"loyalty-graph unsubscribe links\0" + key_material.encode()
        ).digest()
        self.base_url = base_url.rstrip("/")

    def _signature(self, customer_id: int, channel: TemplateChannel) -> str:
        digest = hmac.new(self._key, f"{customer_id}.{channel.value}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")

    def token(self, customer_id: int, channel: TemplateChannel) -> str:
        return f"{customer_id}.{channel.value}.{self._signature(customer_id, channel)}"

    def url(self, customer_id: int, channel: TemplateChannel) -> str:
        return f"{self.base_url}{PATH}?token={quote(self.token(customer_id, channel))}"

    def verify(self, token: str) -> tuple[int, TemplateChannel] | None:
        """The (customer id, channel) a genuine token names; None for any other."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        try:
            channel = TemplateChannel(parts[1])
        except ValueError:
            return None
        customer_id = int(parts[0])
        if not hmac.compare_digest(parts[2], self._signature(customer_id, channel)):
            return None
        return customer_id, channel
