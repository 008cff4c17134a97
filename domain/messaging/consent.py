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

from domain.messaging.templates import TemplateChannel
from domain.unit_of_work import Port


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
