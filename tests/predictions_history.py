"""A small purchase history for the prediction tests: buyers whose purchase days
follow a BG/NBD-like process drawn from a fixed seed, so a fit converges and the
numbers repeat. `random_history` writes it straight into the tables
(tests/order_rows.py); API tests record `random_orders` with ordersRecordBulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from persistence.database import Database
from tests.order_rows import add_customer, order_row

START = datetime(2025, 1, 6, 12, tzinfo=UTC)


def random_orders(customers: int = 40, days: int = 540) -> list[tuple[int, datetime, str]]:
    """(buyer number, placed at, amount): each buyer first buys in the first half of
    the span, then again at a rate of their own until they drop out, each spending
    around a level of their own (about 90 on average)."""
    rng = np.random.default_rng(17)
    orders = []
    for number in range(customers):
        day = float(rng.integers(0, days // 2))
        rate = rng.gamma(0.8, 1 / 20)  # purchases per day
        drop = rng.beta(1.0, 3.0)
        scale = rng.gamma(4.0, 1 / 60)  # Gamma-Gamma: each buyer's own spend level
        while day < days:
            orders.append((number, START + timedelta(days=day), f"{rng.gamma(6.0, 1 / scale):.2f}"))
            if rng.random() < drop:
                break
            day += max(1.0, float(rng.exponential(1 / rate)))
    return orders


async def random_history(database: Database, customers: int = 40, days: int = 540) -> list[int]:
    """`random_orders` as rows; the customers' ids in buyer-number order."""
    async with database.sessions() as session:
        ids = [await add_customer(session) for _ in range(customers)]
        for number, placed_at, amount in random_orders(customers, days):
            session.add(order_row(ids[number], placed_at, amount=amount))
        await session.commit()
    return ids
