"""Real local stand-ins for the messaging providers, each checking the request the
way the provider documents it:

- `smtp_server`: aiosmtpd on a loopback port, keeping every message it accepts
  (and refusing recipients the test names, with a 550).
- `providers`: one Starlette app under uvicorn serving
  - WeChat: ``GET /cgi-bin/token`` (grant_type, appid, secret checked) and
    ``POST /cgi-bin/message/subscribe/send`` (the access token current, touser,
    template_id, data of {"value"} objects), answering errcode 43101 for openids
    the test says refused, and 42001 once when the test expires the token;
  - Tencent Cloud SMS: ``POST /sms/`` with the TC3-HMAC-SHA256 signature recomputed
    here independently of domain/messaging/sms_channel.py (canonical request, string
    to sign, derived keys), and the SendSms fields checked;
  - the brand's sender: ``POST /sender`` verified with the Standard Webhooks
    reference library.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message as EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.api.live_server import free_port, serving

WECHAT_APP_ID = "wx-test-app"
WECHAT_SECRET = "wechat-app-secret"
TENCENT_SECRET_ID = "AKIDtest"
TENCENT_SECRET_KEY = "tencent-secret-key"
SMS_APP_ID = "1400000001"
SMS_SIGN = "测试品牌"
SENDER_SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTE="


@dataclass
class Mailbox:
    host: str = "127.0.0.1"
    port: int = 0
    refused: set[str] = field(default_factory=set)
    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(
            (envelope, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox(port=free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def tc3_expected(headers: dict[str, str], body: bytes, secret_key: str) -> str:
    """The Authorization a correct TC3-HMAC-SHA256 signer sends, per Tencent Cloud's
    document, from what arrived (host, timestamp, action, body)."""
    timestamp = int(headers["x-tc-timestamp"])
    date = datetime.fromtimestamp(timestamp, UTC).date().isoformat()
    host = headers["host"]
    action = headers["x-tc-action"].lower()
    canonical = (
        "POST\n/\n\n"
        f"content-type:{headers['content-type']}\nhost:{host}\nx-tc-action:{action}\n\n"
        "content-type;host;x-tc-action\n" + hashlib.sha256(body).hexdigest()
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(("TC3" + secret_key).encode(), date), "sms"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={TENCENT_SECRET_ID}/{scope}, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={signature}"
    )


@dataclass
class Providers:
    base: str = ""
    refused_openids: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    expire_token_once: bool = False
    wechat: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    sender: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    sms_answer: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token(self) -> str:
        return f"TOKEN-{self.tokens_issued}"


@contextlib.contextmanager
def providers() -> Iterator[Providers]:
    state = Providers()

    async def token(request: Request) -> JSONResponse:
        q = request.query_params
        if (q.get("grant_type"), q.get("appid"), q.get("secret")) != (
            "client_credential",
            WECHAT_APP_ID,
            WECHAT_SECRET,
        ):
            state.problems.append(f"token request {dict(q)}")
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        with state.lock:
            state.tokens_issued += 1
            return JSONResponse({"access_token": state.token, "expires_in": 7200})

    async def subscribe_send(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        with state.lock:
            if request.query_params.get("access_token") != state.token:
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            if state.expire_token_once:
                state.expire_token_once = False
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            missing = {"touser", "template_id", "data"} - body.keys()
            shapes = all(isinstance(v, dict) and set(v) == {"value"} for v in body["data"].values())
            if missing or not shapes:
                state.problems.append(f"subscribe send {body}")
                return JSONResponse({"errcode": 47003, "errmsg": "argument invalid"})
            state.wechat.append(body)
            if body["touser"] in state.refused_openids:
                return JSONResponse({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 1000 + len(state.wechat)})

    async def send_sms(request: Request) -> JSONResponse:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        expected = tc3_expected(headers, raw, TENCENT_SECRET_KEY)
        body = json.loads(raw)
        fields = {"PhoneNumberSet", "SmsSdkAppId", "SignName", "TemplateId", "TemplateParamSet"}
        checks = {
            "signature": headers.get("authorization") == expected,
            "action": headers.get("x-tc-action") == "SendSms",
            "version": headers.get("x-tc-version") == "2021-01-11",
            "region": bool(headers.get("x-tc-region")),
            "content-type": headers.get("content-type") == "application/json; charset=utf-8",
            "fields": fields <= body.keys(),
            "e164": all(p.startswith("+") for p in body.get("PhoneNumberSet", [])),
            "app": body.get("SmsSdkAppId") == SMS_APP_ID and body.get("SignName") == SMS_SIGN,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            state.problems.append(f"sms {failed}")
            return JSONResponse(
                {
                    "Response": {
                        "Error": {"Code": "AuthFailure.SignatureFailure", "Message": str(failed)},
                        "RequestId": "r",
                    }
                }
            )
        with state.lock:
            state.sms.append(body)
            serial = f"serial-{len(state.sms)}"
        if state.sms_answer is not None:
            return JSONResponse(state.sms_answer)
        return JSONResponse(
            {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": serial,
                            "PhoneNumber": body["PhoneNumberSet"][0],
                            "Fee": 1,
                            "SessionContext": body.get("SessionContext", ""),
                            "Code": "Ok",
                            "Message": "send success",
                            "IsoCode": "CN",
                        }
                    ],
                    "RequestId": "r",
                }
            }
        )

    async def sender(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            Webhook(SENDER_SECRET).verify(raw, dict(request.headers))
        except Exception as exc:  # noqa: BLE001
            state.problems.append(f"sender signature: {exc}")
            return JSONResponse({"error": "bad signature"}, status_code=401)
        state.sender.append(json.loads(raw))
        return JSONResponse({"id": f"push-{len(state.sender)}"})

    app = Starlette(
        routes=[
            Route("/cgi-bin/token", token, methods=["GET"]),
            Route("/cgi-bin/message/subscribe/send", subscribe_send, methods=["POST"]),
            Route("/sms/", send_sms, methods=["POST"]),
            Route("/sender", sender, methods=["POST"]),
        ]
    )
    with serving(app) as base:
        state.base = base
        yield state


def provider_settings(mailbox: Mailbox | None, state: Providers | None) -> dict[str, Any]:
    """The Settings fields that point every channel at the local stand-ins."""
    values: dict[str, Any] = {}
    if mailbox is not None:
        values.update(
            LOYALTY_SMTP_HOST=mailbox.host,
            LOYALTY_SMTP_PORT=mailbox.port,
            LOYALTY_SMTP_SECURITY="none",
            LOYALTY_MAIL_FROM="shop@example.com",
            LOYALTY_MAIL_FROM_NAME="Example Shop",
        )
    if state is not None:
        values.update(
            LOYALTY_WECHAT_BASE_URL=state.base,
            LOYALTY_WECHAT_APP_ID=WECHAT_APP_ID,
            LOYALTY_WECHAT_APP_SECRET=WECHAT_SECRET,
            LOYALTY_TENCENT_SMS_ENDPOINT=f"{state.base}/sms",
            LOYALTY_TENCENT_SECRET_ID=TENCENT_SECRET_ID,
            LOYALTY_TENCENT_SECRET_KEY=TENCENT_SECRET_KEY,
            LOYALTY_TENCENT_SMS_APP_ID=SMS_APP_ID,
            LOYALTY_TENCENT_SMS_SIGN_NAME=SMS_SIGN,
            LOYALTY_MESSAGE_WEBHOOK_URL=f"{state.base}/sender",
            LOYALTY_MESSAGE_WEBHOOK_SECRET=SENDER_SECRET,
        )
    return values
