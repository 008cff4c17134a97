"""CustomerService raises customer.created only when it creates, and only on commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from domain.clock import FixedClock
from domain.customers import CUSTOMERS, Customer, CustomerService, ProfileInput, UpsertCustomer
from domain.events import EVENTS, Event, EventType
from domain.unit_of_work import Port

R = TypeVar("R")
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class FakeCustomers:
    def __init__(self) -> None:
        self.rows: dict[int, Customer] = {}

    async def get_by_external_id(self, external_id: str, *, for_update: bool = False):  # noqa: ANN201
        return next((c for c in self.rows.values() if c.external_id == external_id), None)

    async def add(self, customer: Customer) -> Customer:
        customer = replace(customer, id=len(self.rows) + 1)
        self.rows[customer.id] = customer
        return customer

    async def save(self, customer: Customer) -> None:
        self.rows[customer.id] = customer

    async def survivors(self, ids: list[int], external_ids: list[str]) -> dict[int | str, int]:
        return {}  # nobody here was merged


class FakeEvents:
    def __init__(self) -> None:
        self.pending: list[Event] = []

    async def append(self, event: Event) -> None:
        self.pending.append(event)


class FakeUnitOfWork:
    """Keeps appended events only when the service commits."""

    def __init__(self) -> None:
        self.customers = FakeCustomers()
        self.events = FakeEvents()
        self.committed: list[Event] = []

    async def __aenter__(self) -> FakeUnitOfWork:
        self.events.pending = []
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.events.pending = []

    async def commit(self) -> None:
        self.committed += self.events.pending
        self.events.pending = []

    def repo(self, port: Port[R]) -> R:
        by_port: dict[Port[Any], Any] = {CUSTOMERS: self.customers, EVENTS: self.events}
        return by_port[port]  # type: ignore[no-any-return]


async def test_creating_raises_customer_created_and_updating_raises_nothing():
    uow = FakeUnitOfWork()
    service = CustomerService(lambda: uow, FixedClock(NOW), phone_region="CN")

    created = await service.upsert(UpsertCustomer("shop-7", ProfileInput(name="Li")))
    await service.upsert(UpsertCustomer("shop-7", ProfileInput(name="Li Na")))

    assert uow.committed == [
        Event(
            EventType.CUSTOMER_CREATED,
            customer_id=created.customer.id,
            occurred_at=NOW,
            payload={"schemaVersion": 1, "customerId": created.customer.id, "externalId": "shop-7"},
        )
    ]
