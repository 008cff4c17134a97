"""WeChat mini-program subscribe messages (订阅消息) over the documented HTTP API.

- Access token: ``GET {base}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…``
  answers ``{"access_token", "expires_in"}``; it is cached until a minute before it
  expires, and fetched again when a send answers 40001 (invalid), 40014 (not a
  token) or 42001 (expired): one refetch and one more try per send.
- Send: ``POST {base}/cgi-bin/message/subscribe/send?access_token=…`` with
  ``{"touser": openid, "template_id", "page", "data": {key: {"value": text}},
  "miniprogram_state", "lang"}``; ``errcode`` 0 is sent (``msgid``).
- The openid is the customer's WECHAT_OPENID identity in this app id's namespace.

Error codes: 43101 (the user refused, or has no subscription left for this
template), 40003 (invalid openid), 40037 (invalid template id), 47003 (data does
not fit the template), 41030 (invalid page) are refusals, so the next template is
tried; -1 (system busy) and 45009 (API call limit) are tried again later.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from urllib.parse import urlencode

from domain.clock import Clock
from domain.messaging.channels import (
    HttpTransport,
    Outgoing,
    Recipient,
    SendResult,
    TransportError,
)
from domain.messaging.templates import TemplateChannel

TOKEN_REFRESH_CODES = frozenset({40001, 40014, 42001})
RETRY_CODES = frozenset({-1, 45009})
KNOWN_REFUSALS = {
    43101: "user refused the subscription (or has none left for this template)",
    40003: "invalid openid",
    40037: "invalid template id",
    47003: "template data does not fit the template",
    41030: "invalid page",
}
EARLY_REFRESH = timedelta(minutes=1)


class WeChatTokenError(Exception):
    pass


class WeChatChannel:
    channel = TemplateChannel.WECHAT

    def __init__(
        self,
        http: HttpTransport,
        clock: Clock,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        state: str = "formal",
        lang: str = "zh_CN",
    ) -> None:
        self.http = http
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.state = state
        self.lang = lang
        self._token: tuple[str, datetime] | None = None

    def address(self, recipient: Recipient) -> str | None:
        return recipient.openids.get(self.app_id) or None

    async def access_token(self, *, fresh: bool = False) -> str:
        now = self.clock.now()
        if not fresh and self._token is not None and now < self._token[1]:
            return self._token[0]
        query = urlencode(
            {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        )
        answer = await self.http.request("GET", f"{self.base_url}/cgi-bin/token?{query}", {})
        try:
            body = json.loads(answer.body)
            token = str(body["access_token"])
            lifetime = timedelta(seconds=int(body.get("expires_in", 7200)))
        except (ValueError, KeyError, TypeError):
            raise WeChatTokenError(
                f"no access token (HTTP {answer.status}): {answer.body[:200]!r}"
            ) from None
        self._token = (token, now + max(lifetime - EARLY_REFRESH, timedelta(0)))
        return token

    def payload(self, outgoing: Outgoing) -> dict[str, object]:
        rendered = outgoing.rendered
        payload: dict[str, object] = {
            "touser": outgoing.address,
            "template_id": rendered.provider_template_id,
            "data": {key: {"value": value} for key, value in rendered.fields.items()},
            "miniprogram_state": self.state,
            "lang": self.lang,
        }
        if rendered.page:
            payload["page"] = rendered.page
        return payload

    async def send(self, outgoing: Outgoing) -> SendResult:
        body = json.dumps(self.payload(outgoing), ensure_ascii=False).encode()
        try:
            token = await self.access_token()
            for attempt in range(2):
                url = f"{self.base_url}/cgi-bin/message/subscribe/send?" + urlencode(
                    {"access_token": token}
                )
                answer = await self.http.request(
                    "POST", url, {"content-type": "application/json"}, body
                )
                if answer.status >= 500:
                    return SendResult.retry(f"WeChat HTTP {answer.status}")
                try:
                    reply = json.loads(answer.body)
                    code = int(reply.get("errcode", 0))
                except (ValueError, TypeError, AttributeError):
                    return SendResult.retry(f"WeChat answered HTTP {answer.status} without JSON")
                if code == 0:
                    msgid = reply.get("msgid")
                    return SendResult.sent(None if msgid is None else str(msgid))
                if code in TOKEN_REFRESH_CODES and attempt == 0:
                    token = await self.access_token(fresh=True)
                    continue
                text = f"WeChat {code}: {KNOWN_REFUSALS.get(code) or reply.get('errmsg', '')}"
                if code in RETRY_CODES:
                    return SendResult.retry(text)
                return SendResult.refused(text)
        except TransportError as exc:
            return SendResult.retry(f"WeChat unreachable: {exc}")
        except WeChatTokenError as exc:
            return SendResult.retry(f"WeChat token: {exc}")
        return SendResult.retry("WeChat kept refusing fresh access tokens")
