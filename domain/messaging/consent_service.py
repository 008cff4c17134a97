"""consentUpdate and the unsubscribe link: recording a customer's word (rules in
domain/messaging/consent.py)."""

from __future__ import annotations

from domain.clock import Clock
from domain.customers import CUSTOMERS
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import required_text
from domain.messaging.consent import CONSENTS, Consent, UpdateConsent
from domain.messaging.templates import TemplateChannel
from domain.unit_of_work import UnitOfWorkFactory

MAX_SOURCE = 64
MAX_MERGE_HOPS = 10


class ConsentService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    def checked(self, command: UpdateConsent) -> UpdateConsent:
        errors = ErrorCollector()
        now = self.clock.now()
        try:
            source = required_text(command.source, ("source",), max_length=MAX_SOURCE)
        except DomainError as exc:
            errors.capture(exc)
            source = ""
        if command.at is not None and (command.at.tzinfo is None or command.at > now):
            errors.add(ErrorCode.INVALID, ("at",), "at needs a UTC offset and must not be ahead.")
        errors.raise_if_any()
        return UpdateConsent(
            command.customer_id, command.channel, command.granted, source, command.at
        )

    async def unsubscribe(
        self, customer_id: int, channel: TemplateChannel, source: str
    ) -> Consent | None:
        """An opt-out from a link in a message: a merged customer's link opts out its
        survivor (the consent moved there); None when the customer is gone (erased
        or unknown), when there is nothing left to opt out of."""
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customers = uow.repo(CUSTOMERS)
            customer = await customers.get(customer_id, for_update=True)
            for _ in range(MAX_MERGE_HOPS):
                if customer is None or customer.merged_into_id is None:
                    break
                customer = await customers.get(customer.merged_into_id, for_update=True)
            if customer is None or customer.id is None or customer.erased_at is not None:
                return None
            consent = Consent(customer.id, channel, False, source, now, now)
            await uow.repo(CONSENTS).put(consent)
            await uow.commit()
            return consent

    async def update(self, command: UpdateConsent) -> Consent:
        """Records the customer's consent on the channel (the latest word wins)."""
        command = self.checked(command)
        now = self.clock.now()
        async with self.uow_factory() as uow:
            customer = await uow.repo(CUSTOMERS).get(command.customer_id, for_update=True)
            if customer is None or customer.erased_at is not None or customer.merged_into_id:
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("customer_id",), "No customer (not erased) has this id."
                )
            consent = Consent(
                customer_id=command.customer_id,
                channel=command.channel,
                granted=command.granted,
                source=command.source,
                at=command.at or now,
                recorded_at=now,
            )
            await uow.repo(CONSENTS).put(consent)
            await uow.commit()
            return consent
