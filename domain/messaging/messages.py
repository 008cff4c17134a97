"""Queued messages and their outcomes: what the pipeline stores, and the port to it.

A message is one thing to tell one customer, with the templates to try in order
(the fallback chain). Its outcomes are the story of each try: a skip (NO_CONSENT,
NO_ADDRESS, CAPPED), a delay (QUIET_HOURS_DELAYED), a provider's refusal (FAILED
with the provider's reason), a SENT and later a DELIVERED (or a FAILED receipt).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.unit_of_work import Port

MAX_DEDUPE_KEY = 200
MAX_TEMPLATES = 5
MAX_VARIABLES = 50
MAX_VARIABLE_NAME = 64
MAX_VARIABLE_VALUE = 2000
REASON_LIMIT = 500


class MessageStatus(StrEnum):
    QUEUED = "QUEUED"
    """Waiting for the worker (`next_attempt_at`), maybe delayed by quiet hours or rate."""
    SENT = "SENT"
    """A channel's provider accepted it (`DELIVERED` once a receipt says so)."""
    DELIVERED = "DELIVERED"
    SKIPPED = "SKIPPED"
    """No template could be used (no consent, no address, capped): `reason` says why."""
    FAILED = "FAILED"
    """Every template's provider refused it, or a delivery receipt reported a failure."""


class Outcome(StrEnum):
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    NO_CONSENT = "NO_CONSENT"
    NO_ADDRESS = "NO_ADDRESS"
    CAPPED = "CAPPED"
    QUIET_HOURS_DELAYED = "QUIET_HOURS_DELAYED"


@dataclass
class Message:
    customer_id: int
    dedupe_key: str
    template_ids: tuple[int, ...]
    campaign_id: int | None
    variant: str | None
    variables: Mapping[str, str]
    marketing: bool
    status: MessageStatus
    next_attempt_at: datetime
    created_at: datetime
    template_index: int = 0
    """The template tried next (or last): an index into `template_ids`."""
    attempts: int = 0
    """Transient failures (timeouts, 5xx) of the current template in a row."""
    channel: str | None = None
    template_id: int | None = None
    provider_message_id: str | None = None
    reason: str | None = None
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class MessageOutcome:
    message_id: int
    customer_id: int
    outcome: Outcome
    at: datetime
    marketing: bool
    channel: str | None = None
    template_id: int | None = None
    reason: str | None = None
    id: int | None = field(default=None, compare=False)


class MessageRepository(Protocol):
    async def add(self, message: Message) -> tuple[Message, bool]:
        """Inserts the message unless its dedupe key exists; (the stored message,
        whether it existed already)."""
        ...

    async def claim_due(
        self, now: datetime, lease_until: datetime, worker: str, limit: int
    ) -> list[Message]:
        """Due QUEUED messages no other worker holds, leased to this one."""
        ...

    async def get(self, message_id: int, *, for_update: bool = False) -> Message | None: ...
    async def save(self, message: Message) -> None:
        """Saves the message and ends any lease on it."""
        ...

    async def release(self, message_ids: Sequence[int], worker: str) -> None: ...
    async def add_outcomes(self, outcomes: Sequence[MessageOutcome]) -> None: ...
    async def marketing_sent_since(self, customer_id: int, since: datetime) -> int:
        """Marketing messages SENT to the customer after `since`, any channel: the
        window (since, now] of the cap, so a send exactly `message_cap_days` ago has
        left it."""
        ...

    async def sent_on_channel_since(self, channel: str, since: datetime) -> int:
        """Sends on the channel after `since` (the rate's window (since, now])."""
        ...

    async def by_provider_id(self, channel: str, provider_message_id: str) -> Message | None: ...
    async def reown(self, from_customer: int, to_customer: int) -> int:
        """Merging: the merged customer's messages and outcomes become the survivor's
        (queued ones are then sent to the survivor, and the cap counts both)."""
        ...


MESSAGES: Port[MessageRepository] = Port("messages")
