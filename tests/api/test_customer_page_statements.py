"""How many SQL statements one page of customers costs: constant in the page size."""

from sqlalchemy import event

from tests.api.ledger_calls import order_input
from tests.conftest import utc

BULK = """
mutation($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) { results { userErrors { code } } userErrors { code } }
}"""

PAGE = """
query($first: Int!) {
  customers(first: $first) { edges { node {
    ordersCount totalSpent { amount }
    points { available pending expiringSoon { points } }
    orders(first: 3) { edges { node { externalId items { sku } } } }
  } } }
}"""


class StatementCounter:
    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine.sync_engine
        self.count = 0

    def __enter__(self):  # noqa: ANN204
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: object) -> None:
        self.count += 1


async def seed(gql, customers: int, orders: int = 2) -> None:  # noqa: ANN001
    inputs = [
        order_input(
            f"o-{c}-{n}",
            f"{10 + n}.00",
            customer=f"c-{c}",
            placed_at=f"2026-05-0{n + 1}T00:00:00+00:00",
            items=[{"sku": f"sku-{n}", "quantity": 1, "unitPrice": f"{10 + n}.00"}],
        )
        for c in range(customers)
        for n in range(orders)
    ]
    data = await gql(BULK, {"inputs": inputs})
    assert all(r["userErrors"] == [] for r in data["ordersRecordBulk"]["results"])


async def statements_for_page(gql, database, first: int) -> tuple[int, dict]:  # noqa: ANN001
    with StatementCounter(database.engine) as counter:
        data = await gql(PAGE, {"first": first})
    return counter.count, data


async def test_customer_page_costs_the_same_statements_for_5_or_50_customers(gql, database, clock):
    clock.at = utc(2026, 6, 1)
    await seed(gql, 50)

    small, small_data = await statements_for_page(gql, database, 5)
    large, large_data = await statements_for_page(gql, database, 50)

    assert len(large_data["customers"]["edges"]) == 50
    node = large_data["customers"]["edges"][0]["node"]
    assert node["ordersCount"] == 2
    assert node["points"]["available"] == 10 + 11
    assert node["points"]["expiringSoon"] == []
    assert [e["node"]["items"] for e in node["orders"]["edges"]] == [
        [{"sku": "sku-1"}],
        [{"sku": "sku-0"}],
    ]
    print(f"statements: page of 5 → {small}, page of 50 → {large}")
    assert large == small


NEXT_PAGES = """
query($first: Int!, $after: String) {
  customers(first: 2) { edges { node { externalId
    orders(first: $first, after: $after) {
      edges { node { externalId } } pageInfo { hasNextPage endCursor }
    }
  } } }
}"""


async def test_batched_first_page_and_cursor_pages_walk_the_same_orders(gql, clock):
    clock.at = utc(2026, 6, 1)
    await seed(gql, 2, orders=5)

    first = await gql(NEXT_PAGES, {"first": 2})
    walked = {}
    for edge in first["customers"]["edges"]:
        node = edge["node"]
        seen = [e["node"]["externalId"] for e in node["orders"]["edges"]]
        info = node["orders"]["pageInfo"]
        while info["hasNextPage"]:
            more = await gql(NEXT_PAGES, {"first": 2, "after": info["endCursor"]})
            page = next(
                e["node"]["orders"]
                for e in more["customers"]["edges"]
                if e["node"]["externalId"] == node["externalId"]
            )
            seen += [e["node"]["externalId"] for e in page["edges"]]
            info = page["pageInfo"]
        walked[node["externalId"]] = seen
    assert walked == {c: [f"o-{c[2:]}-{n}" for n in (4, 3, 2, 1, 0)] for c in ("c-0", "c-1")}
