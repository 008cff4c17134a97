"""The one place the two databases' spellings part: which database a session talks
to, and the statements spelled differently on each.

Every dialect switch in persistence/ goes through `is_postgresql` (or a helper
below built on it), so a third database would be added here, not in each area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Result, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

POSTGRESQL = "postgresql"


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgresql(session: AsyncSession) -> bool:
    return dialect_name(session) == POSTGRESQL


async def insert_ignoring_duplicates(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns how many rows were new.

    For rows whose existence is the point (a tag already on a customer), not for
    unique-key races, which fail and are retried (persistence/unit_of_work.py).
    Counted with RETURNING rather than the cursor's rowcount: a many-row insert is
    an executemany, and asyncpg reports no rowcount for those (it read 0 on
    PostgreSQL). SQLAlchemy batches the rows into multi-VALUES statements.
    """
    if not rows:
        return 0
    if is_postgresql(session):
        statement = (
            postgresql.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        )
    else:
        statement = (
            sqlite.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        )
    result = await session.execute(statement, list(rows))
    return len(result.all())


async def insert_returning_ids(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Inserts the rows in a few multi-row statements and returns their new ids in
    the rows' order.

    PostgreSQL: SQLAlchemy's `sort_by_parameter_order` form, which stays batched and
    ties each returned id to its row. SQLite: that option makes SQLAlchemy fall back
    to one INSERT per row, so the rows go in as plain multi-row INSERTs; the writer
    holds the database's write lock (BEGIN IMMEDIATE) and SQLite numbers the rows of
    a VALUES list one after the other, so the ids, sorted, are the rows' ids in order.
    """
    if not rows:
        return []
    (key,) = table.primary_key.columns
    if is_postgresql(session):
        statement = insert(table).returning(key, sort_by_parameter_order=True)
        return [row[0] for row in (await session.execute(statement, list(rows))).all()]
    result = await session.execute(insert(table).returning(key), list(rows))
    ids = sorted(row[0] for row in result.all())
    if len(ids) != len(rows) or ids[-1] - ids[0] != len(ids) - 1:
        raise AssertionError("SQLite numbered a batch of rows out of sequence")
    return ids


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (its cursor's rowcount)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rows_matched needs the result of an UPDATE or DELETE")
    return result.rowcount
