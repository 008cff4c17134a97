"""Lists cost a constant number of SQL statements, whatever the page size.

Customer.tags and Tag.customerCount go through DataLoaders: one `IN (…)` query per
page, never one per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from domain.clock import SystemClock
from domain.customers import CustomerService, ProfileInput, UpsertCustomer
from domain.tags import ChangeCustomerTags, TagService
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork

CUSTOMERS_WITH_TAGS = "{ customers(first: 100) { edges { node { id tags { name } } } } }"
TAGS_WITH_COUNTS = "{ tags(first: 100) { edges { node { name customerCount } } } }"

# The key look-up, the page, and one batch for the nested field. SQLite also counts
# its explicit BEGIN (the engine emits it so writes can say BEGIN IMMEDIATE), one per
# session: the key look-up, the page and the batch each run in a short session.
EXPECTED = {"sqlite": 6, "postgresql": 3}


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.statements.append(statement)


@contextmanager
def counting(database: Database) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    engine = database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


async def seed(database: Database, customers: int, tags_each: int = 2) -> None:
    service = CustomerService(lambda: SqlUnitOfWork(database), SystemClock(), phone_region="CN")
    ids = []
    for i in range(customers):
        result = await service.upsert(UpsertCustomer(f"c-{i:03d}", ProfileInput(name=f"C{i}")))
        ids.append(result.customer.id)
    tags = TagService(lambda: SqlUnitOfWork(database), SystemClock())
    for i, customer_id in enumerate(ids):
        names = [f"tag-{(i + j) % 7}" for j in range(tags_each)]
        await tags.add_to_customers(ChangeCustomerTags([customer_id], tag_names=names))


def backend(database: Database) -> str:
    return "sqlite" if database.is_sqlite else "postgresql"


async def count(gql, database: Database, query: str) -> tuple[int, dict]:
    with counting(database) as counter:
        data = await gql(query)
    return len(counter.statements), data


async def test_customers_with_tags_cost_the_same_for_10_and_100(gql, database):
    await seed(database, 10)
    small, data = await count(gql, database, CUSTOMERS_WITH_TAGS)
    assert len(data["customers"]["edges"]) == 10
    assert all(len(e["node"]["tags"]) == 2 for e in data["customers"]["edges"])

    await seed(database, 100)  # upserts the first 10 again, adds 90
    large, data = await count(gql, database, CUSTOMERS_WITH_TAGS)
    assert len(data["customers"]["edges"]) == 100
    assert all(len(e["node"]["tags"]) == 2 for e in data["customers"]["edges"])

    assert small == large == EXPECTED[backend(database)]


async def test_tags_with_customer_counts_cost_the_same_for_few_and_many(gql, database):
    await seed(database, 10, tags_each=1)
    few, data = await count(gql, database, TAGS_WITH_COUNTS)
    assert len(data["tags"]["edges"]) == 7

    tags = TagService(lambda: SqlUnitOfWork(database), SystemClock())
    customers = CustomerService(lambda: SqlUnitOfWork(database), SystemClock(), phone_region=None)
    one = (await customers.upsert(UpsertCustomer("x", ProfileInput()))).customer.id
    await tags.add_to_customers(ChangeCustomerTags([one], tag_names=[f"m-{i}" for i in range(93)]))
    many, data = await count(gql, database, TAGS_WITH_COUNTS)
    assert len(data["tags"]["edges"]) == 100
    assert sum(e["node"]["customerCount"] for e in data["tags"]["edges"]) == 10 + 93

    assert few == many == EXPECTED[backend(database)]
