"""Builds order histories for read-model tests by inserting rows directly.

Analytics tests need histories that no API call could produce quickly (orders placed
months before "now", refunds of any size); the rows are what `orderRecord` and
`orderRefund` leave behind, the customers' stored order statistics included (the
read models take them instead of the orders, as of now).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.orders import OrderRow, SqlOrderRepository

CREATED = datetime(2020, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Order:
    customer: str
    placed_at: datetime
    amount: Decimal | str | int
    refunded: Decimal | str | int = 0


async def build_history(
    database: Database, customers: list[str], orders: list[Order], *, erased: set[str] = frozenset()
) -> dict[str, int]:
    """Inserts the customers (by external id) and their orders; returns external id -> id."""
    async with database.sessions() as session:
        rows = {
            name: CustomerRow(
                external_id=name,
                attributes={},
                created_at=CREATED,
                updated_at=CREATED,
                erased_at=CREATED if name in erased else None,
            )
            for name in customers
        }
        session.add_all(rows.values())
        await session.flush()
        ids = {name: row.id for name, row in rows.items()}
        session.add_all(
            OrderRow(
                customer_id=ids[o.customer],
                external_id=f"order-{next(_numbers)}",
                amount=Decimal(o.amount),
                refunded_amount=Decimal(o.refunded),
                currency="CNY",
                placed_at=o.placed_at,
                channel=None,
                award_points=True,
                points_earned=0,
                points_reversed=0,
                request_hash="test",
                created_at=o.placed_at,
            )
            for o in orders
        )
        await session.flush()
        for customer_id in ids.values():
            await SqlOrderRepository(session).refresh_customer_stats(customer_id)
        await SqlOrderRepository(session).refresh_order_months(
            [(ids[o.customer], o.placed_at) for o in orders]
        )
        await session.commit()
    return ids
