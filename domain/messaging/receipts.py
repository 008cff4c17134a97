"""Delivery receipts: a provider's word, after the send, that a message reached the
customer's phone (DELIVERED) or did not (FAILED, with its code).

A receipt names the provider's message id (Tencent Cloud SMS: `sid`, the SerialNo
the send answered). The message must be SENT; a receipt for an unknown id is
counted as unmatched, and one for a message already DELIVERED or FAILED changes
nothing (providers may call back more than once), so the callback is idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.campaigns import TouchpointEvent
from domain.clock import Clock
from domain.messaging.messages import (
    MESSAGES,
    REASON_LIMIT,
    MessageOutcome,
    MessageStatus,
    Outcome,
)
from domain.messaging.pipeline import record_touchpoint
from domain.messaging.templates import TemplateChannel
from domain.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    delivered: bool
    reason: str | None = None
    at: datetime | None = None


@dataclass
class ReceiptReport:
    recorded: int = 0
    repeated: int = 0
    unmatched: int = 0


class ReceiptService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def record(self, channel: TemplateChannel, receipts: Sequence[Receipt]) -> ReceiptReport:
        report = ReceiptReport()
        now = self.clock.now()
        async with self.uow_factory() as uow:
            repo = uow.repo(MESSAGES)
            for receipt in receipts:
                message = await repo.by_provider_id(channel.value, receipt.provider_message_id)
                if message is None or message.id is None:
                    report.unmatched += 1
                    continue
                message_id = message.id
                if message.status is not MessageStatus.SENT:
                    report.repeated += 1
                    continue
                at = min(receipt.at or now, now)
                kind = Outcome.DELIVERED if receipt.delivered else Outcome.FAILED
                reason = None if receipt.reason is None else receipt.reason[:REASON_LIMIT]
                message = replace(
                    message,
                    status=MessageStatus.DELIVERED if receipt.delivered else MessageStatus.FAILED,
                    reason=None if receipt.delivered else reason,
                    finished_at=now,
                )
                await repo.save(message)
                await repo.add_outcomes(
                    [
                        MessageOutcome(
                            message_id=message_id,
                            customer_id=message.customer_id,
                            outcome=kind,
                            at=at,
                            marketing=message.marketing,
                            channel=channel.value,
                            template_id=message.template_id,
                            reason=reason,
                        )
                    ]
                )
                event = TouchpointEvent.DELIVERED if receipt.delivered else TouchpointEvent.FAILED
                await record_touchpoint(uow, message, event, at, f"receipt:{kind.value}")
                report.recorded += 1
            await uow.commit()
        return report
