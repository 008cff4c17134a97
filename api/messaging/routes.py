"""The two routes outside GraphQL that messaging needs.

- ``GET /messaging/unsubscribe?token=…`` shows a page with one button; ``POST`` to
  the same URL (the button, or a mail client's one-click unsubscribe of RFC 8058,
  body ``List-Unsubscribe=One-Click``) records the opt-out for the token's customer
  and channel, source ``unsubscribe_link``. GET changes nothing, so link scanners
  that open every link in a mail do not unsubscribe anyone.
- ``POST /messaging/sms/receipts?token=…``: Tencent Cloud SMS's delivery-status
  callback (a JSON list of reports: sid, report_status SUCCESS|FAIL, errmsg,
  description, user_receive_time in Beijing time). The callback carries no
  signature, so its URL holds a secret token (LOYALTY_SMS_RECEIPT_TOKEN) compared in
  constant time; answered ``{"result": 0, "errmsg": "OK"}``.
"""

from __future__ import annotations

import hmac
import html
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from api.messaging.wiring import unsubscribe_links
from api.settings import Settings
from domain.clock import Clock
from domain.messaging.consent_service import ConsentService
from domain.messaging.receipts import Receipt, ReceiptService
from domain.messaging.templates import TemplateChannel
from domain.messaging.unsubscribe import PATH as UNSUBSCRIBE_PATH
from persistence.database import Database
from persistence.unit_of_work import unit_of_work_factory

RECEIPTS_PATH = "/messaging/sms/receipts"
RECEIPT_ZONE = ZoneInfo("Asia/Shanghai")
MAX_RECEIPTS = 1000
CHANNEL_WORDS = {
    TemplateChannel.EMAIL: "e-mail",
    TemplateChannel.SMS: "SMS",
    TemplateChannel.WECHAT: "WeChat",
    TemplateChannel.WEBHOOK: "app",
}


def _page(title: str, text: str, form: str = "", status: int = 200) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


def _received_at(text: object) -> datetime | None:
    try:
        local = datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return local.replace(tzinfo=RECEIPT_ZONE)


def messaging_routes(database: Database, settings: Settings, clock: Clock) -> list[Route]:
    uow = unit_of_work_factory(database, settings.program_defaults())
    links = unsubscribe_links(settings)
    consents = ConsentService(uow, clock)
    receipts = ReceiptService(uow, clock)

    async def unsubscribe(request: Request) -> Response:
        token = request.query_params.get("token", "")
        found = links.verify(token)
        if found is None:
            return _page("Link not valid", "This unsubscribe link is not valid.", status=400)
        customer_id, channel = found
        words = CHANNEL_WORDS[channel]
        if request.method == "GET":
            action = html.escape(f"{UNSUBSCRIBE_PATH}?token={token}", quote=True)
            form = (
                f"<form method='post' action='{action}'>"
                "<button type='submit' name='List-Unsubscribe' value='One-Click'>"
                "Unsubscribe</button></form>"
            )
            return _page("Unsubscribe", f"Stop marketing {words} messages?", form)
        await consents.unsubscribe(customer_id, channel, "unsubscribe_link")
        return _page("Unsubscribed", f"You will get no more marketing {words} messages.")

    async def sms_receipts(request: Request) -> Response:
        expected = settings.sms_receipt_token
        given = request.query_params.get("token", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"result": 1, "errmsg": "forbidden"}, status_code=403)
        try:
            reports = json.loads(await request.body())
            if not isinstance(reports, list) or len(reports) > MAX_RECEIPTS:
                raise ValueError("a list of at most 1000 reports")
            parsed = [
                Receipt(
                    provider_message_id=str(r["sid"]),
                    delivered=r["report_status"] == "SUCCESS",
                    reason=" ".join(str(r.get(k)) for k in ("errmsg", "description") if r.get(k))
                    or None,
                    at=_received_at(r.get("user_receive_time")),
                )
                for r in reports
            ]
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"result": 1, "errmsg": f"bad report: {exc}"}, status_code=400)
        await receipts.record(TemplateChannel.SMS, parsed)
        return JSONResponse({"result": 0, "errmsg": "OK"})

    handlers: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        (UNSUBSCRIBE_PATH, unsubscribe, ["GET", "POST"]),
        (RECEIPTS_PATH, sms_receipts, ["POST"]),
    ]
    return [Route(path, handler, methods=methods) for path, handler, methods in handlers]
