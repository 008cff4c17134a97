"""Referral codes exist from a customer's creation, and reading them writes nothing.

`Customer.referralCode` on a page of customers is one batched read (a DataLoader),
whatever the page size: never a transaction per customer inside a query.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from api.demo import seed_if_empty
from domain.clock import SystemClock
from domain.customers import CustomerService, ProfileInput, UpsertCustomer
from domain.referrals import CODE_ALPHABET, CODE_LENGTH
from persistence.customers import CustomerRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.ledger_calls import RECORD, order_input
from tests.api.test_referrals import REFERRAL, UPSERT
from tests.api.test_statement_count import backend, counting

CODES = "{ customers(first: 100) { edges { node { id referralCode } } } }"
# The key look-up, the page, and one batch for referralCode; SQLite also counts one
# BEGIN per short session.
EXPECTED = {"sqlite": 6, "postgresql": 3}
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


async def seed(database, customers: int) -> None:  # noqa: ANN001
    service = CustomerService(lambda: SqlUnitOfWork(database), SystemClock(), phone_region=None)
    for i in range(customers):
        await service.upsert(UpsertCustomer(f"c-{i:03d}", ProfileInput(name=f"C{i}")))


async def codes_page(gql, database) -> tuple[list[str], list[str]]:  # noqa: ANN001
    with counting(database) as counter:
        data = await gql(CODES)
    return [e["node"]["referralCode"] for e in data["customers"]["edges"]], counter.statements


async def test_a_page_of_codes_is_one_batched_read_for_10_and_100(gql, database):
    await seed(database, 10)
    small_codes, small = await codes_page(gql, database)
    await seed(database, 100)
    large_codes, large = await codes_page(gql, database)

    assert len(small_codes) == 10 and len(large_codes) == 100
    assert all(CODE.fullmatch(code) for code in large_codes)
    assert len(set(large_codes)) == 100
    assert set(small_codes) <= set(large_codes)  # never changed by being read
    assert [s for s in small + large if WRITES.match(s)] == []
    assert len(small) == len(large) == EXPECTED[backend(database)]


async def customers_without_code(database) -> int:  # noqa: ANN001
    async with database.sessions() as session:
        statement = select(func.count()).where(CustomerRow.referral_code.is_(None))
        return (await session.execute(statement)).scalar_one()


async def test_every_creation_path_gives_a_code(gql, database):
    await gql(UPSERT, {"id": "alice"})  # customerUpsert
    await gql(  # orderRecord: the customer on first sight
        RECORD,
        {"input": order_input("o-1", "10.00", customer="bob", placed_at="2026-11-20T10:00:00Z")},
    )
    assert await customers_without_code(database) == 0
    async with database.sessions() as session:
        alice_code = (
            await session.execute(
                select(CustomerRow.referral_code).where(CustomerRow.external_id == "alice")
            )
        ).scalar_one()
    recorded = await gql(  # referralRecord: the referee made on the spot
        REFERRAL,
        {
            "input": {
                "code": alice_code,
                "referee": {"externalId": "carol", "name": "Carol"},
                "idempotencyKey": "k-1",
            }
        },
    )
    assert recorded["referralRecord"]["userErrors"] == []
    async with database.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(CustomerRow))).scalar_one()
    assert count == 3
    assert await customers_without_code(database) == 0


async def test_demo_customers_have_codes(database):
    assert await seed_if_empty(database, phone_region="CN")
    assert await customers_without_code(database) == 0
