"""The door into messaging for other services: `enqueue` an `OutboundMessage`.

This is the contract journeys (and anything else that sends) rely on; keep it
stable. `enqueue` writes one QUEUED message in the caller's unit of work and sends
nothing: the caller commits, and the worker's delivery pass (domain/messaging/
pipeline.py) does the rest after the commit, so a rolled-back journey step leaves
no message behind and a message is never sent for a change that did not happen.

Touchpoints on `campaign_id` follow the campaign rules (docs/campaigns.md): the
campaign must have started, and a customer outside its frozen audience, in its
holdout or in another arm than `variant` gets touchpoints that are flagged and
count in no funnel. A message without a campaign records no touchpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.messaging.messages import (
    MAX_DEDUPE_KEY,
    MAX_TEMPLATES,
    MAX_VARIABLE_NAME,
    MAX_VARIABLE_VALUE,
    MAX_VARIABLES,
    MESSAGES,
    Message,
    MessageStatus,
)
from domain.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class OutboundMessage:
    customer_id: int
    template_ids: tuple[int, ...]
    """Tried in order: the fallback (e.g. a WeChat template, then an SMS template)."""
    dedupe_key: str
    """At most one message per key, ever (e.g. "journey:12:run:345:step:0")."""
    campaign_id: int | None
    """Touchpoints (SENT, DELIVERED, FAILED…) are recorded on this campaign."""
    variant: str | None
    """The campaign arm the customer is in, for the touchpoints."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """Extra template variables, e.g. coupon_code, coupon_expires_at."""
    marketing: bool = True
    """Marketing messages need consent and count against the frequency cap."""
    not_before: datetime | None = None


@dataclass(frozen=True)
class Enqueued:
    message_id: int
    replayed: bool
    """The dedupe_key existed already: nothing new was queued."""


def check(message: OutboundMessage) -> None:
    """Refuses a message that could never be sent (a programming error of the caller):
    `InvalidInput` listing each field at fault."""
    errors = ErrorCollector()
    key = message.dedupe_key.strip() if isinstance(message.dedupe_key, str) else ""
    if not key or len(key) > MAX_DEDUPE_KEY:
        errors.add(
            ErrorCode.INVALID,
            ("dedupe_key",),
            f"A dedupe key of 1 to {MAX_DEDUPE_KEY} characters is required.",
        )
    if not message.template_ids or len(message.template_ids) > MAX_TEMPLATES:
        errors.add(
            ErrorCode.INVALID,
            ("template_ids",),
            f"Name 1 to {MAX_TEMPLATES} templates, tried in order.",
        )
    if len(message.variables) > MAX_VARIABLES:
        errors.add(ErrorCode.INVALID, ("variables",), f"At most {MAX_VARIABLES} variables.")
    for name, value in message.variables.items():
        if not name.isidentifier() or len(name) > MAX_VARIABLE_NAME:
            errors.add(ErrorCode.INVALID, ("variables", name), "Not a variable name.")
        elif not isinstance(value, str) or len(value) > MAX_VARIABLE_VALUE:
            errors.add(
                ErrorCode.INVALID,
                ("variables", name),
                f"A text of at most {MAX_VARIABLE_VALUE} characters.",
            )
    if message.not_before is not None and message.not_before.tzinfo is None:
        errors.add(ErrorCode.INVALID, ("not_before",), "not_before needs a UTC offset.")
    errors.raise_if_any()


async def enqueue(uow: UnitOfWork, message: OutboundMessage, now: datetime) -> Enqueued:
    """Queues the message in the caller's unit of work (no send, no commit).

    The same dedupe_key again answers the first message (`replayed`), whatever the
    rest of the message says: a journey step re-run after a crash queues nothing new.
    """
    check(message)
    if message.customer_id <= 0:
        raise DomainError(ErrorCode.INVALID, ("customer_id",), "No customer has this id.")
    due = max(now, message.not_before) if message.not_before is not None else now
    stored, replayed = await uow.repo(MESSAGES).add(
        Message(
            customer_id=message.customer_id,
            dedupe_key=message.dedupe_key.strip(),
            template_ids=tuple(message.template_ids),
            campaign_id=message.campaign_id,
            variant=message.variant,
            variables=dict(message.variables),
            marketing=message.marketing,
            status=MessageStatus.QUEUED,
            next_attempt_at=due,
            created_at=now,
        )
    )
    if stored.id is None:
        raise AssertionError("a stored message has an id")
    return Enqueued(message_id=stored.id, replayed=replayed)
