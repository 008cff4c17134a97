"""Messaging over GraphQL and its two routes: templates (and their refusals),
previews, consentUpdate's scopes, Customer.consents and Customer.messages, the
unsubscribe link and the SMS delivery-receipt callback."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from api import ids
from api.app import create_app
from api.settings import Settings
from domain.access import Role
from domain.clock import FixedClock
from domain.messaging.messages import MessageStatus, Outcome
from domain.messaging.templates import TemplateChannel
from domain.messaging.unsubscribe import UnsubscribeLinks
from persistence.campaigns import TouchpointRow
from persistence.database import Database
from persistence.messaging.rows import ConsentRow
from tests.api.messaging_story import Story
from tests.api.reward_calls import TOKEN
from tests.conftest import SUITE_REQUEST_TIMEOUT_MS, GraphQLClient, make_key
from tests.messaging_providers import providers, smtp_server


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The suite's settings, with the SMS receipt callback's token set."""
    return Settings(
        DATABASE_URL=database_url,
        LOYALTY_ENV="development",
        LOYALTY_API_KEY_CACHE_SECONDS=0,
        LOYALTY_REQUEST_TIMEOUT_MS=SUITE_REQUEST_TIMEOUT_MS,
        LOYALTY_SMS_RECEIPT_TOKEN="receipt-token",
    )


CREATE = """
mutation($input: MessageTemplateCreateInput!) {
  messageTemplateCreate(input: $input) {
    template { id name channel subject body htmlBody providerTemplateId page
      fields { key value } parameters archivedAt }
    userErrors { field message code }
  }
}"""

UPDATE = """
mutation($input: MessageTemplateUpdateInput!) {
  messageTemplateUpdate(input: $input) {
    template { id body } userErrors { field message code }
  }
}"""

ARCHIVE = """
mutation($id: ID!) {
  messageTemplateArchive(input: {id: $id}) { template { id archivedAt } userErrors { code } }
}"""

TEMPLATES = """
query($archived: Boolean) {
  messageTemplates(first: 10, includeArchived: $archived) { totalCount nodes { id name } }
}"""

PREVIEW = """
query($t: ID!, $c: ID!) {
  messagePreview(templateId: $t, customerId: $c) { channel subject body htmlBody
    fields { key value } parameters page }
}"""

CONSENT = """
mutation($input: ConsentUpdateInput!) {
  consentUpdate(input: $input) {
    consent { channel granted source at }
    userErrors { field message code }
  }
}"""

CUSTOMER = """
query($id: ID!) {
  node(id: $id) { ... on Customer {
    consents { channel granted source }
    messages(first: 10) { totalCount nodes {
      status reason dedupeKey channel marketing
      outcomes { outcome channel reason templateId }
    } }
  } }
}"""


async def customer(gql: GraphQLClient, external_id: str = "c-1", **profile: str) -> str:
    fields = "".join(f', {k}: "{v}"' for k, v in profile.items())
    data = await gql(
        f'mutation {{ customerUpsert(input: {{externalId: "{external_id}"{fields}}}) '
        "{ customer { id } userErrors { message } } }"
    )
    return data["customerUpsert"]["customer"]["id"]


EMAIL_TEMPLATE = {
    "name": "Repurchase",
    "channel": "EMAIL",
    "subject": "{{ name }}, come back",
    "body": "Use {{ coupon_code }} before {{ coupon_expires_at }}",
    "htmlBody": "<p>{{ name }}</p>",
}


async def test_templates_are_created_listed_updated_and_archived(gql: GraphQLClient) -> None:
    created = (await gql(CREATE, {"input": EMAIL_TEMPLATE}))["messageTemplateCreate"]
    assert created["userErrors"] == []
    template = created["template"]
    assert (template["channel"], template["subject"]) == ("EMAIL", "{{ name }}, come back")
    wechat = (
        await gql(
            CREATE,
            {
                "input": {
                    "name": "Birthday",
                    "channel": "WECHAT",
                    "body": "生日快乐",
                    "providerTemplateId": "tpl-1",
                    "page": "pages/index",
                    "fields": {"thing1": "{{ name }}", "time2": "{{ coupon_expires_at }}"},
                }
            },
        )
    )["messageTemplateCreate"]
    assert wechat["userErrors"] == []
    assert wechat["template"]["fields"] == [
        {"key": "thing1", "value": "{{ name }}"},
        {"key": "time2", "value": "{{ coupon_expires_at }}"},
    ]
    updated = await gql(UPDATE, {"input": {"id": template["id"], "body": "Hi {{ name }}"}})
    assert updated["messageTemplateUpdate"]["template"]["body"] == "Hi {{ name }}"
    archived = await gql(ARCHIVE, {"id": template["id"]})
    assert archived["messageTemplateArchive"]["template"]["archivedAt"] is not None
    listed = (await gql(TEMPLATES, {"archived": False}))["messageTemplates"]
    assert [n["name"] for n in listed["nodes"]] == ["Birthday"]
    assert (await gql(TEMPLATES, {"archived": True}))["messageTemplates"]["totalCount"] == 2
    refused = await gql(UPDATE, {"input": {"id": template["id"], "body": "x"}})
    assert refused["messageTemplateUpdate"]["userErrors"][0]["code"] == "TEMPLATE_ARCHIVED"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"body": "Hi {{ nickname }}"}, ["input", "body"], "INVALID"),
        ({"subject": "{{ secret_key }}"}, ["input", "subject"], "INVALID"),
        ({"subject": None}, ["input", "subject"], "REQUIRED"),
        ({"htmlBody": "{% if %}"}, ["input", "htmlBody"], "INVALID"),
        ({"body": "{{ name.__class__ }}{{ bogus }}"}, ["input", "body"], "INVALID"),
        (
            {
                "channel": "WECHAT",
                "subject": None,
                "providerTemplateId": "t",
                "htmlBody": None,
                "fields": {"thing1": "ok", "character_string2": "{{ unknown_var }}"},
            },
            ["input", "fields", "character_string2"],
            "INVALID",
        ),
        (
            {
                "channel": "SMS",
                "subject": None,
                "htmlBody": None,
                "providerTemplateId": "1",
                "parameters": ["{{ name }}", "{{ balance }}"],
            },
            ["input", "parameters", "1"],
            "INVALID",
        ),
        (
            {"channel": "SMS", "subject": None, "htmlBody": None},
            ["input", "providerTemplateId"],
            "REQUIRED",
        ),
        ({"fields": ["not", "an", "object"]}, ["input", "fields"], "INVALID"),
    ],
)
async def test_a_template_that_cannot_work_is_refused_with_its_field(
    gql: GraphQLClient, changes: dict, field: list[str], code: str
) -> None:
    data = await gql(CREATE, {"input": {**EMAIL_TEMPLATE, **changes}})
    payload = data["messageTemplateCreate"]
    assert payload["template"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert (await gql(TEMPLATES))["messageTemplates"]["totalCount"] == 0


async def test_the_preview_renders_for_the_customer_with_sample_message_values(
    gql: GraphQLClient,
) -> None:
    customer_id = await customer(gql, name="Ann")
    template = (await gql(CREATE, {"input": EMAIL_TEMPLATE}))["messageTemplateCreate"]["template"]
    preview = (await gql(PREVIEW, {"t": template["id"], "c": customer_id}))["messagePreview"]
    assert preview["subject"] == "Ann, come back"
    assert preview["body"] == "Use SAMPLE-COUPON before 2026-12-31"
    assert preview["htmlBody"] == "<p>Ann</p>"
    unknown = ids.encode("Customer", 999_999)
    assert (await gql(PREVIEW, {"t": template["id"], "c": unknown}))["messagePreview"] is None


async def test_html_parts_are_autoescaped(gql: GraphQLClient) -> None:
    customer_id = await customer(gql, name="<script>x</script>")
    template = (await gql(CREATE, {"input": EMAIL_TEMPLATE}))["messageTemplateCreate"]["template"]
    preview = (await gql(PREVIEW, {"t": template["id"], "c": customer_id}))["messagePreview"]
    assert preview["htmlBody"] == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


async def test_consent_update_scopes(gql: GraphQLClient, database: Database) -> None:
    ann, bob = await customer(gql, "ann"), await customer(gql, "bob")
    given = {"customerId": ann, "channel": "SMS", "granted": True, "source": "checkout"}
    admin = (await gql(CONSENT, {"input": given}))["consentUpdate"]
    assert admin["consent"]["source"] == "checkout" and admin["userErrors"] == []
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="shop"))
    out = {"customerId": bob, "channel": "EMAIL", "granted": False}
    assert (await storefront(CONSENT, {"input": out}))["consentUpdate"]["consent"][
        "source"
    ] == "api"
    token = (await gql(TOKEN, {"customerId": ann}))["customerTokenCreate"]["token"]
    shopper = gql.as_key(token)
    mine = {"customerId": ann, "channel": "WECHAT", "granted": True}
    own = (await shopper(CONSENT, {"input": mine}))["consentUpdate"]["consent"]
    assert (own["channel"], own["source"]) == ("WECHAT", "storefront")
    other = await shopper.raw(CONSENT, {"input": {**mine, "customerId": bob}})
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    analyst = gql.as_key(await make_key(database, Role.ANALYST, name="bi"))
    denied = await analyst.raw(CONSENT, {"input": mine})
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    missing = {**mine, "customerId": ids.encode("Customer", 999_999)}
    refused = (await gql(CONSENT, {"input": missing}))["consentUpdate"]["userErrors"]
    assert [(e["field"], e["code"]) for e in refused] == [(["input", "customerId"], "NOT_FOUND")]
    consents = (await gql(CUSTOMER, {"id": ann}))["node"]["consents"]
    assert consents == [
        {"channel": "SMS", "granted": True, "source": "checkout"},
        {"channel": "WECHAT", "granted": True, "source": "storefront"},
    ]


async def test_the_unsubscribe_link_records_an_opt_out_on_post_only(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    ann = await customer(gql, "ann")
    await gql(CONSENT, {"input": {"customerId": ann, "channel": "EMAIL", "granted": True}})
    links = UnsubscribeLinks(settings.secret_key, "http://test")
    url = links.url(ids.decode(ann, "Customer"), TemplateChannel.EMAIL).removeprefix("http://test")

    page = await client.get(url)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert (await gql(CUSTOMER, {"id": ann}))["node"]["consents"][0]["granted"] is True

    done = await client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    (consent,) = (await gql(CUSTOMER, {"id": ann}))["node"]["consents"]
    assert consent == {"channel": "EMAIL", "granted": False, "source": "unsubscribe_link"}

    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert (await client.post(forged)).status_code == 400
    other_channel = url.replace(".EMAIL.", ".SMS.")
    assert (await client.post(other_channel)).status_code == 400


async def test_sms_receipts_record_delivered_and_failed_touchpoints(
    gql: GraphQLClient,
    database: Database,
    database_url: str,
    client: httpx.AsyncClient,
    clock: FixedClock,
) -> None:
    clock.at = clock.at.replace(microsecond=0)
    local = clock.at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    with providers() as state:
        story = Story(database, database_url, clock, None, state)
        ann = await story.customer("ann", phone="13800138000", name="Ann")
        bob = await story.customer("bob", phone="13900139000", name="Bob")
        sms = await story.sms_template()
        campaign = await story.campaign()
        for who in (ann, bob):
            await story.consent(who, TemplateChannel.SMS)
        first = await story.enqueue(ann, (sms,), "k:ann", campaign_id=campaign, variant="A")
        second = await story.enqueue(bob, (sms,), "k:bob", campaign_id=campaign, variant="A")
        await story.deliver()
        assert state.problems == []
    serials = {
        (await story.message(q.message_id)).provider_message_id: q.message_id
        for q in (first, second)
    }
    assert set(serials) == {"serial-1", "serial-2"}
    reports = [
        {
            "user_receive_time": local,
            "nationcode": "86",
            "mobile": "13800138000",
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "用户短信送达成功",
            "sid": "serial-1",
        },
        {
            "user_receive_time": local,
            "nationcode": "86",
            "mobile": "13900139000",
            "report_status": "FAIL",
            "errmsg": "MK:0001",
            "description": "空号",
            "sid": "serial-2",
        },
        {
            "user_receive_time": local,
            "nationcode": "86",
            "mobile": "1",
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "",
            "sid": "unknown",
        },
    ]
    assert (
        await client.post("/messaging/sms/receipts?token=wrong", json=reports)
    ).status_code == 403

    answer = await client.post("/messaging/sms/receipts?token=receipt-token", json=reports)
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    again = await client.post("/messaging/sms/receipts?token=receipt-token", json=reports)
    assert again.json() == {"result": 0, "errmsg": "OK"}

    delivered = await story.message(serials["serial-1"])
    failed = await story.message(serials["serial-2"])
    assert delivered.status is MessageStatus.DELIVERED
    assert (failed.status, failed.reason) == (MessageStatus.FAILED, "MK:0001 空号")
    assert [o.outcome for o in await story.outcomes(serials["serial-1"])] == [
        Outcome.SENT,
        Outcome.DELIVERED,
    ]
    async with database.sessions() as session:
        events = (
            await session.execute(
                select(TouchpointRow.customer_id, TouchpointRow.event)
                .where(TouchpointRow.campaign_id == campaign)
                .order_by(TouchpointRow.id)
            )
        ).all()
    assert [tuple(e) for e in events] == [
        (ann, "SENT"),
        (bob, "SENT"),
        (ann, "DELIVERED"),
        (bob, "FAILED"),
    ]
    # Customer.messages shows the story, outcomes batched per page.
    node = (await gql(CUSTOMER, {"id": ids.encode("Customer", bob)}))["node"]
    (message,) = node["messages"]["nodes"]
    assert (message["status"], message["channel"], message["reason"]) == (
        "FAILED",
        "SMS",
        "MK:0001 空号",
    )
    assert [o["outcome"] for o in message["outcomes"]] == ["SENT", "FAILED"]


MERGE = """
mutation($input: CustomerMergeInput!) { customerMerge(input: $input) { userErrors { code message } } }"""
ERASE = """mutation($id: ID!) { customerErase(input: {id: $id}) { userErrors { code } } }"""


async def test_merging_moves_consent_and_messages_and_an_opt_out_always_wins(
    gql: GraphQLClient, database: Database, database_url: str, clock: FixedClock, settings: Settings
) -> None:
    survivor, merged = await customer(gql, "a"), await customer(gql, "b")
    for who, channel, granted in (
        (survivor, "EMAIL", True),  # the survivor's own word stands…
        (merged, "EMAIL", False),  # …except that an opt-out always wins
        (merged, "SMS", True),  # only the merged customer said anything: it moves
        (survivor, "WECHAT", False),
        (merged, "WECHAT", True),  # an opt-in never overrides the survivor's opt-out
    ):
        given = {"customerId": who, "channel": channel, "granted": granted}
        await gql(CONSENT, {"input": given})
    story = Story(database, database_url, clock)
    template = await story.email_template()
    queued = await story.enqueue(ids.decode(merged, "Customer"), (template,), "k:merged")

    data = await gql(
        MERGE, {"input": {"survivor": survivor, "merged": merged, "idempotencyKey": "m-1"}}
    )
    assert data["customerMerge"]["userErrors"] == []

    node = (await gql(CUSTOMER, {"id": survivor}))["node"]
    assert {(c["channel"], c["granted"]) for c in node["consents"]} == {
        ("EMAIL", False),
        ("SMS", True),
        ("WECHAT", False),
    }
    assert [m["dedupeKey"] for m in node["messages"]["nodes"]] == ["k:merged"]
    assert (await story.message(queued.message_id)).customer_id == ids.decode(survivor, "Customer")
    # The merged customer's unsubscribe link opts out its survivor.
    links = UnsubscribeLinks(settings.secret_key, "")
    await story.consent(ids.decode(survivor, "Customer"), TemplateChannel.SMS)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, database=database, clock=clock)),
        base_url="http://test",
    ) as http:
        url = links.url(ids.decode(merged, "Customer"), TemplateChannel.SMS)
        assert (await http.post(url)).status_code == 200
    node = (await gql(CUSTOMER, {"id": survivor}))["node"]
    assert ("SMS", False) in {(c["channel"], c["granted"]) for c in node["consents"]}


async def test_erasure_deletes_consent_and_queued_messages_reach_no_one(
    gql: GraphQLClient, database: Database, database_url: str, clock: FixedClock
) -> None:
    ann = await customer(gql, "ann", email="ann@example.com")
    await gql(CONSENT, {"input": {"customerId": ann, "channel": "EMAIL", "granted": True}})
    story = Story(database, database_url, clock)
    template = await story.email_template()
    queued = await story.enqueue(ids.decode(ann, "Customer"), (template,), "k:1")

    assert (await gql(ERASE, {"id": ann}))["customerErase"]["userErrors"] == []
    with smtp_server() as mailbox:
        story.mailbox = mailbox
        await story.deliver()
        assert mailbox.messages == []

    async with database.sessions() as session:
        left = await session.execute(
            select(ConsentRow).where(ConsentRow.customer_id == ids.decode(ann, "Customer"))
        )
        assert left.first() is None
    message = await story.message(queued.message_id)
    assert (message.status, message.reason) == (MessageStatus.SKIPPED, "NO_ADDRESS")


async def test_program_update_checks_the_messaging_settings(gql: GraphQLClient) -> None:
    document = """mutation($input: ProgramUpdateInput!) { programUpdate(input: $input) {
      program { messageCap smsQuietHours } userErrors { field code } } }"""
    bad = await gql(document, {"input": {"smsQuietHours": "9pm-9am", "messageCap": -1}})
    assert sorted(e["field"][1] for e in bad["programUpdate"]["userErrors"]) == [
        "messageCap",
        "smsQuietHours",
    ]
    good = await gql(document, {"input": {"smsQuietHours": "21:00-09:00", "messageCap": 2}})
    assert good["programUpdate"]["program"] == {"messageCap": 2, "smsQuietHours": "21:00-09:00"}
