"""A small purchase history for the prediction tests, written straight into the
tables (tests/order_rows.py): buyers whose purchase days follow a BG/NBD-like
process drawn from a fixed seed, so a fit converges and the numbers repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from persistence.database import Database
from tests.order_rows import add_customer, order_row

START = datetime(2025, 1, 6, 12, tzinfo=UTC)


async def random_history(database: Database, customers: int = 40, days: int = 540) -> list[int]:
    """`customers` buyers, each first buying in the first half of the span, then
    buying again at a rate of their own until they drop out, each spending around a
    level of their own (about 90 on average)."""
    rng = np.random.default_rng(17)
    ids = []
    async with database.sessions() as session:
        for _ in range(customers):
            customer = await add_customer(session)
            ids.append(customer)
            day = float(rng.integers(0, days // 2))
            rate = rng.gamma(0.8, 1 / 20)  # purchases per day
            drop = rng.beta(1.0, 3.0)
            scale = rng.gamma(4.0, 1 / 60)  # Gamma-Gamma: each buyer's own spend level
            while day < days:
                amount = f"{rng.gamma(6.0, 1 / scale):.2f}"
                session.add(order_row(customer, START + timedelta(days=day), amount=amount))
                if rng.random() < drop:
                    break
                day += max(1.0, float(rng.exponential(1 / rate)))
        await session.commit()
    return ids
