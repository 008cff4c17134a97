"""Fresh databases for tests, each built by `alembic upgrade head`.

The chain runs once per session into a template (a file for SQLite, a template
database for PostgreSQL); each test then gets a copy of that template, which is the
same as upgrading from scratch but takes milliseconds.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from persistence.migrations import upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.template = directory / "template.db"
        upgrade(sqlite_url(self.template))

    def fresh(self) -> str:
        path = self.directory / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self.template, path)
        return sqlite_url(path)


class PostgresTemplate:
    """Template database on the server named by TEST_DATABASE_URL."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.base = self.url.database or "loyalty_test"
        self.template = f"{self.base}_template_{os.getpid()}"

    def _dsn(self, database: str) -> str:
        u = self.url.set(drivername="postgresql", database=database)
        return u.render_as_string(hide_password=False)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn("postgres"))

    async def create_template(self) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{self.template}"')
        finally:
            await admin.close()

    def upgrade_template(self) -> None:
        upgrade(self.url.set(database=self.template).render_as_string(hide_password=False))

    async def fresh(self) -> tuple[str, str]:
        name = f"{self.base}_{uuid.uuid4().hex[:12]}"
        admin = await self._admin()
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        finally:
            await admin.close()
        return name, self.url.set(database=name).render_as_string(hide_password=False)

    async def drop(self, name: str) -> None:
        admin = await self._admin()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    async def drop_template(self) -> None:
        await self.drop(self.template)
