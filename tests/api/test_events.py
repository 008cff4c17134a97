"""The events list as an admin tool or an automation reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from api import ids
from domain.access import Role
from domain.event_payloads import PointsAdjustedV1
from domain.events import EVENTS as EVENTS_PORT
from domain.events import Event
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import make_key
from tests.event_horizon import settle

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { created customer { id } userErrors { code field } } }"""

RECORD = """mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) { userErrors { code } } }"""

EVENTS = """query($first: Int, $after: String, $filter: EventFilter) {
  events(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id type schemaVersion occurredAt payload customer { id externalId } } }
    pageInfo { hasNextPage endCursor }
    totalCount } }"""


async def upsert(gql, external_id: str, **profile) -> str:  # noqa: ANN003
    data = await gql(UPSERT, {"input": {"externalId": external_id, **profile}})
    assert data["customerUpsert"]["userErrors"] == []
    return data["customerUpsert"]["customer"]["id"]


async def events(gql, **variables) -> dict:  # noqa: ANN003
    return (await gql(EVENTS, variables))["events"]


def nodes(page: dict) -> list[dict]:
    return [edge["node"] for edge in page["edges"]]


async def test_creating_a_customer_raises_exactly_one_customer_created(gql, database):
    customer_id = await upsert(gql, "shop-1", email="a@example.com")
    await upsert(gql, "shop-1", name="Li Na")  # an update, not a creation
    await settle(database)

    page = await events(gql)

    assert page["totalCount"] == 1
    [event] = nodes(page)
    assert (event["type"], event["schemaVersion"]) == ("customer.created", 1)
    assert event["payload"] == {
        "schemaVersion": 1,
        "customerId": ids.decode(customer_id, "Customer"),
        "externalId": "shop-1",
    }
    assert event["customer"] == {"id": customer_id, "externalId": "shop-1"}
    found = await gql(
        "query($id: ID!) { node(id: $id) { id ... on Event { type } } }", {"id": event["id"]}
    )
    assert found["node"] == {"id": event["id"], "type": "customer.created"}


async def test_a_refused_upsert_raises_no_event(gql, database):
    data = await gql(UPSERT, {"input": {"externalId": "shop-1", "email": "not an email"}})
    assert data["customerUpsert"]["userErrors"][0]["field"] == ["input", "email"]
    await settle(database)

    assert (await events(gql))["edges"] == []


async def test_events_filter_by_type_and_customer(gql, database):
    first = await upsert(gql, "shop-1")
    second = await upsert(gql, "shop-2")
    async with SqlUnitOfWork(database) as uow:  # an event of another type, as a later
        await uow.repo(EVENTS_PORT).append(  # producer could write it (none yet)
            Event.of(PointsAdjustedV1(None, None, 5, 5, "goodwill"), datetime.now(UTC))
        )
        await uow.commit()
    await settle(database)

    by_customer = await events(gql, filter={"customerId": second})
    created = await events(gql, filter={"types": ["customer.created"]})
    adjusted = await events(gql, filter={"types": ["points.adjusted", "order.recorded"]})
    both = await events(gql, filter={"types": ["customer.created"], "customerId": first})
    nothing = await events(gql, filter={"types": []})

    assert [e["payload"]["externalId"] for e in nodes(by_customer)] == ["shop-2"]
    assert [e["customer"]["id"] for e in nodes(created)] == [first, second]
    assert [(e["type"], e["customer"]) for e in nodes(adjusted)] == [("points.adjusted", None)]
    assert [e["customer"]["id"] for e in nodes(both)] == [first]
    assert nothing["edges"] == [] and nothing["totalCount"] == 0


async def test_an_unknown_type_or_a_bad_customer_id_is_refused(gql):
    tag = await gql('mutation { tagCreate(input: {name: "vip"}) { tag { id } } }')

    typo = await gql.raw(EVENTS, {"filter": {"types": ["customer.craeted"]}})
    wrong_id = await gql.raw(EVENTS, {"filter": {"customerId": tag["tagCreate"]["tag"]["id"]}})

    assert typo["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "customer.craeted" in typo["errors"][0]["message"]
    assert wrong_id["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_paging_one_at_a_time_returns_each_event_once_and_resumes(gql, database):
    for n in range(5):
        await upsert(gql, f"shop-{n}")
    await settle(database)

    seen, cursor, has_next = [], None, True
    while has_next:
        page = await events(gql, first=1, after=cursor)
        seen += [e["payload"]["externalId"] for e in nodes(page)]
        cursor, has_next = page["pageInfo"]["endCursor"], page["pageInfo"]["hasNextPage"]

    assert seen == [f"shop-{n}" for n in range(5)]
    empty = await events(gql, first=1, after=cursor)
    assert empty["edges"] == [] and empty["pageInfo"]["endCursor"] is None  # keep your cursor

    await upsert(gql, "shop-late")
    await settle(database)
    resumed = await events(gql, first=10, after=cursor)
    assert [e["payload"]["externalId"] for e in nodes(resumed)] == ["shop-late"]


async def test_a_cursor_of_another_list_is_refused(gql):
    await upsert(gql, "shop-1")
    customers = await gql("{ customers(first: 1) { pageInfo { endCursor } } }")

    body = await gql.raw(EVENTS, {"after": customers["customers"]["pageInfo"]["endCursor"]})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_partners_read_events_filtered_to_their_types(gql, database):
    """A partner system follows the outbox with a key of its own (events:read), not an
    admin key, and asks only for the types it handles."""
    customer_id = await upsert(gql, "shop-1")
    await settle(database)
    partner = gql.as_key(await make_key(database, Role.PARTNER))
    order = {
        "customer": {"externalId": "shop-1"},
        "externalId": "o-1",
        "amount": "80",
        "currency": "CNY",
        "placedAt": datetime.now(UTC).isoformat(),
    }
    recorded = await partner(RECORD, {"input": order})
    assert recorded["orderRecord"]["userErrors"] == []
    await settle(database)

    page = (await partner(EVENTS, {"filter": {"types": ["order.recorded", "points.earned"]}}))[
        "events"
    ]

    assert [e["type"] for e in nodes(page)] == ["points.earned", "order.recorded"]
    assert {e["customer"]["id"] for e in nodes(page)} == {customer_id}
    fetched = await partner(
        "query($id: ID!) { node(id: $id) { id } }", {"id": nodes(page)[0]["id"]}
    )
    assert fetched["node"]["id"] == nodes(page)[0]["id"]


async def test_storefront_and_analyst_keys_do_not_read_events(gql, database):
    await upsert(gql, "shop-1")
    await settle(database)
    event_id = nodes(await events(gql))[0]["id"]
    for role in (Role.STOREFRONT, Role.ANALYST):
        other = gql.as_key(await make_key(database, role))

        listed = await other.raw(EVENTS)
        fetched = await other.raw("query($id: ID!) { node(id: $id) { id } }", {"id": event_id})

        assert listed["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
        assert fetched["errors"][0]["extensions"]["code"] == "FORBIDDEN", role
