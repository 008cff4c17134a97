"""Times the daily triggers (domain/daily_triggers.py) on a generated history.

    .venv/bin/python -m bench.daily_triggers [--customers 200000] [--orders 1000000]

Builds a fresh SQLite file with `alembic upgrade head`, inserts the history of
bench/classification.py, gives every customer a birthday and tracks two segments,
then runs the triggers on consecutive local days (the first is the baseline: every
stage and both snapshots stored) and prints each day's time and counts. Prints
figures only; it never passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import update

from bench.classification import AS_OF, fill
from domain.clock import FixedClock
from domain.daily_triggers import run_triggers
from domain.program import ProgramSettings
from domain.segments import CreateSegment, SegmentService
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.migrations import upgrade
from persistence.unit_of_work import SqlUnitOfWork

BATCH = 20_000


async def birthdays(database: Database, customers: int) -> None:
    rng = random.Random(2)
    async with database.sessions() as session:
        for start in range(1, customers + 1, BATCH):
            rows = [
                {"id": i, "birthday": date(1970, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))}
                for i in range(start, min(customers + 1, start + BATCH))
            ]
            await session.execute(update(CustomerRow), rows)  # by primary key
        await session.commit()


async def run(customers: int, orders: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-daily-"))
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database.connect(url)
    try:
        began = time.perf_counter()
        await fill(database, customers, orders)
        await birthdays(database, customers)
        print(f"sqlite: {customers} customers, {orders} orders")
        print(f"  {'(generate and insert)':<28} {time.perf_counter() - began:9.1f} s")
        factory = lambda: SqlUnitOfWork(database)  # noqa: E731
        segments = SegmentService(factory, FixedClock(AS_OF))
        await segments.create(CreateSegment("Big", "total_spent >= 500", tracked=True))
        await segments.create(CreateSegment("Silent", "lifecycle = SILENT", tracked=True))
        for offset in range(4):
            as_of = AS_OF + timedelta(days=offset, hours=1)
            began = time.perf_counter()
            counts = await run_triggers(factory, ProgramSettings(), as_of)
            elapsed = time.perf_counter() - began
            print(f"  {as_of.date()}: {elapsed:6.1f} s  {counts}")
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.orders))


if __name__ == "__main__":
    main()
