"""The one place the two databases' spellings part: which database a session talks
to, and the statements spelled differently on each.

Every dialect switch in persistence/ goes through `is_postgresql` (or a helper
below built on it), so a third database would be added here, not in each area.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import CursorResult, Result, Table
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


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (its cursor's rowcount)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rows_matched needs the result of an UPDATE or DELETE")
    return result.rowcount
