"""The repurchase journey end to end, as a shop runs it: an admin switches it on over
GraphQL; 30 days after a customer's order the worker's daily pass raises
`customer.repurchase_due`, the journey issues a 满减 coupon and queues the e-mail, the
messaging pipeline sends it to a real local SMTP server; the coupon in the e-mail is
one `couponValidate` accepts, and the order that follows is attributed to the
journey's campaign."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from api import ids
from api.worker import Worker
from domain.clock import FixedClock
from domain.messaging.templates import TemplateChannel
from persistence.database import Database
from tests.api.coupon_calls import VALIDATE, new_template
from tests.api.ledger_calls import RECORD, order_input
from tests.api.messaging_story import Story
from tests.event_horizon import settle
from tests.messaging_providers import smtp_server

# Noon in Shanghai: no quiet hours in the way.
ORDERED = datetime(2026, 3, 2, 4, tzinfo=UTC)

CREATE = """
mutation($input: JourneyCreateInput!) {
  journeyCreate(input: $input) { journey { id } userErrors { field message code } }
}"""
ACTIVATE = """
mutation($id: ID!) {
  journeyActivate(input: {id: $id}) { journey { id status campaign { id } } userErrors { code } }
}"""
RESULTS = """
query($id: ID!, $customer: ID!) {
  journey(id: $id) { campaign { id funnel { arm audience sent ordered attributedOrders } } }
  node(id: $customer) { ... on Customer {
    journeyRuns(first: 5) { totalCount edges { node { status steps { kind status couponCode } } } }
  } }
}"""
ATTRIBUTION = """
query($id: ID!) { node(id: $id) { ... on Order { attribution { campaign { id } variant } } } }
"""


@pytest.fixture
async def story(database: Database, database_url: str, clock: FixedClock) -> AsyncIterator[Story]:
    clock.at = ORDERED - timedelta(days=1)
    with smtp_server() as mailbox:
        yield Story(database, database_url, clock, mailbox)


async def test_a_customer_gets_one_repurchase_email_and_comes_back(gql, story: Story) -> None:  # noqa: ANN001
    clock = story.clock
    customer = await story.customer("c-1", email="ann@example.com", name="Ann")
    await story.consent(customer, TemplateChannel.EMAIL)
    email = await story.email_template()
    coupon = await new_template(gql, name="复购满200减30", amountOff="30", minSpend="200")
    created = await gql(
        CREATE,
        {
            "input": {
                "name": "复购提醒",
                "trigger": {"eventType": "customer.repurchase_due"},
                "actions": [
                    {"kind": "ISSUE_COUPON", "couponTemplateId": coupon["id"]},
                    {
                        "kind": "SEND_MESSAGE",
                        "templateIds": [ids.encode("MessageTemplate", email)],
                    },
                ],
            }
        },
    )
    assert created["journeyCreate"]["userErrors"] == []
    journey_id = created["journeyCreate"]["journey"]["id"]
    activated = (await gql(ACTIVATE, {"id": journey_id}))["journeyActivate"]
    campaign_id = activated["journey"]["campaign"]["id"]

    clock.at = ORDERED
    first = await gql(
        RECORD, {"input": order_input("o-1", "300.00", placed_at=ORDERED.isoformat())}
    )
    assert first["orderRecord"]["userErrors"] == []

    # Day 29: not due yet. Day 30: the reminder, the coupon and the e-mail — once,
    # whatever the number of passes. (PostgreSQL shows an event once the transactions
    # before it have ended, other databases' included: each pass waits for that.)
    for day, expected in ((29, 0), (30, 1)):
        clock.at = ORDERED + timedelta(days=day, hours=1)
        for _ in range(3):
            # The worker as `loyalty worker` runs it: the daily pass once per local day.
            worker = Worker(story.database, story.settings(), clock=clock, name="w")
            try:
                await worker.run_once()
            finally:
                await worker.close()
            await settle(story.database)
        assert story.mailbox is not None
        assert len(story.mailbox.messages) == expected, day

    ((envelope, mail),) = story.mailbox.messages
    assert envelope.rcpt_tos == ["ann@example.com"]
    text = next(p.get_content() for p in mail.walk() if p.get_content_type() == "text/plain")
    code = re.search(r"your coupon (\S+) ends", text)
    assert code is not None
    valid = (
        await gql(
            VALIDATE,
            {
                "input": {
                    "code": code.group(1),
                    "customerId": ids.encode("Customer", customer),
                    "cart": {"amount": "260.00", "items": [], "channel": "WEB"},
                }
            },
        )
    )["couponValidate"]
    assert valid["applies"] is True
    assert valid["discount"]["amount"] == "30.00"

    customer_id = ids.encode("Customer", customer)
    results = await gql(RESULTS, {"id": journey_id, "customer": customer_id})
    runs = results["node"]["journeyRuns"]
    assert runs["totalCount"] == 1
    [run] = [e["node"] for e in runs["edges"]]
    assert run["status"] == "COMPLETED"
    assert run["steps"][0]["couponCode"] == code.group(1)

    # Two days later the customer buys again: the order is the journey's.
    clock.at = ORDERED + timedelta(days=32)
    again = await gql(
        RECORD, {"input": order_input("o-2", "260.00", placed_at=clock.at.isoformat())}
    )
    order_id = again["orderRecord"]["order"]["id"]
    attribution = (await gql(ATTRIBUTION, {"id": order_id}))["node"]["attribution"]
    assert attribution == {"campaign": {"id": campaign_id}, "variant": "DEFAULT"}
    funnel = (await gql(RESULTS, {"id": journey_id, "customer": customer_id}))["journey"][
        "campaign"
    ]["funnel"]
    assert funnel == [
        {"arm": "DEFAULT", "audience": 1, "sent": 1, "ordered": 1, "attributedOrders": 1}
    ]
