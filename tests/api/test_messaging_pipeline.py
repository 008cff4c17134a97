"""The send pipeline end to end through the worker, against real local providers:
aiosmtpd for e-mail, and a local HTTP server that checks the WeChat, Tencent Cloud
SMS (TC3 signature recomputed) and webhook requests as the providers document them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from domain.clock import FixedClock
from domain.messaging.messages import MessageStatus, Outcome
from domain.messaging.templates import TemplateChannel
from persistence.campaigns import TouchpointRow
from persistence.database import Database
from tests.api.messaging_story import Story
from tests.conftest import utc
from tests.messaging_providers import providers, smtp_server

# 2026-03-02 12:00 in Shanghai (UTC+8).
NOON_SHANGHAI = utc(2026, 3, 2, 4)


@pytest.fixture
async def story(database: Database, database_url: str) -> AsyncIterator[Story]:
    with smtp_server() as mailbox, providers() as state:
        yield Story(database, database_url, FixedClock(NOON_SHANGHAI), mailbox, state)
        assert state.problems == []


async def test_a_queued_email_is_rendered_and_captured_by_the_smtp_server(story: Story) -> None:
    customer = await story.customer("c-1", email="ann@example.com", name="Ann")
    template = await story.email_template()
    await story.consent(customer, TemplateChannel.EMAIL)
    queued = await story.enqueue(customer, (template,), "journey:1:run:1:step:0")

    report = await story.deliver()

    assert (report.claimed, report.sent) == (1, 1)
    assert story.mailbox is not None
    ((envelope, mail),) = story.mailbox.messages
    assert envelope.rcpt_tos == ["ann@example.com"]
    assert mail["Subject"] == "Ann, 满100减20 for you"
    assert mail["From"] == "Example Shop <shop@example.com>"
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://loyalty.example.com/messaging/unsubscribe?token=")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {p.get_content_type(): p.get_content() for p in mail.walk() if not p.is_multipart()}
    assert "your coupon SAVE20 ends 2026-04-01" in parts["text/plain"]
    assert "You have 0 points" in parts["text/plain"]
    assert unsubscribe.strip("<>") in parts["text/plain"]
    assert "<b>SAVE20</b>" in parts["text/html"]
    sent = await story.message(queued.message_id)
    assert sent.status is MessageStatus.SENT and sent.channel == "EMAIL"
    assert [o.outcome for o in await story.outcomes(queued.message_id)] == [Outcome.SENT]
    # Nothing is due any more: a second pass sends nothing again.
    assert (await story.deliver()).claimed == 0
    assert len(story.mailbox.messages) == 1


async def test_without_consent_nothing_is_sent_and_the_reason_is_kept(story: Story) -> None:
    customer = await story.customer("c-1", email="ann@example.com")
    other = await story.customer("c-2", email="bob@example.com")
    template = await story.email_template()
    never = await story.enqueue(customer, (template,), "k:never")
    await story.consent(other, TemplateChannel.EMAIL, granted=True)
    await story.consent(other, TemplateChannel.EMAIL, granted=False)  # the latest word wins
    opted_out = await story.enqueue(other, (template,), "k:out")
    # A transactional message needs no consent.
    notice = await story.enqueue(customer, (template,), "k:notice", marketing=False)

    await story.deliver()

    assert story.mailbox is not None and len(story.mailbox.messages) == 1
    for queued, why in ((never, "no opt-in on this channel"), (opted_out, "opted out")):
        skipped = await story.message(queued.message_id)
        assert (skipped.status, skipped.reason) == (MessageStatus.SKIPPED, "NO_CONSENT")
        (outcome,) = await story.outcomes(queued.message_id)
        assert (outcome.outcome, outcome.channel, outcome.reason) == (
            Outcome.NO_CONSENT,
            "EMAIL",
            why,
        )
    assert (await story.message(notice.message_id)).status is MessageStatus.SENT


async def test_no_address_is_recorded_per_template(story: Story) -> None:
    customer = await story.customer("c-1")  # no e-mail, no phone, no openid
    email, sms = await story.email_template(), await story.sms_template()
    await story.consent(customer, TemplateChannel.EMAIL)
    await story.consent(customer, TemplateChannel.SMS)
    queued = await story.enqueue(customer, (email, sms), "k:1")

    await story.deliver()

    message = await story.message(queued.message_id)
    assert (message.status, message.reason) == (MessageStatus.SKIPPED, "NO_ADDRESS")
    assert [(o.outcome, o.channel) for o in await story.outcomes(queued.message_id)] == [
        (Outcome.NO_ADDRESS, "EMAIL"),
        (Outcome.NO_ADDRESS, "SMS"),
    ]


async def test_the_frequency_cap_counts_marketing_sends_over_every_channel(story: Story) -> None:
    await story.program(message_cap=2, message_cap_days=7)
    customer = await story.customer("c-1", email="ann@example.com", phone="13800138000")
    email, sms = await story.email_template(), await story.sms_template()
    await story.consent(customer, TemplateChannel.EMAIL)
    await story.consent(customer, TemplateChannel.SMS)
    first = await story.enqueue(customer, (email,), "k:1")
    await story.deliver()
    story.clock.at += timedelta(days=1)
    second = await story.enqueue(customer, (sms,), "k:2")
    transactional = await story.enqueue(customer, (email,), "k:t", marketing=False)
    await story.deliver()
    story.clock.at += timedelta(days=1)
    third = await story.enqueue(customer, (sms, email), "k:3")

    await story.deliver()

    assert (await story.message(first.message_id)).status is MessageStatus.SENT
    assert (await story.message(second.message_id)).status is MessageStatus.SENT
    assert (await story.message(transactional.message_id)).status is MessageStatus.SENT
    capped = await story.message(third.message_id)
    assert (capped.status, capped.reason) == (MessageStatus.SKIPPED, "CAPPED")
    (outcome,) = await story.outcomes(third.message_id)
    assert outcome.outcome is Outcome.CAPPED
    # Seven days after the first send the window has room again: exactly at its edge.
    story.clock.at = NOON_SHANGHAI + timedelta(days=7, seconds=-1)
    early = await story.enqueue(customer, (email,), "k:early")
    await story.deliver()
    assert (await story.message(early.message_id)).reason == "CAPPED"
    story.clock.at = NOON_SHANGHAI + timedelta(days=7)
    fourth = await story.enqueue(customer, (email,), "k:4")
    await story.deliver()
    assert (await story.message(fourth.message_id)).status is MessageStatus.SENT


@pytest.mark.parametrize(
    ("local_due", "days_to_the_end"),
    [
        # (Shanghai wall clock when due, days until the 09:00 it waits for; None: at once)
        ((20, 59), None),
        ((21, 0), 1),  # the start of the quiet hours is inside them
        ((23, 30), 1),
        ((8, 59), 0),  # after midnight: the same morning
        ((9, 0), None),  # the end is outside
    ],
)
async def test_quiet_hours_in_shanghai_delay_a_marketing_sms_to_their_end(
    story: Story, local_due: tuple[int, int], days_to_the_end: int | None
) -> None:
    await story.program(timezone="Asia/Shanghai", sms_quiet_hours="21:00-09:00")
    customer = await story.customer("c-1", phone="13800138000", name="Ann")
    sms = await story.sms_template()
    await story.consent(customer, TemplateChannel.SMS)
    hour, minute = local_due
    story.clock.at = utc(2026, 3, 2, 0) + timedelta(hours=hour - 8, minutes=minute)
    queued = await story.enqueue(customer, (sms,), "k:1")
    assert story.providers is not None

    await story.deliver()

    message = await story.message(queued.message_id)
    if days_to_the_end is None:
        assert message.status is MessageStatus.SENT
        assert len(story.providers.sms) == 1
        return
    assert message.status is MessageStatus.QUEUED and story.providers.sms == []
    # 09:00 Shanghai = 01:00 UTC, on the next day when due in the evening.
    expected_end = utc(2026, 3, 2 + days_to_the_end, 1)
    assert message.next_attempt_at == expected_end
    (outcome,) = await story.outcomes(queued.message_id)
    assert (outcome.outcome, outcome.channel) == (Outcome.QUIET_HOURS_DELAYED, "SMS")
    # One second before the end it is still not due; at the end it is sent.
    story.clock.at = expected_end - timedelta(seconds=1)
    assert (await story.deliver()).claimed == 0
    story.clock.at = expected_end
    await story.deliver()
    assert (await story.message(queued.message_id)).status is MessageStatus.SENT
    assert [b["TemplateParamSet"] for b in story.providers.sms] == [["Ann", "SAVE20"]]


async def test_wechat_refused_falls_back_to_sms_and_touchpoints_land_on_the_campaign(
    story: Story,
) -> None:
    assert story.providers is not None
    customer = await story.customer(
        "c-1", phone="+8613800138000", openid="openid-refused", name="Ann"
    )
    wechat, sms = await story.wechat_template(), await story.sms_template()
    await story.consent(customer, TemplateChannel.WECHAT)
    await story.consent(customer, TemplateChannel.SMS)
    story.providers.refused_openids.add("openid-refused")
    campaign = await story.campaign()
    queued = await story.enqueue(
        customer, (wechat, sms), "journey:2:run:9:step:0", campaign_id=campaign, variant="A"
    )

    await story.deliver()

    (attempt,) = story.providers.wechat
    assert attempt["touser"] == "openid-refused"
    assert attempt["template_id"] == "wechat-birthday-tpl"
    assert attempt["page"] == "pages/coupons/index?code=SAVE20"
    assert attempt["data"] == {
        "thing1": {"value": "生日快乐 Ann"},
        "character_string2": {"value": "SAVE20"},
    }
    (sms_body,) = story.providers.sms
    assert sms_body["PhoneNumberSet"] == ["+8613800138000"]
    assert sms_body["TemplateId"] == "1234567"
    assert sms_body["TemplateParamSet"] == ["Ann", "SAVE20"]
    message = await story.message(queued.message_id)
    assert (message.status, message.channel, message.provider_message_id) == (
        MessageStatus.SENT,
        "SMS",
        "serial-1",
    )
    outcomes = await story.outcomes(queued.message_id)
    assert [(o.outcome, o.channel) for o in outcomes] == [
        (Outcome.FAILED, "WECHAT"),
        (Outcome.SENT, "SMS"),
    ]
    assert outcomes[0].reason is not None and outcomes[0].reason.startswith("WeChat 43101")
    async with story.database.sessions() as session:
        touchpoints = (
            await session.execute(
                select(TouchpointRow.event, TouchpointRow.variant, TouchpointRow.flag)
                .where(TouchpointRow.campaign_id == campaign)
                .order_by(TouchpointRow.id)
            )
        ).all()
    assert [tuple(t) for t in touchpoints] == [("FAILED", "A", None), ("SENT", "A", None)]


async def test_an_expired_wechat_token_is_fetched_again_once(story: Story) -> None:
    assert story.providers is not None
    customer = await story.customer("c-1", openid="openid-1")
    wechat = await story.wechat_template()
    await story.consent(customer, TemplateChannel.WECHAT)
    first = await story.enqueue(customer, (wechat,), "k:1")
    second = await story.enqueue(customer, (wechat,), "k:2")
    story.providers.expire_token_once = True

    worker = story.worker()
    try:
        await worker.deliver_messages()
    finally:
        await worker.close()

    assert (await story.message(first.message_id)).status is MessageStatus.SENT
    assert (await story.message(second.message_id)).status is MessageStatus.SENT
    # One token at first, one after 42001; the second send used the cached one.
    assert story.providers.tokens_issued == 2
    assert len(story.providers.wechat) == 2


async def test_the_webhook_channel_posts_the_rendered_message_signed(story: Story) -> None:
    assert story.providers is not None
    story.clock.at = datetime.now(UTC)  # the receiver refuses stale signatures
    customer = await story.customer("c-1", email="ann@example.com", name="Ann")
    template = await story.template(
        TemplateChannel.WEBHOOK, subject="Hi", body="{{ name }}: {{ coupon_code }}"
    )
    await story.consent(customer, TemplateChannel.WEBHOOK)
    queued = await story.enqueue(customer, (template,), "k:1")

    await story.deliver()

    (posted,) = story.providers.sender
    assert posted["type"] == "message.send"
    assert posted["message_id"] == queued.message_id
    assert posted["customer"]["external_id"] == "c-1"
    assert posted["body"] == "Ann: SAVE20"
    message = await story.message(queued.message_id)
    assert (message.status, message.provider_message_id) == (MessageStatus.SENT, "push-1")


async def test_a_refused_mailbox_is_failed_with_the_servers_reason(story: Story) -> None:
    assert story.mailbox is not None
    customer = await story.customer("c-1", email="gone@example.com")
    template = await story.email_template()
    await story.consent(customer, TemplateChannel.EMAIL)
    story.mailbox.refused.add("gone@example.com")
    queued = await story.enqueue(customer, (template,), "k:1")

    await story.deliver()

    message = await story.message(queued.message_id)
    assert (message.status, message.reason) == (MessageStatus.FAILED, "FAILED")
    (outcome,) = await story.outcomes(queued.message_id)
    assert outcome.outcome is Outcome.FAILED and "550" in (outcome.reason or "")


async def test_the_channel_rate_holds_messages_back_not_drops_them(story: Story) -> None:
    assert story.providers is not None
    await story.program(sms_rate_per_minute=1)
    sms = await story.sms_template()
    queued = []
    for n in range(2):
        customer = await story.customer(f"c-{n}", phone=f"1380013800{n}")
        await story.consent(customer, TemplateChannel.SMS)
        queued.append(await story.enqueue(customer, (sms,), f"k:{n}"))

    await story.deliver()

    first, second = [await story.message(q.message_id) for q in queued]
    assert first.status is MessageStatus.SENT
    assert second.status is MessageStatus.QUEUED
    assert second.next_attempt_at == NOON_SHANGHAI + timedelta(minutes=1)
    assert await story.outcomes(queued[1].message_id) == []  # throttling is no skip
    story.clock.at = NOON_SHANGHAI + timedelta(minutes=1)
    await story.deliver()
    assert (await story.message(queued[1].message_id)).status is MessageStatus.SENT
    assert len(story.providers.sms) == 2


async def test_a_busy_provider_is_tried_again_later_on_the_same_template(story: Story) -> None:
    assert story.providers is not None
    customer = await story.customer("c-1", phone="13800138000", email="ann@example.com")
    sms, email = await story.sms_template(), await story.email_template()
    await story.consent(customer, TemplateChannel.SMS)
    await story.consent(customer, TemplateChannel.EMAIL)
    story.providers.sms_answer = {
        "Response": {
            "Error": {"Code": "InternalError.Timeout", "Message": "busy"},
            "RequestId": "r",
        }
    }
    queued = await story.enqueue(customer, (sms, email), "k:1")

    await story.deliver()

    waiting = await story.message(queued.message_id)
    assert (waiting.status, waiting.attempts, waiting.template_index) == (
        MessageStatus.QUEUED,
        1,
        0,
    )
    assert waiting.next_attempt_at == NOON_SHANGHAI + timedelta(minutes=1)
    assert waiting.reason == "Tencent Cloud SMS InternalError.Timeout: busy"
    story.providers.sms_answer = None
    story.clock.at += timedelta(minutes=1)
    await story.deliver()
    sent = await story.message(queued.message_id)
    assert (sent.status, sent.channel) == (MessageStatus.SENT, "SMS")
    assert story.mailbox is not None and story.mailbox.messages == []


async def test_five_transient_failures_in_a_row_fall_back_to_the_next_template(
    story: Story,
) -> None:
    assert story.providers is not None and story.mailbox is not None
    customer = await story.customer("c-1", phone="13800138000", email="ann@example.com")
    sms, email = await story.sms_template(), await story.email_template()
    await story.consent(customer, TemplateChannel.SMS)
    await story.consent(customer, TemplateChannel.EMAIL)
    story.providers.sms_answer = {
        "Response": {
            "Error": {"Code": "LimitExceeded.Frequency", "Message": "slow"},
            "RequestId": "r",
        }
    }
    queued = await story.enqueue(customer, (sms, email), "k:1")
    for _ in range(5):
        await story.deliver()
        story.clock.at += timedelta(hours=1)

    message = await story.message(queued.message_id)
    assert (message.status, message.channel) == (MessageStatus.SENT, "EMAIL")
    assert len(story.providers.sms) == 5 and len(story.mailbox.messages) == 1
    assert [o.outcome for o in await story.outcomes(queued.message_id)] == [
        Outcome.FAILED,
        Outcome.SENT,
    ]
