"""Engines and sessions for the two supported databases.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout; a write transaction starts with ``BEGIN IMMEDIATE`` so two writers never
both read and then fail to upgrade their lock. PostgreSQL uses asyncpg's pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Every table must be registered before the first flush, or a foreign key to a model
# nobody imported yet (customers.tier_id → tiers) cannot be resolved.
import persistence.models  # noqa: F401

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "loyalty_write"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


@dataclass(frozen=True)
class DatabaseLimits:
    """How long a caller may wait for a connection and for one statement.

    The API process connects with its settings' limits (api/settings.py); the CLI,
    the worker and the migrations connect with `UNLIMITED`: a ledger audit or a
    backfill may rightly run for minutes.

    `statement_timeout_ms` is PostgreSQL's `statement_timeout`, set for the whole
    connection as a server setting when it is opened (no round trip per transaction;
    a read's own `SET LOCAL work_mem` is unaffected). SQLite has no equivalent: there
    the request deadline (api/deadline.py) is the only time limit.
    """

    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout_s: float = 30.0
    statement_timeout_ms: int | None = None


UNLIMITED = DatabaseLimits()


def create_engine(
    url: str, *, echo: bool = False, limits: DatabaseLimits = UNLIMITED
) -> AsyncEngine:
    pool = {
        "pool_size": limits.pool_size,
        "max_overflow": limits.max_overflow,
        "pool_timeout": limits.pool_timeout_s,
    }
    if is_sqlite(url):
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **pool
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if limits.statement_timeout_ms:
        connect_args["server_settings"] = {"statement_timeout": str(limits.statement_timeout_ms)}
    return create_async_engine(
        url, echo=echo, pool_pre_ping=True, connect_args=connect_args, **pool
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@dataclass
class Database:
    """One engine and its session factory; created once per process."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(
        cls, url: str, *, echo: bool = False, limits: DatabaseLimits = UNLIMITED
    ) -> Database:
        engine = create_engine(url, echo=echo, limits=limits)
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(url=url, engine=engine, sessions=sessions)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    async def write_session(self) -> AsyncSession:
        """A session whose transaction takes the write lock up front on SQLite."""
        session = self.sessions()
        await session.connection(execution_options={WRITE_OPTION: True})
        return session

    async def dispose(self) -> None:
        await self.engine.dispose()
