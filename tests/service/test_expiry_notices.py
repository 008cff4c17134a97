"""The daily job warns once, `expiringSoonDays` ahead, about points about to expire."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.jobs import run_daily
from domain.orders import OrderService, RecordOrder
from persistence.events import EventRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import utc


async def test_one_notice_per_lot_thirty_days_ahead(database):
    placed = utc(2026, 1, 10, 12)
    service = OrderService(lambda: SqlUnitOfWork(database), FixedClock(placed), phone_region=None)
    await service.record(
        RecordOrder(
            "o-1",
            CustomerRef(external_id="c-1", profile=ProfileInput(name="A")),
            Decimal("120.00"),
            "CNY",
            placed,
        )
    )
    expires = placed + timedelta(days=365)

    early = await run_daily(lambda: SqlUnitOfWork(database), expires - timedelta(days=31))
    first = await run_daily(lambda: SqlUnitOfWork(database), expires - timedelta(days=30))
    again = await run_daily(lambda: SqlUnitOfWork(database), expires - timedelta(days=29))

    assert (early.expiry_notices, first.expiry_notices, again.expiry_notices) == (0, 1, 0)
    async with database.sessions() as session:
        rows = (
            (await session.execute(select(EventRow).where(EventRow.type == "points.expiring_soon")))
            .scalars()
            .all()
        )
    assert [(r.payload["points"], r.payload["expiresAt"]) for r in rows] == [
        (120, expires.isoformat())
    ]
