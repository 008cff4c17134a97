"""The worker's delivery pass: claim due messages, decide, send, record.

For each claimed message (one after the other, so the cap and the per-channel rate
count every send before the next):

1. Read, in one short transaction: the program, the message's templates, the
   recipient (customer, tier, openids), the customer's consents, and for a
   marketing message the marketing messages SENT within the cap window.
2. Decide and send, outside any transaction:
   - a marketing message at the cap: CAPPED, nothing sent;
   - else each template from the current one, in order: no address on its channel
     → NO_ADDRESS, next; marketing without consent on that channel → NO_CONSENT,
     next; marketing inside the channel's quiet hours → QUIET_HOURS_DELAYED and the
     message waits until their end (it is decided again then); the channel's rate
     used up → the message waits a minute; a template that cannot be rendered →
     FAILED, next; then the send: SENT stops the chain, a refusal is FAILED with
     the provider's reason and the next template is tried, a transient failure is
     tried again later (`MAX_TRANSIENT` times, then a refusal).
3. Record, in one transaction: the message's new state, every outcome, and the
   campaign touchpoints (SENT, FAILED) when the message names a campaign.

A message that ends without a SENT is SKIPPED (every template skipped) or FAILED
(a provider refused at least one); its `reason` is the last template's outcome.
A customer who was erased or merged away is NO_ADDRESS on every template.

Sending twice: a claim is a lease (domain/messaging/messages.py), so two workers
never hold one message; only a worker that dies between a send and its record
leaves a message that is claimed again after the lease (at least once, as for
webhooks), which the dedupe key of the caller cannot prevent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from domain.campaigns import CAMPAIGNS, HOLDOUT, Touchpoint, TouchpointEvent, TouchpointFlag
from domain.clock import Clock
from domain.event_payloads import MessageSentV1, MessageSkippedV1
from domain.events import EVENTS, Event
from domain.idempotency import fingerprint
from domain.messaging.channels import (
    MAX_TRANSIENT,
    ChannelAdapter,
    Outgoing,
    Recipient,
    SendStatus,
)
from domain.messaging.consent import CONSENTS, Consent
from domain.messaging.messages import (
    MESSAGES,
    REASON_LIMIT,
    Message,
    MessageOutcome,
    MessageStatus,
    Outcome,
)
from domain.messaging.pressure import (
    RATE_WINDOW,
    cap_window_start,
    channel_quiet_until,
    channel_rate,
)
from domain.messaging.templates import (
    TEMPLATES,
    MessageTemplate,
    RenderError,
    TemplateChannel,
    render,
)
from domain.messaging.unsubscribe import UnsubscribeLinks
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("loyalty.messaging")

DEFAULT_LEASE = timedelta(minutes=5)
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


class RecipientRepository(Protocol):
    async def recipient(self, customer_id: int) -> Recipient | None:
        """The customer as a send needs it; None when unknown, erased or merged."""
        ...


RECIPIENTS: Port[RecipientRepository] = Port("message_recipients")


@dataclass
class PassReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    delayed: int = 0

    def add(self, status: MessageStatus, delayed: bool) -> None:
        self.claimed += 1
        if delayed:
            self.delayed += 1
        elif status is MessageStatus.SENT:
            self.sent += 1
        elif status is MessageStatus.SKIPPED:
            self.skipped += 1
        elif status is MessageStatus.FAILED:
            self.failed += 1


@dataclass
class _Facts:
    program: ProgramSettings
    templates: dict[int, MessageTemplate]
    recipient: Recipient | None
    consents: dict[TemplateChannel, Consent]
    marketing_sent: int
    sent_on_channel: dict[TemplateChannel, int]


@dataclass
class _Decision:
    message: Message
    outcomes: list[MessageOutcome] = field(default_factory=list)
    touchpoints: list[tuple[TouchpointEvent, str]] = field(default_factory=list)
    delayed: bool = False


def template_variables(recipient: Recipient, extra: Mapping[str, str]) -> dict[str, str]:
    """The customer's variables over the message's own (a message cannot pass
    itself off as another customer's name or balance)."""
    values = {
        "name": recipient.name or "",
        "external_id": recipient.external_id,
        "points_balance": str(recipient.points_balance),
        "tier": recipient.tier or "",
    }
    return {**extra, **values}


class MessagePipeline:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        adapters: Mapping[TemplateChannel, ChannelAdapter],
        links: UnsubscribeLinks,
        *,
        worker: str,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.adapters = dict(adapters)
        self.links = links
        self.worker = worker
        self.lease = lease

    async def claim(self, limit: int) -> list[Message]:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            claimed = await uow.repo(MESSAGES).claim_due(now, now + self.lease, self.worker, limit)
            await uow.commit()
        return claimed

    async def release(self, message_ids: Sequence[int]) -> None:
        if not message_ids:
            return
        async with self.uow_factory() as uow:
            await uow.repo(MESSAGES).release(message_ids, self.worker)
            await uow.commit()

    async def run(self, limit: int) -> PassReport:
        """Claims up to `limit` due messages and delivers them one after the other."""
        report = PassReport()
        for message in await self.claim(limit):
            try:
                done, delayed = await self.deliver(message)
            except Exception:
                log.exception("message %s: delivery failed; released", message.id)
                await self.release([m for m in [message.id] if m is not None])
                continue
            report.add(done.status, delayed)
        return report

    async def run_until_idle(self, limit: int = 100) -> PassReport:
        total = PassReport()
        while True:
            report = await self.run(limit)
            if report.claimed == 0:
                return total
            for name in ("claimed", "sent", "skipped", "failed", "delayed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.claimed < limit:
                return total

    # ---- one message

    async def _facts(self, message: Message, now: datetime) -> _Facts:
        async with self.uow_factory() as uow:
            program = await uow.repo(PROGRAM).get()
            templates = await uow.repo(TEMPLATES).many(list(message.template_ids))
            recipient = await uow.repo(RECIPIENTS).recipient(message.customer_id)
            consents = (await uow.repo(CONSENTS).of_customers([message.customer_id])).get(
                message.customer_id, []
            )
            marketing_sent = 0
            if message.marketing and program.message_cap is not None:
                marketing_sent = await uow.repo(MESSAGES).marketing_sent_since(
                    message.customer_id, cap_window_start(program, now)
                )
            sent_on_channel: dict[TemplateChannel, int] = {}
            for template in templates.values():
                if channel_rate(program, template.channel) is not None:
                    sent_on_channel[template.channel] = await uow.repo(
                        MESSAGES
                    ).sent_on_channel_since(template.channel.value, now - RATE_WINDOW)
        return _Facts(
            program=program,
            templates=templates,
            recipient=recipient,
            consents={c.channel: c for c in consents},
            marketing_sent=marketing_sent,
            sent_on_channel=sent_on_channel,
        )

    async def deliver(self, message: Message) -> tuple[Message, bool]:
        """Decides, sends and records one claimed message; (its new state, delayed)."""
        now = self.clock.now()
        facts = await self._facts(message, now)
        decision = await self._decide(message, facts, now)
        async with self.uow_factory() as uow:
            await uow.repo(MESSAGES).save(decision.message)
            await uow.repo(MESSAGES).add_outcomes(decision.outcomes)
            for event, suffix in decision.touchpoints:
                await record_touchpoint(uow, decision.message, event, self.clock.now(), suffix)
            ended = message_event(decision.message)
            if ended is not None:
                await uow.repo(EVENTS).append(Event.of(ended, self.clock.now()))
            await uow.commit()
        return decision.message, decision.delayed

    async def _decide(self, message: Message, facts: _Facts, now: datetime) -> _Decision:
        message_id = message.id
        if message_id is None:
            raise AssertionError("a claimed message has an id")
        decision = _Decision(message)

        def outcome(
            kind: Outcome,
            template: MessageTemplate | None = None,
            reason: str | None = None,
        ) -> None:
            decision.outcomes.append(
                MessageOutcome(
                    message_id=message_id,
                    customer_id=message.customer_id,
                    outcome=kind,
                    at=self.clock.now(),
                    marketing=message.marketing,
                    channel=template.channel.value if template else None,
                    template_id=template.id if template else None,
                    reason=None if reason is None else reason[:REASON_LIMIT],
                )
            )

        def finish(status: MessageStatus, reason: str | None, **changes: object) -> _Decision:
            decision.message = replace(
                message,
                status=status,
                reason=None if reason is None else reason[:REASON_LIMIT],
                finished_at=self.clock.now(),
                **changes,  # type: ignore[arg-type]
            )
            return decision

        def wait(until: datetime, **changes: object) -> _Decision:
            decision.message = replace(message, next_attempt_at=until, **changes)  # type: ignore[arg-type]
            decision.delayed = True
            return decision

        program = facts.program
        if (
            message.marketing
            and program.message_cap is not None
            and facts.marketing_sent >= program.message_cap
        ):
            outcome(
                Outcome.CAPPED,
                reason=f"{facts.marketing_sent} marketing messages in the last "
                f"{program.message_cap_days} days (cap {program.message_cap})",
            )
            return finish(MessageStatus.SKIPPED, Outcome.CAPPED.value)

        failed = False
        last = Outcome.NO_ADDRESS.value
        index = message.template_index
        attempts = message.attempts
        while index < len(message.template_ids):
            template_id = message.template_ids[index]
            template = facts.templates.get(template_id)
            if template is None or template.archived_at is not None:
                outcome(Outcome.FAILED, reason=f"template {template_id} is missing or archived")
                failed, last = True, Outcome.FAILED.value
                index, attempts = index + 1, 0
                continue
            adapter = self.adapters.get(template.channel)
            if adapter is None:
                outcome(Outcome.FAILED, template, f"the {template.channel} channel is not set up")
                failed, last = True, Outcome.FAILED.value
                index, attempts = index + 1, 0
                continue
            recipient = facts.recipient
            address = adapter.address(recipient) if recipient is not None else None
            if recipient is None or address is None:
                outcome(Outcome.NO_ADDRESS, template)
                last = Outcome.NO_ADDRESS.value
                index, attempts = index + 1, 0
                continue
            consent = facts.consents.get(template.channel)
            if message.marketing and (consent is None or not consent.granted):
                outcome(
                    Outcome.NO_CONSENT,
                    template,
                    "opted out" if consent is not None else "no opt-in on this channel",
                )
                last = Outcome.NO_CONSENT.value
                index, attempts = index + 1, 0
                continue
            if message.marketing:
                quiet_end = channel_quiet_until(program, template.channel, now)
                if quiet_end is not None:
                    outcome(
                        Outcome.QUIET_HOURS_DELAYED,
                        template,
                        f"until {quiet_end.isoformat()}",
                    )
                    return wait(quiet_end, template_index=index, attempts=attempts)
            rate = channel_rate(program, template.channel)
            if rate is not None and facts.sent_on_channel.get(template.channel, 0) >= rate:
                # A full window: re-deciding a saturated channel's queue more often would
                # cost queries and send nothing more.
                return wait(now + RATE_WINDOW, template_index=index, attempts=attempts)
            variables = template_variables(recipient, message.variables)
            unsubscribe_url = self.links.url(message.customer_id, template.channel)
            variables["unsubscribe_url"] = unsubscribe_url
            try:
                rendered = render(template, variables)
            except RenderError as exc:
                outcome(Outcome.FAILED, template, str(exc))
                failed, last = True, Outcome.FAILED.value
                index, attempts = index + 1, 0
                continue
            result = await adapter.send(
                Outgoing(message_id, recipient, address, rendered, unsubscribe_url)
            )
            if result.status is SendStatus.SENT:
                outcome(Outcome.SENT, template)
                decision.touchpoints.append((TouchpointEvent.SENT, "sent"))
                return finish(
                    MessageStatus.SENT,
                    None,
                    template_index=index,
                    attempts=attempts,
                    channel=template.channel.value,
                    template_id=template.id,
                    provider_message_id=result.provider_message_id,
                    sent_at=self.clock.now(),
                )
            if result.status is SendStatus.RETRY and attempts + 1 < MAX_TRANSIENT:
                delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS) - 1)]
                log.info("message %s: %s; trying again in %s", message_id, result.reason, delay)
                return wait(
                    now + delay,
                    template_index=index,
                    attempts=attempts + 1,
                    reason=result.reason,
                )
            outcome(Outcome.FAILED, template, result.reason)
            decision.touchpoints.append((TouchpointEvent.FAILED, f"failed:{index}"))
            failed, last = True, Outcome.FAILED.value
            index, attempts = index + 1, 0
        return finish(
            MessageStatus.FAILED if failed else MessageStatus.SKIPPED,
            last,
            template_index=index,
            attempts=0,
        )


def message_event(message: Message) -> MessageSentV1 | MessageSkippedV1 | None:
    """The event a message's end raises (message.sent, message.skipped); none while
    it is still QUEUED."""
    if message.id is None or message.status is MessageStatus.QUEUED:
        return None
    if message.status is MessageStatus.SENT:
        return MessageSentV1(
            customer_id=message.customer_id,
            message_id=message.id,
            dedupe_key=message.dedupe_key,
            channel=message.channel or "",
            template_id=message.template_id or 0,
            campaign_id=message.campaign_id,
            marketing=message.marketing,
        )
    return MessageSkippedV1(
        customer_id=message.customer_id,
        message_id=message.id,
        dedupe_key=message.dedupe_key,
        status=message.status.value,
        reason=message.reason or "",
        campaign_id=message.campaign_id,
        marketing=message.marketing,
    )


async def record_touchpoint(
    uow: UnitOfWork, message: Message, event: TouchpointEvent, at: datetime, suffix: str
) -> bool:
    """A touchpoint on the message's campaign, by the campaign rules (docs/campaigns.md):
    none without a campaign, before its start, or (a SENT) after its end; flagged
    when the customer is outside its audience, in the holdout or in another arm.
    Idempotent on ``message:<id>:<suffix>``. Whether one was recorded."""
    if message.campaign_id is None or message.id is None:
        return False
    repo = uow.repo(CAMPAIGNS)
    campaign = (await repo.many([message.campaign_id])).get(message.campaign_id)
    if campaign is None or campaign.started_at is None or at < campaign.started_at:
        return False
    if event is TouchpointEvent.SENT and campaign.ends_at is not None and at >= campaign.ends_at:
        return False
    arm = (await repo.arms([(message.campaign_id, message.customer_id)])).get(
        (message.campaign_id, message.customer_id)
    )
    variant = message.variant or (arm if arm not in (None, HOLDOUT) else None)
    if variant is None or campaign.variant(variant) is None:
        return False
    key = f"message:{message.id}:{suffix}"
    if await repo.touchpoints_by_keys([key]):
        return False
    flag = None
    if arm is None:
        flag = TouchpointFlag.OUTSIDE_AUDIENCE
    elif arm == HOLDOUT:
        flag = TouchpointFlag.HOLDOUT
    elif arm != variant:
        flag = TouchpointFlag.OTHER_VARIANT
    window = (
        at + timedelta(days=campaign.attribution_days) if event is TouchpointEvent.SENT else None
    )
    await repo.add_touchpoints(
        [
            Touchpoint(
                id=None,
                campaign_id=message.campaign_id,
                customer_id=message.customer_id,
                variant=variant,
                event=event,
                at=at,
                idempotency_key=key,
                request_hash=fingerprint(
                    message.campaign_id, message.customer_id, variant, event.value, at.isoformat()
                ),
                recorded_at=at,
                flag=flag,
                window_ends_at=window,
            )
        ]
    )
    return True
