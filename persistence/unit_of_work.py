"""The unit of work: the only place a transaction commits.

`async with uow:` opens a write transaction (``BEGIN IMMEDIATE`` on SQLite), the
service asks for repositories (``uow.repo(ORDERS)``), loads with locks, changes, and
calls ``commit()``; leaving the block without committing rolls everything back, so
a refused command writes nothing.

Repositories are not listed here: each persistence area registers its own
(persistence/repositories.py), and a transaction builds one the first time it is
asked for it. Why the typed accessor rather than attributes: see domain/unit_of_work.py.

A lost unique-key race (one way, for every area): the insert simply fails with the
database's unique violation, recognised here by its code (SQLSTATE 23505 from
PostgreSQL, SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY from SQLite), never by message
text; it leaves the block as `ConcurrentWrite`, and the service runs the whole
transaction again with `domain.idempotency.retrying`, which then sees the winner's row.
A deadlock PostgreSQL broke (SQLSTATE 40P01) leaves the same way and is run again too.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import ConcurrentWrite
from domain.program import ProgramSettings
from domain.unit_of_work import Port, UnitOfWorkFactory
from persistence.database import Database
from persistence.repositories import Transaction, builder, import_areas

R = TypeVar("R")

UNIQUE_VIOLATION_SQLSTATE = "23505"
DEADLOCK_SQLSTATE = "40P01"
SQLITE_UNIQUE_CODES = frozenset(
    {sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY}
)


class SqlUnitOfWork:
    session: AsyncSession

    def __init__(
        self,
        database: Database,
        program_defaults: ProgramSettings | None = None,
        *,
        reading: bool = False,
    ) -> None:
        """`reading`: a transaction that only reads (a preview): a plain BEGIN on
        SQLite, so it does not queue behind writers for the write lock, and no
        `commit()`."""
        import_areas()
        self.database = database
        self.program_defaults = program_defaults or ProgramSettings()
        self.reading = reading
        self._repositories: dict[Port[Any], Any] = {}

    def repo(self, port: Port[R]) -> R:
        """The transaction's repository behind `port`, built on first use."""
        found = self._repositories.get(port)
        if found is None:
            found = builder(port)(Transaction(self.session, self.program_defaults))
            self._repositories[port] = found
        return found  # stored under its own port, so it is an R

    async def __aenter__(self) -> SqlUnitOfWork:
        if self.reading:
            self.session = self.database.sessions()
        else:
            self.session = await self.database.write_session()
        self._repositories = {}
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        exc = exc_info[1] if len(exc_info) > 1 else None
        try:
            await self.session.rollback()
        finally:
            await self.session.close()
            self._repositories = {}
        if isinstance(exc, IntegrityError) and is_unique_violation(exc):
            raise ConcurrentWrite(str(exc.orig)) from exc
        if isinstance(exc, DBAPIError) and is_deadlock(exc):
            raise ConcurrentWrite(str(exc.orig)) from exc

    async def commit(self) -> None:
        if self.reading:
            raise RuntimeError("a reading unit of work does not commit")
        await self.session.commit()


def is_unique_violation(exc: IntegrityError) -> bool:
    """A unique or primary-key violation, by the driver's code: asyncpg's error
    carries the SQLSTATE (SQLAlchemy copies it to ``sqlstate``), sqlite3's the
    extended result code."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == UNIQUE_VIOLATION_SQLSTATE:
        return True
    cause = orig.__cause__ if orig is not None else None
    for error in (orig, cause):
        if getattr(error, "sqlite_errorcode", None) in SQLITE_UNIQUE_CODES:
            return True
    return False


def is_deadlock(exc: DBAPIError) -> bool:
    """PostgreSQL broke a lock cycle by failing this transaction (SQLSTATE 40P01).
    Two writes that lock the same rows by different paths (say a coupon issue that
    locks the customer, then the template, beside a bulk issue holding the template
    and checking the customer's key) can meet that way; running the loser again, as
    for a lost unique race, is what PostgreSQL's documentation advises."""
    return getattr(exc.orig, "sqlstate", None) == DEADLOCK_SQLSTATE


def unit_of_work_factory(
    database: Database, program_defaults: ProgramSettings | None = None
) -> UnitOfWorkFactory:
    """A factory services take (domain.unit_of_work says why a factory). Typed with
    the domain's port, so mypy checks here that `SqlUnitOfWork` satisfies it."""
    return lambda: SqlUnitOfWork(database, program_defaults)
