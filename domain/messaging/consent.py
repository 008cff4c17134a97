"""Consent: whether a customer agreed to marketing on a channel (PIPL).

One current record per (customer, channel): granted or withdrawn, where it came from
(`source`: "storefront", "unsubscribe_link", "import", an admin tool's name…) and
when. No record means no consent: a marketing message is sent on a channel only
after an opt-in there. Transactional messages (`marketing=False`) need none.

Merging moves the records to the survivor (a record the survivor already has on a
channel wins over the merged customer's, except that a withdrawal always wins, so
a merge never turns an opt-out into an opt-in). Erasure deletes the customer's
records: nothing about an erased person's preferences is kept, and with no record
nothing is sent (docs/messaging.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import required_text
from domain.messaging.templates import TemplateChannel
from domain.unit_of_work import Port, UnitOfWorkFactory

MAX_SOURCE = 64
MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class Consent:
    customer_id: int
    channel: TemplateChannel
    granted: bool
    source: str
    at: datetime
    """When the customer gave or withdrew it (as the caller says; default now)."""
    recorded_at: datetime


@dataclass(frozen=True)
class UpdateConsent:
    customer_id: int
    channel: TemplateChannel
    granted: bool
    source: str
    at: datetime | None = None


class ConsentRepository(Protocol):
    async def of_customers(self, customer_ids: Sequence[int]) -> dict[int, list[Consent]]: ...
    async def put(self, consent: Consent) -> None: ...
    async def move(self, from_customer: int, to_customer: int) -> None:
        """Merging: the merged customer's records move to the survivor (see above)."""
        ...

    async def remove_all(self, customer_id: int) -> int: ...


CONSENTS: Port[ConsentRepository] = Port("consents")


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
