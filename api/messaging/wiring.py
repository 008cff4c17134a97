"""Which channels this process can send on: each adapter built from the settings
that make it real (README "Messaging"); a channel whose settings are missing has no
adapter, and a message's template on it is FAILED "not set up" (then fallback)."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.messaging.transport import HttpxTransport, SmtpTransport
from api.settings import Settings
from domain.clock import Clock
from domain.messaging.channels import ChannelAdapter
from domain.messaging.email_channel import EmailChannel
from domain.messaging.sms_channel import TencentSmsChannel
from domain.messaging.templates import TemplateChannel
from domain.messaging.unsubscribe import UnsubscribeLinks
from domain.messaging.webhook_channel import WebhookChannel
from domain.messaging.wechat_channel import WeChatChannel


@dataclass
class Channels:
    adapters: dict[TemplateChannel, ChannelAdapter] = field(default_factory=dict)
    http: HttpxTransport | None = None

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def unsubscribe_links(settings: Settings) -> UnsubscribeLinks:
    return UnsubscribeLinks(settings.secret_key, settings.public_url)


def channels(settings: Settings, clock: Clock) -> Channels:
    found = Channels()

    def http() -> HttpxTransport:
        """One HTTP client for the channels that need one, made only then."""
        if found.http is None:
            found.http = HttpxTransport(timeout_s=settings.message_timeout_s)
        return found.http

    adapters = found.adapters
    if settings.smtp_host and settings.mail_from:
        smtp = SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout_s=settings.message_timeout_s,
        )
        adapters[TemplateChannel.EMAIL] = EmailChannel(
            smtp, settings.mail_from, settings.mail_from_name
        )
    if settings.wechat_app_id and settings.wechat_app_secret:
        adapters[TemplateChannel.WECHAT] = WeChatChannel(
            http(),
            clock,
            base_url=settings.wechat_base_url,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            state=settings.wechat_state,
        )
    if (
        settings.tencent_secret_id
        and settings.tencent_secret_key
        and settings.tencent_sms_app_id
        and settings.tencent_sms_sign_name
    ):
        adapters[TemplateChannel.SMS] = TencentSmsChannel(
            http(),
            clock,
            endpoint=settings.tencent_sms_endpoint,
            secret_id=settings.tencent_secret_id,
            secret_key=settings.tencent_secret_key,
            region=settings.tencent_sms_region,
            sdk_app_id=settings.tencent_sms_app_id,
            sign_name=settings.tencent_sms_sign_name,
        )
    if settings.message_webhook_url and settings.message_webhook_secret:
        adapters[TemplateChannel.WEBHOOK] = WebhookChannel(
            http(), clock, url=settings.message_webhook_url, secret=settings.message_webhook_secret
        )
    return found
