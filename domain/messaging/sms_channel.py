"""SMS through Tencent Cloud SMS (API 3.0, SendSms, version 2021-01-11).

The request is a POST of JSON to the endpoint (``https://sms.tencentcloudapi.com``)
signed with TC3-HMAC-SHA256 exactly as Tencent Cloud documents it (`tc3_headers`):

1. CanonicalRequest = "POST\\n/\\n\\n" + the canonical headers
   ("content-type:application/json; charset=utf-8\\nhost:…\\nx-tc-action:sendsms\\n")
   + "\\n" + SignedHeaders ("content-type;host;x-tc-action") + "\\n" + hex SHA-256 of
   the body.
2. StringToSign = "TC3-HMAC-SHA256\\n" + timestamp + "\\n" + CredentialScope
   ("YYYY-MM-DD/sms/tc3_request", the UTC date of the timestamp) + "\\n" + hex
   SHA-256 of the canonical request.
3. Keys: SecretDate = HMAC("TC3" + SecretKey, date), SecretService =
   HMAC(SecretDate, "sms"), SecretSigning = HMAC(SecretService, "tc3_request");
   Signature = hex HMAC(SecretSigning, StringToSign).
4. Authorization: "TC3-HMAC-SHA256 Credential=SecretId/CredentialScope,
   SignedHeaders=content-type;host;x-tc-action, Signature=…", with X-TC-Action,
   X-TC-Timestamp, X-TC-Version and X-TC-Region.

The body: PhoneNumberSet (E.164), SmsSdkAppId, SignName, TemplateId,
TemplateParamSet, SessionContext (our message id, echoed in receipts). The answer's
SendStatusSet[0].Code "Ok" is sent, with its SerialNo, which the delivery-receipt
callback names as `sid`. An Error whose code starts with InternalError,
RequestLimitExceeded or LimitExceeded is tried again later; any other error is a
refusal (the next template is tried).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from domain.clock import Clock
from domain.messaging.channels import (
    HttpTransport,
    Outgoing,
    Recipient,
    SendResult,
    TransportError,
)
from domain.messaging.templates import TemplateChannel

SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"
RETRY_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_headers(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    body: bytes,
    timestamp: int,
    region: str,
    service: str = SERVICE,
    action: str = ACTION,
    version: str = VERSION,
) -> dict[str, str]:
    """The headers of a TC3-HMAC-SHA256 signed API 3.0 POST."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_headers = f"content-type:{CONTENT_TYPE}\nhost:{host}\nx-tc-action:{action.lower()}\n"
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, SIGNED_HEADERS, hashlib.sha256(body).hexdigest()]
    )
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    secret_date = _hmac(("TC3" + secret_key).encode(), date)
    secret_service = _hmac(secret_date, service)
    secret_signing = _hmac(secret_service, "tc3_request")
    signature = hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": (
            f"{ALGORITHM} Credential={secret_id}/{scope}, "
            f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
        ),
        "Content-Type": CONTENT_TYPE,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": version,
        "X-TC-Region": region,
    }


class TencentSmsChannel:
    channel = TemplateChannel.SMS

    def __init__(
        self,
        http: HttpTransport,
        clock: Clock,
        *,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        region: str,
        sdk_app_id: str,
        sign_name: str,
    ) -> None:
        self.http = http
        self.clock = clock
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.region = region
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name

    def address(self, recipient: Recipient) -> str | None:
        phone = recipient.phone or ""
        return phone if phone.startswith("+") else None

    def payload(self, outgoing: Outgoing) -> dict[str, object]:
        return {
            "PhoneNumberSet": [outgoing.address],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": outgoing.rendered.provider_template_id,
            "TemplateParamSet": list(outgoing.rendered.parameters),
            "SessionContext": f"message:{outgoing.message_id}",
        }

    async def send(self, outgoing: Outgoing) -> SendResult:
        body = json.dumps(self.payload(outgoing), ensure_ascii=False).encode()
        headers = tc3_headers(
            secret_id=self.secret_id,
            secret_key=self.secret_key,
            host=self.host,
            body=body,
            timestamp=int(self.clock.now().timestamp()),
            region=self.region,
        )
        try:
            answer = await self.http.request("POST", self.endpoint + "/", headers, body)
        except TransportError as exc:
            return SendResult.retry(f"Tencent Cloud SMS unreachable: {exc}")
        if answer.status >= 500:
            return SendResult.retry(f"Tencent Cloud SMS HTTP {answer.status}")
        try:
            response = json.loads(answer.body)["Response"]
        except (ValueError, KeyError, TypeError):
            return SendResult.retry(f"Tencent Cloud SMS answered HTTP {answer.status} oddly")
        error = response.get("Error")
        if error:
            code = str(error.get("Code", ""))
            text = f"Tencent Cloud SMS {code}: {error.get('Message', '')}"
            if code.startswith(RETRY_PREFIXES):
                return SendResult.retry(text)
            return SendResult.refused(text)
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            return SendResult.retry("Tencent Cloud SMS answered no send status")
        status = statuses[0]
        if status.get("Code") == "Ok":
            return SendResult.sent(str(status.get("SerialNo") or "") or None)
        code = str(status.get("Code", ""))
        text = f"Tencent Cloud SMS {code}: {status.get('Message', '')}"
        if code.startswith(RETRY_PREFIXES):
            return SendResult.retry(text)
        return SendResult.refused(text)
