"""Two workers delivering the same queue at once never send one message twice
(PostgreSQL: two engines, real concurrency; SQLite: serialized, the same answer)."""

from __future__ import annotations

import asyncio
from collections import Counter

from domain.clock import FixedClock
from domain.messaging.messages import MessageStatus
from domain.messaging.templates import TemplateChannel
from persistence.database import Database
from tests.api.messaging_story import Story
from tests.conftest import utc
from tests.messaging_providers import smtp_server

MESSAGES = 40


async def test_two_workers_never_send_one_message_twice(
    database: Database, database_url: str
) -> None:
    with smtp_server() as mailbox:
        story = Story(database, database_url, FixedClock(utc(2026, 3, 2, 4)), mailbox)
        template = await story.template(
            TemplateChannel.EMAIL, subject="Order {{ coupon_code }}", body="Hi {{ name }}"
        )
        queued = []
        for n in range(MESSAGES):
            customer = await story.customer(f"c-{n}", email=f"c{n}@example.com", name=f"C{n}")
            await story.consent(customer, TemplateChannel.EMAIL)
            queued.append(await story.enqueue(customer, (template,), f"k:{n}"))
        second_database = Database.connect(database_url)
        story_two = Story(second_database, database_url, story.clock, mailbox)
        one, two = story.worker("worker-one"), story_two.worker("worker-two")
        # Small claims, so the two workers interleave over the queue.
        one.concurrency = two.concurrency = 3
        try:
            reports = await asyncio.gather(one.deliver_messages(), two.deliver_messages())
        finally:
            await one.close()
            await two.close()
            await second_database.dispose()

        recipients = Counter(rcpt for envelope, _ in mailbox.messages for rcpt in envelope.rcpt_tos)
        assert len(recipients) == MESSAGES
        assert set(recipients.values()) == {1}
        assert sum(r.sent for r in reports) == MESSAGES
        for item in queued:
            assert (await story.message(item.message_id)).status is MessageStatus.SENT
