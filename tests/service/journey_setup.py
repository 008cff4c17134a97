"""What the journey tests share: a shop with a customer, a coupon template, a message
template and a repurchase journey, events appended to the outbox, and the counts the
tests compare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from domain.clock import FixedClock
from domain.coupons import CouponKind, CouponTemplateService, TemplateFields
from domain.customers import CustomerService, ProfileInput, UpsertCustomer
from domain.event_payloads import RepurchaseDueV1
from domain.events import EVENTS, Event
from domain.journeys.engine import JourneyEngine
from domain.journeys.model import ActionInput, ActionKind, Journey, JourneyFields, TriggerInput
from domain.journeys.service import JourneyService
from domain.messaging.template_service import TemplateService
from domain.messaging.templates import TemplateChannel
from domain.messaging.templates import TemplateFields as MessageFields
from persistence.coupons import CouponRow
from persistence.database import Database
from persistence.journeys.rows import JourneyRunRow
from persistence.messaging.rows import MessageRow
from tests.event_horizon import settle
from tests.service import wiring


async def message_template(database: Database, at: datetime, channel: str = "EMAIL") -> int:
    """An e-mail template carrying the coupon a journey step issued before it."""
    service = TemplateService(wiring.uow_factory(database), FixedClock(at))
    template = await service.create(
        MessageFields(
            name=f"repurchase {channel.lower()}",
            channel=TemplateChannel(channel),
            subject="We miss you",
            body="Your coupon {{ coupon_code }} ends {{ coupon_expires_at }}.",
        )
    )
    assert template.id is not None
    return template.id


@dataclass
class Shop:
    database: Database
    clock: FixedClock

    def journeys(self) -> JourneyService:
        return JourneyService(wiring.uow_factory(self.database), self.clock)

    def engine(self, database: Database | None = None) -> JourneyEngine:
        return JourneyEngine(wiring.uow_factory(database or self.database), self.clock)

    async def customer(self, external_id: str) -> int:
        service = CustomerService(wiring.uow_factory(self.database), self.clock, phone_region=None)
        result = await service.upsert(
            UpsertCustomer(external_id, ProfileInput(email=f"{external_id}@example.com"))
        )
        return result.customer.id

    async def coupon_template(self) -> int:
        template = await CouponTemplateService(
            wiring.uow_factory(self.database), self.clock
        ).create(
            TemplateFields(
                name="满50减10",
                kind=CouponKind.AMOUNT_OFF,
                amount_off="10",
                min_spend="50",
                valid_days=14,
            )
        )
        assert template.id is not None
        return template.id

    async def repurchase_journey(self, **fields: Any) -> Journey:
        coupon = await self.coupon_template()
        template = await message_template(self.database, self.clock.now())
        journey = await self.journeys().create(
            JourneyFields(
                name="Repurchase reminder",
                trigger=TriggerInput("customer.repurchase_due"),
                actions=[
                    ActionInput(ActionKind.ISSUE_COUPON, coupon_template_id=coupon),
                    ActionInput(ActionKind.SEND_MESSAGE, template_ids=[template]),
                ],
                **fields,
            )
        )
        assert journey.id is not None
        return await self.journeys().activate(journey.id)

    async def repurchase_due(self, *customers: int, at: datetime | None = None) -> None:
        """A `customer.repurchase_due` per customer, as the daily pass raises it."""
        at = at or self.clock.now()
        async with wiring.unit_of_work(self.database) as uow:
            for customer_id in customers:
                await uow.repo(EVENTS).append(
                    Event.of(
                        RepurchaseDueV1(
                            customer_id,
                            order_id=customer_id,
                            order_external_id=f"o-{customer_id}",
                            last_order_at=at - timedelta(days=30),
                            reminder_days=30,
                            due_on=date(at.year, at.month, at.day),
                        ),
                        at,
                    )
                )
            await uow.commit()
        await settle(self.database)

    async def counts(self) -> tuple[int, int, int]:
        """(runs, messages, coupons) stored."""
        async with self.database.sessions() as session:
            found = []
            for row in (JourneyRunRow, MessageRow, CouponRow):
                found.append(
                    int((await session.execute(select(func.count()).select_from(row))).scalar_one())
                )
            return found[0], found[1], found[2]

    async def messages(self) -> list[MessageRow]:
        async with self.database.sessions() as session:
            return list(
                (await session.execute(select(MessageRow).order_by(MessageRow.id))).scalars()
            )

    async def runs(self) -> list[JourneyRunRow]:
        async with self.database.sessions() as session:
            rows = await session.execute(select(JourneyRunRow).order_by(JourneyRunRow.id))
            return list(rows.scalars())
