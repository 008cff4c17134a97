"""The migration chain is the schema: it matches the models and runs both ways.

Alembic's env.py calls asyncio.run, so its commands run in a worker thread here.
"""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from persistence import migrations
from persistence.database import Database
from persistence.models import metadata


async def differences(url: str) -> list:
    database = Database.connect(url)
    try:
        async with database.engine.connect() as connection:

            def compare(sync_connection) -> list:  # noqa: ANN001
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return compare_metadata(context, metadata)

            return await connection.run_sync(compare)
    finally:
        await database.dispose()


async def table_names(url: str) -> set[str]:
    database = Database.connect(url)
    try:
        async with database.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await database.dispose()


async def test_models_and_migrations_agree(database_url):
    assert await differences(database_url) == []


async def test_downgrade_to_base_then_upgrade_to_head(database_url):
    expected = set(metadata.tables)
    assert expected <= await table_names(database_url)

    await asyncio.to_thread(migrations.downgrade, database_url, "base")
    assert await table_names(database_url) <= {"alembic_version"}

    await asyncio.to_thread(migrations.upgrade, database_url, "head")
    assert expected <= await table_names(database_url)
    assert await differences(database_url) == []
