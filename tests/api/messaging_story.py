"""One setting for the messaging tests: a database, the providers' stand-ins, a
worker pointed at them, and the steps a brand takes (customers, templates,
consent, settings) through the domain services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.settings import Settings
from api.worker import Worker
from domain.campaigns import CampaignFields, CampaignService, Channel, VariantInput
from domain.clock import FixedClock
from domain.customers import CustomerService, ProfileInput, UpsertCustomer
from domain.identities import IdentityInput, IdentityType
from domain.messaging.consent import UpdateConsent
from domain.messaging.consent_service import ConsentService
from domain.messaging.messages import MESSAGES, Message, MessageOutcome
from domain.messaging.outbound import Enqueued, OutboundMessage, enqueue
from domain.messaging.pipeline import PassReport
from domain.messaging.template_service import TemplateService
from domain.messaging.templates import TemplateChannel, TemplateFields
from domain.program import ProgramService
from domain.segments import CreateSegment, SegmentService
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.messaging_providers import (
    WECHAT_APP_ID,
    Mailbox,
    Providers,
    provider_settings,
)


@dataclass
class Story:
    database: Database
    database_url: str
    clock: FixedClock
    mailbox: Mailbox | None = None
    providers: Providers | None = None
    worker_name: str = "messaging-test"
    extra: dict[str, Any] = field(default_factory=dict)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database)

    def settings(self) -> Settings:
        return Settings(
            DATABASE_URL=self.database_url,
            LOYALTY_ENV="development",
            LOYALTY_PUBLIC_URL="https://loyalty.example.com",
            **provider_settings(self.mailbox, self.providers),
            **self.extra,
        )

    def worker(self, name: str | None = None) -> Worker:
        return Worker(
            self.database,
            self.settings(),
            clock=self.clock,
            name=name or self.worker_name,
            daily=False,
        )

    async def deliver(self) -> PassReport:
        worker = self.worker()
        try:
            return await worker.deliver_messages()
        finally:
            await worker.close()

    async def customer(
        self,
        external_id: str,
        *,
        email: str | None = None,
        phone: str | None = None,
        openid: str | None = None,
        name: str | None = None,
    ) -> int:
        service = CustomerService(self.uow, self.clock, phone_region="CN")
        identities = (
            [IdentityInput(IdentityType.WECHAT_OPENID, openid, WECHAT_APP_ID)] if openid else []
        )
        result = await service.upsert(
            UpsertCustomer(
                external_id,
                ProfileInput(email=email, phone=phone, name=name),
                identities,
            )
        )
        assert result.customer.id is not None
        return result.customer.id

    async def template(self, channel: TemplateChannel, **fields: Any) -> int:
        service = TemplateService(self.uow, self.clock)
        template = await service.create(
            TemplateFields(
                channel=channel, name=fields.pop("name", f"{channel} template"), **fields
            )
        )
        assert template.id is not None
        return template.id

    async def email_template(self) -> int:
        return await self.template(
            TemplateChannel.EMAIL,
            subject="{{ name }}, 满100减20 for you",
            body="Hi {{ name }}, your coupon {{ coupon_code }} ends {{ coupon_expires_at }}. "
            "You have {{ points_balance }} points. Unsubscribe: {{ unsubscribe_url }}",
            html_body="<p>Hi {{ name }}, coupon <b>{{ coupon_code }}</b></p>",
        )

    async def wechat_template(self) -> int:
        return await self.template(
            TemplateChannel.WECHAT,
            body="生日快乐 {{ name }}",
            provider_template_id="wechat-birthday-tpl",
            page="pages/coupons/index?code={{ coupon_code }}",
            fields={"thing1": "生日快乐 {{ name }}", "character_string2": "{{ coupon_code }}"},
        )

    async def sms_template(self) -> int:
        return await self.template(
            TemplateChannel.SMS,
            body="生日快乐 {{ name }}, 券码 {{ coupon_code }}",
            provider_template_id="1234567",
            parameters=["{{ name }}", "{{ coupon_code }}"],
        )

    async def consent(
        self, customer_id: int, channel: TemplateChannel, granted: bool = True
    ) -> None:
        await ConsentService(self.uow, self.clock).update(
            UpdateConsent(customer_id, channel, granted, "storefront")
        )

    async def program(self, **changes: Any) -> None:
        await ProgramService(self.uow, self.clock).update(changes)

    async def enqueue(
        self,
        customer_id: int,
        template_ids: tuple[int, ...],
        key: str,
        *,
        marketing: bool = True,
        campaign_id: int | None = None,
        variant: str | None = None,
        not_before: datetime | None = None,
    ) -> Enqueued:
        async with self.uow() as uow:
            queued = await enqueue(
                uow,
                OutboundMessage(
                    customer_id=customer_id,
                    template_ids=template_ids,
                    dedupe_key=key,
                    campaign_id=campaign_id,
                    variant=variant,
                    variables={"coupon_code": "SAVE20", "coupon_expires_at": "2026-04-01"},
                    marketing=marketing,
                    not_before=not_before,
                ),
                self.clock.now(),
            )
            await uow.commit()
        return queued

    async def message(self, message_id: int) -> Message:
        async with self.uow() as uow:
            found = await uow.repo(MESSAGES).get(message_id)
        assert found is not None
        return found

    async def outcomes(self, message_id: int) -> list[MessageOutcome]:
        from sqlalchemy import select

        from persistence.messaging.messages import outcome_of
        from persistence.messaging.rows import MessageOutcomeRow

        async with self.database.sessions() as session:
            rows = await session.execute(
                select(MessageOutcomeRow)
                .where(MessageOutcomeRow.message_id == message_id)
                .order_by(MessageOutcomeRow.id)
            )
            return [outcome_of(r) for r in rows.scalars()]

    async def campaign(self, variant: str = "A") -> int:
        segment = await SegmentService(self.uow, self.clock).create(
            CreateSegment("Everyone", "points_balance >= 0")
        )
        service = CampaignService(self.uow, self.clock)
        campaign = await service.create(
            CampaignFields(
                name="Birthday",
                channel=Channel.WECHAT,
                segment_id=segment.id,
                variants=[VariantInput(variant)],
                starts_at=self.clock.now(),
            )
        )
        assert campaign.id is not None
        await service.start(campaign.id)
        return campaign.id
