"""Statements that need a different spelling per database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignoring_duplicates(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns how many rows were new.

    Counted with RETURNING rather than the cursor's rowcount: a many-row insert is
    an executemany, and asyncpg reports no rowcount for those (it read 0 on
    PostgreSQL). SQLAlchemy batches the rows into multi-VALUES statements.
    """
    if not rows:
        return 0
    dialect = session.bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    result = await session.execute(statement, list(rows))
    return len(result.all())
