"""Engines and sessions for the two supported databases.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy
timeout; a write transaction starts with ``BEGIN IMMEDIATE`` so two writers never
both read and then fail to upgrade their lock. PostgreSQL uses asyncpg's pool.

Round trips are most of a short read's cost on PostgreSQL (docs/performance.md), so:

- no pre-ping (`SELECT 1`) on every checkout. A connection PostgreSQL dropped is
  found by the statement that uses it: SQLAlchemy recognises the disconnect,
  invalidates that connection and every older one in the pool, and the next checkout
  connects afresh, so one request per server restart fails instead of every request
  paying a round trip. `pool_recycle` replaces connections older than 30 minutes,
  before a firewall or a pgbouncer `server_lifetime` closes them under us.
- read sessions (`Database.reads`) run in autocommit: no `BEGIN` before their
  statements and no `ROLLBACK` after. Under PostgreSQL's READ COMMITTED each
  statement takes its own snapshot whether or not it is inside a transaction, so a
  read session sees exactly what it saw before; only `write_session()`/the unit of
  work needs a transaction. Nothing may write or lock (`FOR UPDATE`) through `reads`.
  asyncpg keeps a prepared-statement cache per connection either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_OPTION = "loyalty_write"
POOL_RECYCLE_SECONDS = 1800


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
    the request deadline (api/app.py) is the only time limit.
    """

    pool_size: int = 10
    max_overflow: int = 20
    pool_timeout_s: float = 30.0
    statement_timeout_ms: int | None = None


UNLIMITED = DatabaseLimits()


def _json_dumps(value: Any) -> str:
    """JSON columns (event payloads, attributes) written with orjson: several times
    faster than json.dumps, which an order batch pays per event. Non-ASCII text is
    kept as UTF-8 rather than escaped; both read back the same."""
    return orjson.dumps(value).decode()


JSON_CODECS: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def create_engine(
    url: str, *, echo: bool = False, limits: DatabaseLimits = UNLIMITED
) -> AsyncEngine:
    # Every table must be registered before the first flush, or a foreign key to a
    # model nobody imported yet (customers.tier_id → tiers) cannot be resolved.
    from persistence.repositories import import_areas

    import_areas()
    pool = {
        "pool_size": limits.pool_size,
        "max_overflow": limits.max_overflow,
        "pool_timeout": limits.pool_timeout_s,
    }
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **JSON_CODECS,
            **pool,
        )
        _configure_sqlite(engine)
        return engine
    # No JIT: it compiles a plan whose estimated cost is high (an array of 5,000
    # keys unnested looks expensive to the planner) at 15–30 ms a statement, for
    # statements that then run in milliseconds (docs/performance.md). The analytical
    # reads rely on it too.
    settings = {"jit": "off"}
    if limits.statement_timeout_ms:
        settings["statement_timeout"] = str(limits.statement_timeout_ms)
    connect_args: dict[str, Any] = {"server_settings": settings}
    return create_async_engine(
        url,
        echo=echo,
        pool_recycle=POOL_RECYCLE_SECONDS,
        connect_args=connect_args,
        **JSON_CODECS,
        **pool,
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
    reads: async_sessionmaker[AsyncSession]
    """Sessions for reads only: autocommit on PostgreSQL (no BEGIN/ROLLBACK round
    trips), the same as `sessions` on SQLite, where BEGIN costs no round trip."""

    @classmethod
    def connect(
        cls, url: str, *, echo: bool = False, limits: DatabaseLimits = UNLIMITED
    ) -> Database:
        engine = create_engine(url, echo=echo, limits=limits)
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        reads = sessions
        if not is_sqlite(url):
            autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            reads = async_sessionmaker(autocommit, expire_on_commit=False, autoflush=False)
        return cls(url=url, engine=engine, sessions=sessions, reads=reads)

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
