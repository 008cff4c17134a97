"""The unit of work against real databases: a lost unique race is recognised by the
driver's error code (and only a unique violation is), every domain port has a
registered repository, and each transaction builds its own repositories."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import domain
from domain.customers import CUSTOMERS, Customer
from domain.errors import ConcurrentWrite
from domain.events import EVENTS
from domain.idempotency import retrying
from domain.orders import ORDERS, Order
from domain.unit_of_work import Port
from persistence.database import Database
from persistence.repositories import import_areas, registered
from persistence.unit_of_work import SqlUnitOfWork, unit_of_work_factory

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def customer(external_id: str) -> Customer:
    return Customer(id=None, external_id=external_id, created_at=NOW, updated_at=NOW)


async def test_a_taken_unique_key_leaves_the_block_as_concurrent_write(database: Database):
    async with SqlUnitOfWork(database) as uow:
        await uow.repo(CUSTOMERS).add(customer("c-1"))
        await uow.commit()

    with pytest.raises(ConcurrentWrite):
        async with SqlUnitOfWork(database) as uow:
            await uow.repo(CUSTOMERS).add(customer("c-1"))


async def test_a_foreign_key_violation_is_not_taken_for_a_race(database: Database):
    order = Order(
        id=None,
        customer_id=987654,  # no such customer
        external_id="o-1",
        amount=Decimal("1.00"),
        currency="CNY",
        placed_at=NOW,
        channel=None,
        award_points=False,
        request_hash="",
        created_at=NOW,
    )
    with pytest.raises(Exception) as raised:
        async with SqlUnitOfWork(database) as uow:
            await uow.repo(ORDERS).add(order)
    assert not isinstance(raised.value, ConcurrentWrite)


async def test_retrying_runs_the_transaction_again_after_a_lost_race(database: Database):
    """The first attempt loses to a row written meanwhile; the second sees it."""
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE: no second writer inside")
    uow_factory = unit_of_work_factory(database)
    attempts: list[int] = []

    async def attempt() -> int:
        attempts.append(1)
        async with uow_factory() as uow:
            existing = await uow.repo(CUSTOMERS).get_by_external_id("c-race")
            if existing is not None:
                return 0
            if len(attempts) == 1:  # the other writer commits between our read and insert
                async with uow_factory() as other:
                    await other.repo(CUSTOMERS).add(customer("c-race"))
                    await other.commit()
            await uow.repo(CUSTOMERS).add(customer("c-race"))
            await uow.commit()
            return 1

    assert await retrying(attempt) == 0
    assert len(attempts) == 2


def _domain_ports() -> set[Port[object]]:
    ports: set[Port[object]] = set()
    for module in pkgutil.iter_modules(domain.__path__):
        loaded = importlib.import_module(f"domain.{module.name}")
        ports |= {value for value in vars(loaded).values() if isinstance(value, Port)}
    return ports


def test_every_domain_port_has_a_registered_repository():
    import_areas()
    ports = _domain_ports()
    assert ports, "no ports found"
    assert ports <= registered(), sorted(p.name for p in ports - registered())


async def test_each_transaction_builds_its_own_repositories(database: Database):
    uow = SqlUnitOfWork(database)
    async with uow:
        first = uow.repo(EVENTS)
        assert uow.repo(EVENTS) is first
    async with uow:
        assert uow.repo(EVENTS) is not first
