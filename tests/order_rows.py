"""Customers and orders written straight into the tables, for tier tests.

The tier rules read the orders table; these rows stand in for what `orderRecord`
writes, so tier tests pin the tier rules and nothing else.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from persistence.customers import CustomerRow
from persistence.orders import OrderRow

_numbers = itertools.count(1)


def order_row(
    customer_id: int,
    placed_at: datetime,
    *,
    points: int = 0,
    amount: Decimal | str = "100.00",
    refunded: Decimal | str = "0",
    points_reversed: int = 0,
) -> OrderRow:
    number = next(_numbers)
    return OrderRow(
        customer_id=customer_id,
        external_id=f"order-{number}",
        amount=Decimal(amount),
        refunded_amount=Decimal(refunded),
        currency="CNY",
        placed_at=placed_at,
        channel="test",
        award_points=True,
        points_earned=points,
        points_reversed=points_reversed,
        request_hash=f"hash-{number}",
        created_at=placed_at,
    )


async def add_customer(session: AsyncSession, external_id: str | None = None) -> int:
    now = datetime.now(UTC)
    row = CustomerRow(
        external_id=external_id or f"customer-{next(_numbers)}",
        attributes={},
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id
