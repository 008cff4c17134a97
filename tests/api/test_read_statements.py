"""The statements of the two reads storefronts make most, counted exactly.

The shopper's read (a mini-program's home screen: `me` with points, tier, tier
progress and the ledger, and the rewards it can afford) and the storefront's customer
page (`customer(externalId:)`) are bench/api.py's documents. Each field reads what it
needs once per request: the customer once (the tier fields take the held tier from it),
the program once, every tier in one statement.
"""

from __future__ import annotations

from decimal import Decimal

from bench.documents import CUSTOMER_PAGE, SHOPPER_READ
from domain.access import Role
from tests.api.ledger_calls import order_input
from tests.api.test_customer_page_statements import StatementCounter as AllStatements
from tests.conftest import make_key, utc

BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) { results { userErrors { code } } userErrors { code } }
}"""
TIER = """mutation($name: String!, $rank: Int!, $threshold: Decimal!) {
  tierCreate(input: {name: $name, rank: $rank, threshold: $threshold, earnMultiplier: "1"}) {
    userErrors { code } } }"""
REWARD = """mutation($cost: Int!) {
  rewardCreate(input: {name: "Tea", pointsCost: $cost, kind: CUSTOM}) { userErrors { code } } }"""
TOKEN = """mutation($id: ID!) {
  customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }"""
ID = """query($id: String!) { customer(externalId: $id) { id } }"""


class StatementCounter(AllStatements):
    """Counts the SQL statements, not SQLite's explicit BEGIN of each read session."""

    def _seen(self, *args: object) -> None:
        if str(args[2]).strip().upper() != "BEGIN":
            self.count += 1


async def shopper_with_history(gql, clock) -> str:  # noqa: ANN001
    clock.at = utc(2026, 6, 1)
    for rank, (name, threshold) in enumerate((("Silver", "50"), ("Gold", "500")), start=1):
        assert (await gql(TIER, {"name": name, "rank": rank, "threshold": threshold}))[
            "tierCreate"
        ]["userErrors"] == []
    for cost in (10, 100, 10_000):
        await gql(REWARD, {"cost": cost})
    inputs = [
        order_input(f"o-{n}", "30.00", customer="ann", placed_at=f"2026-05-{n + 1:02d}T00:00:00Z")
        for n in range(5)
    ]
    data = await gql(BULK, {"inputs": inputs})
    assert all(r["userErrors"] == [] for r in data["ordersRecordBulk"]["results"])
    return (await gql(ID, {"id": "ann"}))["customer"]["id"]


async def test_the_shoppers_read_is_eight_statements(gql, database, clock):
    ann = await shopper_with_history(gql, clock)
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="app"))
    token = (await storefront(TOKEN, {"id": ann}))["customerTokenCreate"]["token"]
    shopper = gql.as_key(token)

    with StatementCounter(database.engine) as counter:
        data = await shopper(SHOPPER_READ, {"me": ann})

    me = data["me"]
    assert me["tier"]["name"] == "Silver"
    assert me["tierProgress"]["next"] == {"name": "Gold", "threshold": "500"}
    assert Decimal(me["tierProgress"]["qualifyingValue"]) == 150
    assert len(me["ledger"]["nodes"]) == 5
    assert [r["pointsCost"] for r in data["rewards"]["nodes"]] == [10, 100]
    # the key that issued the token (not revoked: tests run without the key cache),
    # the customer, its pending points, its ledger page, the program, every tier,
    # the qualifying value, the affordable rewards
    assert counter.count == 8


async def test_the_storefronts_customer_page_is_seven_statements(gql, database, clock):
    await shopper_with_history(gql, clock)
    storefront = gql.as_key(await make_key(database, Role.STOREFRONT, name="web"))

    with StatementCounter(database.engine) as counter:
        data = await storefront(CUSTOMER_PAGE, {"externalId": "ann"})

    page = data["customer"]
    assert (page["ordersCount"], page["tier"], page["tierProgress"]["next"]) == (
        5,
        {"name": "Silver"},
        {"name": "Gold"},
    )
    # the key, the customer, the program, its pending points, its tags, every tier,
    # the qualifying value
    assert counter.count == 7


LIST = """query { customers(first: 50) { nodes { externalId tier { name } } } }"""


async def test_tiers_of_a_customer_page_are_one_statement(gql, database, clock):
    await shopper_with_history(gql, clock)
    others = [
        order_input(f"x-{n}", "60.00", customer=f"c-{n}", placed_at="2026-05-20T00:00:00Z")
        for n in range(20)
    ]
    await gql(BULK, {"inputs": others})

    with StatementCounter(database.engine) as counter:
        data = await gql(LIST)

    tiers = {n["externalId"]: n["tier"] for n in data["customers"]["nodes"]}
    assert tiers["ann"] == {"name": "Silver"} and tiers["c-0"] == {"name": "Silver"}
    # the key, the page, every tier (the page's customers are the loader's)
    assert counter.count == 3
