"""Waiting for the PostgreSQL event horizon in tests.

The events reader (persistence/events.py) shows an event once every transaction that
started writing before it has ended, and transaction ids are shared by every
database on the server. When other test runs use the same server, their CREATE and
DROP DATABASE can hold the horizon back for a moment, so a test that reads events
right after writing them first waits, by retrying, for the transactions that were
running when it called `settle` to end. SQLite needs no wait: a commit is visible at
once to the next reader.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from persistence.database import Database

MAX_POLLS = 100_000


async def settle(database: Database) -> None:
    if database.is_sqlite:
        return
    async with database.engine.connect() as connection:
        # A fresh transaction id: larger than that of every transaction begun so far.
        now = await connection.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        await connection.rollback()
        for _ in range(MAX_POLLS):
            xmin = await connection.scalar(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            )
            await connection.rollback()
            if xmin > now:
                return
            await asyncio.sleep(0)
    raise AssertionError("a transaction older than this test never ended")
