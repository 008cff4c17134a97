"""The demo program `make run` starts with: the default tiers, a few customers with
tags and a short order history (so points, tiers and metrics show something), two
rewards, and a key.

Seeding happens only on an empty database. The demo admin key is new on every run
(keys are stored hashed, so an old one cannot be shown again); the previous demo
key is revoked so they do not pile up.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from api.ids import stored_key
from domain.access import ApiKeyService, CreateApiKey, Role
from domain.clock import SystemClock
from domain.customers import CustomerRef, CustomerService, ProfileInput, UpsertCustomer
from domain.orders import OrderService, RecordOrder
from domain.program import PROGRAM, ProgramSettings
from domain.rewards import RewardFields, RewardKind, RewardService
from domain.tags import ChangeCustomerTags, CreateTag, TagService
from domain.tiers import TierService
from persistence.api_keys import ApiKeyRow, list_keys
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork

DEMO_KEY_NAME = "demo admin (make run)"

# (customer index, days ago, amount): a loyal buyer, a lapsing one, a new one.
DEMO_ORDERS = [
    (0, 200, "680.00"),
    (0, 95, "420.50"),
    (0, 12, "1299.00"),
    (1, 75, "88.00"),
    (1, 45, "156.00"),
    (2, 3, "59.90"),
]

DEMO_CUSTOMERS = [
    ("demo-0001", "li.na@example.com", "+86 138 0013 8000", "李娜", date(1990, 5, 12), "Shanghai"),
    ("demo-0002", "wang.wei@example.com", "13900139000", "王伟", date(1985, 11, 3), "Beijing"),
    ("demo-0003", "emma@example.com", "+44 20 7946 0958", "Emma Brown", None, "London"),
    ("demo-0004", "zhang.min@example.com", None, "张敏", date(1998, 1, 30), "Hangzhou"),
]


async def seed_if_empty(database: Database, *, phone_region: str | None) -> bool:
    async with database.sessions() as session:
        if (await session.execute(select(func.count()).select_from(CustomerRow))).scalar_one():
            return False
    clock = SystemClock()
    await TierService(lambda: SqlUnitOfWork(database), clock).ensure_defaults()
    customers = CustomerService(lambda: SqlUnitOfWork(database), clock, phone_region=phone_region)
    ids = []
    for external_id, email, phone, name, birthday, city in DEMO_CUSTOMERS:
        result = await customers.upsert(
            UpsertCustomer(
                external_id,
                ProfileInput(
                    email=email,
                    phone=phone,
                    name=name,
                    birthday=birthday,
                    city=city,
                    acquisition_channel="demo",
                ),
            )
        )
        ids.append(stored_key(result.customer.id))
    tags = TagService(lambda: SqlUnitOfWork(database), clock)
    await tags.create(CreateTag("VIP", "Top spenders", "#C9A227"))
    await tags.add_to_customers(ChangeCustomerTags(ids[:2], tag_names=["VIP"]))
    await tags.add_to_customers(ChangeCustomerTags(ids[1:], tag_names=["newsletter"]))
    orders = OrderService(lambda: SqlUnitOfWork(database), clock, phone_region=phone_region)
    now = clock.now()
    for number, (customer_id, days_ago, amount) in enumerate(DEMO_ORDERS, start=1):
        await orders.record(
            RecordOrder(
                external_id=f"demo-order-{number:03d}",
                customer=CustomerRef(id=ids[customer_id]),
                amount=Decimal(amount),
                currency=(await _program(database)).currency,
                placed_at=now - timedelta(days=days_ago),
                channel="demo",
            )
        )
    rewards = RewardService(lambda: SqlUnitOfWork(database), clock)
    await rewards.create(
        RewardFields(
            name="10% off", points_cost=500, kind=RewardKind.DISCOUNT_PERCENT, value=Decimal(10)
        )
    )
    await rewards.create(
        RewardFields(
            name="Free tea sample", points_cost=200, kind=RewardKind.FREE_PRODUCT, stock=50
        )
    )
    return True


async def _program(database: Database) -> ProgramSettings:
    async with SqlUnitOfWork(database) as uow:
        return await uow.repo(PROGRAM).get()


async def issue_demo_key(database: Database) -> str:
    service = ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock())
    async with database.sessions() as session:
        old = [k for k in await list_keys(session) if k.name == DEMO_KEY_NAME and not k.revoked_at]
    for key in old:
        await service.revoke(stored_key(key.id))
    issued = await service.create(CreateApiKey(DEMO_KEY_NAME, Role.ADMIN))
    return issued.secret


__all__ = ["ApiKeyRow", "issue_demo_key", "seed_if_empty"]
