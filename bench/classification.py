"""Times the lifecycle and RFM read models on a generated history.

    .venv/bin/python -m bench.classification [--customers 200000] [--orders 1000000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/loyalty_bench]

Builds a fresh SQLite file (and a fresh PostgreSQL database when --postgres is given)
with `alembic upgrade head`, inserts the history, refreshes every customer's stored
order statistics as `orderRecord` would, runs ANALYZE, then prints the time of each
read. Orders are placed up to 30 days after AS_OF, so reads as of AS_OF must aggregate
the orders of the customers who bought since; reads as of NOW (after the newest order)
take the stored statistics. With --reuse-postgres the PostgreSQL database is timed as
it is (filled by an earlier run), to compare two versions of the code on one history.
Prints figures only; it never passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from domain.program import ProgramSettings, RfmCut
from persistence import classification as reads
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.migrations import upgrade
from persistence.orders import OrderRow, refresh_every_customer_stats

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
NOW = AS_OF + timedelta(days=31)
BATCH = 20_000


async def fill(database: Database, customers: int, orders: int) -> None:
    rng = random.Random(1)
    created = datetime(2020, 1, 1, tzinfo=UTC)
    async with database.sessions() as session:
        for start in range(0, customers, BATCH):
            await session.execute(
                insert(CustomerRow),
                [
                    {
                        "external_id": f"c{i}",
                        "attributes": {},
                        "created_at": created,
                        "updated_at": created,
                    }
                    for i in range(start, min(customers, start + BATCH))
                ],
            )
        await session.commit()
        amounts = [Decimal(a) for a in ("9.90", "19.90", "59.00", "128.00", "399.00")]
        for start in range(0, orders, BATCH):
            rows = []
            for i in range(start, min(orders, start + BATCH)):
                amount = rng.choice(amounts)
                placed = AS_OF - timedelta(seconds=rng.randint(-86400 * 30, 86400 * 730))
                rows.append(
                    {
                        "customer_id": rng.randint(1, customers),
                        "external_id": f"o{i}",
                        "amount": amount,
                        "refunded_amount": amount if rng.random() < 0.05 else Decimal(0),
                        "currency": "CNY",
                        "placed_at": placed,
                        "award_points": True,
                        "points_earned": 0,
                        "points_reversed": 0,
                        "request_hash": "bench",
                        "created_at": placed,
                    }
                )
            await session.execute(insert(OrderRow), rows)
        await session.commit()
        await session.execute(refresh_every_customer_stats())
        await session.commit()
        await session.execute(text("ANALYZE"))
        await session.commit()


async def timed(label: str, database: Database, read, *args) -> None:  # noqa: ANN001
    best = float("inf")
    for _ in range(3):
        async with database.sessions() as session:
            began = time.perf_counter()
            await read(session, *args)
            best = min(best, time.perf_counter() - began)
    print(f"  {label:<44} {best * 1000:9.0f} ms (best of 3)")


async def run(url: str, customers: int, orders: int, *, reuse: bool = False) -> None:
    if not reuse:
        await asyncio.to_thread(upgrade, url)
    database = Database.connect(url)
    try:
        began = time.perf_counter()
        if not reuse:
            await fill(database, customers, orders)
        print(f"{make_url(url).get_backend_name()}: {customers} customers, {orders} orders")
        print(f"  {'(generate and insert)':<44} {time.perf_counter() - began:9.1f} s")
        mean, median = ProgramSettings(), ProgramSettings(rfm_cut=RfmCut.MEDIAN)
        page = list(range(1, 51))
        print(f"  as of {NOW.date()} (after the newest order):")
        await timed("lifecycleSummary", database, reads.lifecycle_summary, NOW, mean)
        await timed("rfmSummary (mean)", database, reads.rfm_summary, NOW, None, mean)
        await timed("rfmSummary (median)", database, reads.rfm_summary, NOW, None, median)
        await timed(
            "50 customers' lifecycleStage (one batch)",
            database,
            reads.lifecycle_stages,
            [(i, NOW) for i in page],
            mean,
        )
        await timed(
            "50 customers' rfm (one batch)",
            database,
            reads.customer_rfms,
            [(i, NOW, None) for i in page],
            mean,
        )
        print(f"  as of {AS_OF.date()} (some customers bought after it):")
        await timed("lifecycleSummary", database, reads.lifecycle_summary, AS_OF, mean)
        await timed("rfmSummary (mean)", database, reads.rfm_summary, AS_OF, None, mean)
        await timed("rfmSummary (median)", database, reads.rfm_summary, AS_OF, None, median)
        await timed("rfmSummary (lookback 365 days)", database, reads.rfm_summary, AS_OF, 365, mean)
        await timed(
            "50 customers' lifecycleStage (one batch)",
            database,
            reads.lifecycle_stages,
            [(i, AS_OF) for i in page],
            mean,
        )
        await timed(
            "50 customers' rfm (one batch)",
            database,
            reads.customer_rfms,
            [(i, AS_OF, None) for i in page],
            mean,
        )

        async def full_scan(session) -> None:  # noqa: ANN001
            query = reads.classification_query(AS_OF, mean).subquery()
            await session.execute(select(query.c.rfm_class).limit(1))

        await timed("classification_query, first row", database, full_scan)
    finally:
        await database.dispose()


async def fresh_postgres(url: str) -> None:
    u = make_url(url)
    admin = await asyncpg.connect(
        u.set(drivername="postgresql", database="postgres").render_as_string(False)
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--postgres", help="a PostgreSQL URL; its database is recreated")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--reuse-postgres", action="store_true", help="time it as it is")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            asyncio.run(run(url, args.customers, args.orders))
    if args.postgres:
        if not args.reuse_postgres:
            asyncio.run(fresh_postgres(args.postgres))
        asyncio.run(run(args.postgres, args.customers, args.orders, reuse=args.reuse_postgres))


if __name__ == "__main__":
    main()
