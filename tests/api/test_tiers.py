"""Tiers over GraphQL: administration, refusals, and the tier fields of Customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from api import ids
from domain.access import Role
from domain.clock import SystemClock
from domain.program import ProgramSettings
from domain.tiers import TierService, upgrade_after_order
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import make_key
from tests.order_rows import add_customer, order_row

TIER_FIELDS = "id name rank threshold earnMultiplier benefits customerCount"
CREATE = f"""mutation($input: TierCreateInput!) {{
  tierCreate(input: $input) {{ tier {{ {TIER_FIELDS} }} userErrors {{ field code message }} }} }}"""
UPDATE = f"""mutation($input: TierUpdateInput!) {{
  tierUpdate(input: $input) {{ tier {{ {TIER_FIELDS} }} userErrors {{ field code message }} }} }}"""
DELETE = """mutation($input: TierDeleteInput!) {
  tierDelete(input: $input) { deletedTierId userErrors { field code message } } }"""
CUSTOMER_TIER = """query($id: ID!) { customer(id: $id) {
  tier { name earnMultiplier }
  tierProgress { current { name } next { name } qualifyingValue remainingToNext }
  tierHistory { from { name } to { name } reason at } } }"""


def tier_input(name="Silver", rank=2, threshold="1000", multiplier="1.2", **more):
    return {
        "name": name,
        "rank": rank,
        "threshold": threshold,
        "earnMultiplier": multiplier,
        **more,
    }


async def create(gql, **fields) -> dict:
    return (await gql(CREATE, {"input": tier_input(**fields)}))["tierCreate"]


async def seed_defaults(database) -> dict[str, str]:
    tiers = await TierService(lambda: SqlUnitOfWork(database), SystemClock()).ensure_defaults()
    return {t.name: ids.encode("Tier", t.id) for t in tiers}


async def customer_with_orders(database, *points: int) -> str:
    """A customer whose orders (placed over the last days) ran through the upgrade."""
    now = datetime.now(UTC)
    async with SqlUnitOfWork(database) as uow:
        customer_id = await add_customer(uow.session)
        await uow.commit()
    for days_ago, earned in zip(range(len(points), 0, -1), points, strict=True):
        placed = now - timedelta(days=days_ago)
        async with SqlUnitOfWork(database) as uow:
            uow.session.add(order_row(customer_id, placed, points=earned))
            await upgrade_after_order(uow, customer_id, ProgramSettings(), placed)
            await uow.commit()
    return ids.encode("Customer", customer_id)


async def test_create_list_update_and_delete_a_tier(gql):
    silver = await create(gql, benefits="Free shipping")
    assert silver["userErrors"] == []
    assert silver["tier"]["threshold"] == "1000"
    assert silver["tier"]["earnMultiplier"] == "1.2"
    bronze = await create(gql, name="Bronze", rank=1, threshold="0", multiplier="1")

    listed = (await gql("{ tiers { name rank customerCount } }"))["tiers"]
    assert listed == [
        {"name": "Bronze", "rank": 1, "customerCount": 0},
        {"name": "Silver", "rank": 2, "customerCount": 0},
    ]

    tier_id = silver["tier"]["id"]
    updated = (await gql(UPDATE, {"input": {"id": tier_id, "threshold": "1500.5"}}))["tierUpdate"]
    assert updated["userErrors"] == []
    assert (updated["tier"]["threshold"], updated["tier"]["name"]) == ("1500.5", "Silver")
    assert updated["tier"]["benefits"] == "Free shipping"

    node = await gql("query($id: ID!) { node(id: $id) { ... on Tier { name } } }", {"id": tier_id})
    assert node["node"] == {"name": "Silver"}

    deleted = (await gql(DELETE, {"input": {"id": bronze["tier"]["id"]}}))["tierDelete"]
    assert deleted == {"deletedTierId": bronze["tier"]["id"], "userErrors": []}
    assert [t["name"] for t in (await gql("{ tiers { name } }"))["tiers"]] == ["Silver"]


async def test_validation_names_the_field_at_fault(gql):
    await create(gql)
    cases = [
        (tier_input(name=" ", rank=3), ["input", "name"], "REQUIRED"),
        (tier_input(name="x" * 65, rank=3), ["input", "name"], "TOO_LONG"),
        (tier_input(name="SILVER", rank=3, threshold="2000"), ["input", "name"], "TAKEN"),
        (tier_input(name="Gold", rank=2, threshold="3000"), ["input", "rank"], "TAKEN"),
        (tier_input(name="Gold", rank=3, threshold="-1"), ["input", "threshold"], "INVALID"),
        (tier_input(name="Gold", rank=3, threshold="500"), ["input", "threshold"], "INVALID"),
        (
            tier_input(name="Gold", rank=3, threshold="3000", multiplier="0"),
            ["input", "earnMultiplier"],
            "INVALID",
        ),
        (
            tier_input(name="Gold", rank=3, threshold="3000", multiplier="10.5"),
            ["input", "earnMultiplier"],
            "INVALID",
        ),
    ]
    for given, field, code in cases:
        payload = (await gql(CREATE, {"input": given}))["tierCreate"]
        assert payload["tier"] is None, given
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], given
    assert len((await gql("{ tiers { id } }"))["tiers"]) == 1


async def test_update_refuses_a_name_another_tier_has(gql):
    await create(gql)
    gold = await create(gql, name="Gold", rank=3, threshold="3000", multiplier="1.5")
    payload = await gql(UPDATE, {"input": {"id": gold["tier"]["id"], "name": "silver"}})
    assert payload["tierUpdate"]["userErrors"][0]["code"] == "TAKEN"
    unknown = ids.encode("Tier", 999_999)
    payload = await gql(UPDATE, {"input": {"id": unknown, "name": "X"}})
    assert payload["tierUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_deleting_a_tier_customers_hold_is_refused(gql, database):
    tiers = await seed_defaults(database)
    await customer_with_orders(database, 1200)  # Silver

    payload = (await gql(DELETE, {"input": {"id": tiers["Silver"]}}))["tierDelete"]

    assert payload["deletedTierId"] is None
    [error] = payload["userErrors"]
    assert (error["field"], error["code"]) == (["input", "id"], "IN_USE")
    assert "1 customer(s) hold tier 'Silver'" in error["message"]
    counts = {
        t["name"]: t["customerCount"]
        for t in (await gql("{ tiers { name customerCount } }"))["tiers"]
    }
    assert counts == {"Bronze": 0, "Silver": 1, "Gold": 0, "Diamond": 0}


async def test_deleting_a_tier_only_history_names_keeps_the_history(gql, database):
    tiers = await seed_defaults(database)
    customer = await customer_with_orders(database, 100, 1200)  # Bronze, then Silver

    payload = (await gql(DELETE, {"input": {"id": tiers["Bronze"]}}))["tierDelete"]

    assert payload["userErrors"] == []
    found = (await gql(CUSTOMER_TIER, {"id": customer}))["customer"]["tierHistory"]
    assert [(e["from"], e["to"], e["reason"]) for e in found] == [
        (None, {"name": "Silver"}, "order"),
        (None, None, "order"),
    ]


async def test_customer_tier_progress_and_history(gql, database):
    await seed_defaults(database)
    customer = await customer_with_orders(database, 600, 500, 2000)

    found = (await gql(CUSTOMER_TIER, {"id": customer}))["customer"]

    assert found["tier"] == {"name": "Gold", "earnMultiplier": "1.5"}
    assert found["tierProgress"] == {
        "current": {"name": "Gold"},
        "next": {"name": "Diamond"},
        "qualifyingValue": "3100",
        "remainingToNext": "1900",
    }
    assert [(e["from"] and e["from"]["name"], e["to"]["name"]) for e in found["tierHistory"]] == [
        ("Silver", "Gold"),
        ("Bronze", "Silver"),
        (None, "Bronze"),
    ]
    assert all(e["at"].endswith("+00:00") for e in found["tierHistory"])


async def test_customer_without_orders_has_no_tier_yet(gql, database):
    await seed_defaults(database)
    created = await gql(
        'mutation { customerUpsert(input: {externalId: "c-1"}) { customer { id } } }'
    )
    customer = created["customerUpsert"]["customer"]["id"]

    found = (await gql(CUSTOMER_TIER, {"id": customer}))["customer"]

    assert found["tier"] is None and found["tierHistory"] == []
    assert found["tierProgress"] == {
        "current": None,
        "next": {"name": "Bronze"},
        "qualifyingValue": "0",
        "remainingToNext": "0",
    }


async def test_reading_tiers_is_open_to_analysts_but_changing_them_is_not(gql, database):
    await seed_defaults(database)
    analyst = gql.as_key(await make_key(database, Role.ANALYST))

    assert len((await analyst("{ tiers { name } }"))["tiers"]) == 4
    body = await analyst.raw(
        CREATE, {"input": tier_input(name="Platinum", rank=9, threshold="9000")}
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_tier_fields_on_a_customer_page_cost_the_same_statements_at_any_size(gql, database):
    await seed_defaults(database)
    for points in [0, 1200, 3500] * 20:
        await customer_with_orders(database, points)
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    query = """query($first: Int!) { customers(first: $first) { nodes {
      tier { name } tierProgress { qualifyingValue next { name } }
      tierHistory(first: 2) { to { name } } } } }"""
    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        costs = {}
        for size in (5, 50):
            statements = 0
            data = await gql(query, {"first": size})
            assert len(data["customers"]["nodes"]) == size
            costs[size] = statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)

    assert costs[5] == costs[50]
    assert {n["tier"]["name"] for n in data["customers"]["nodes"]} == {"Bronze", "Silver", "Gold"}
