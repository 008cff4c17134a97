"""Two systems creating the same customer at the same moment get one customer."""

import asyncio

from tests.event_horizon import settle

UPSERT = """mutation($input: CustomerUpsertInput!) {
  customerUpsert(input: $input) { created customer { id } userErrors { code } } }"""


async def test_concurrent_first_upserts_make_one_customer(gql, database):
    results = await asyncio.gather(
        *(gql(UPSERT, {"input": {"externalId": "same", "name": f"n{i}"}}) for i in range(10))
    )
    payloads = [r["customerUpsert"] for r in results]
    assert all(p["userErrors"] == [] for p in payloads)
    assert sum(p["created"] for p in payloads) == 1
    assert len({p["customer"]["id"] for p in payloads}) == 1
    await settle(database)
    events = await gql(
        '{ events(first: 50, filter: {types: ["customer.created"]}) { edges { node { id } } } }'
    )
    assert len(events["events"]["edges"]) == 1
