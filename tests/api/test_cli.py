"""The `loyalty` command line, against a fresh SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from api.app import create_app
from api.cli import main
from api.settings import Settings, get_settings
from persistence.database import Database
from persistence.orders import CustomerMonthRow
from tests.conftest import GraphQLClient
from tests.order_rows import add_customer, order_row


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()  # settings are read once per process
    yield url
    get_settings.cache_clear()


async def loyalty(*args: str) -> Result:
    """Runs the command in a thread: it calls asyncio.run itself."""
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    assert result.exit_code == 0, result.output
    return result


async def test_created_key_authenticates(database_file):
    await loyalty("migrate")
    result = await loyalty("apikey", "create", "--role", "admin", "--name", "ops laptop")
    secret = result.output.strip()
    assert secret.startswith("lg_")

    app = create_app(Settings(DATABASE_URL=database_file))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cli") as http:
        data = await GraphQLClient(http, secret)("{ apiKeys { name role } }")
        await app.state.database.dispose()
    assert data["apiKeys"] == [{"name": "ops laptop", "role": "ADMIN"}]

    listed = (await loyalty("apikey", "list")).output
    assert "ops laptop" in listed and "ADMIN" in listed and "active" in listed
    assert secret not in listed
    await loyalty("apikey", "revoke", "1")
    assert "revoked" in (await loyalty("apikey", "list")).output


async def test_demo_seeds_once_and_prints_a_working_key(database_file):
    await loyalty("migrate")
    first = (await loyalty("demo")).output
    second = (await loyalty("demo")).output
    assert "seeded a demo program" in first
    assert "seeded" not in second
    old_key, new_key = (
        next(line.split()[-1] for line in out.splitlines() if "Admin key" in line)
        for out in (first, second)
    )

    app = create_app(Settings(DATABASE_URL=database_file))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cli") as http:
        data = await GraphQLClient(http, new_key)(
            "{ customers { totalCount } tags { edges { node { name customerCount } } } }"
        )
        old = await GraphQLClient(http, old_key).raw("{ customers { totalCount } }")
        await app.state.database.dispose()
    assert data["customers"]["totalCount"] == 4
    assert {e["node"]["name"]: e["node"]["customerCount"] for e in data["tags"]["edges"]} == {
        "VIP": 2,
        "newsletter": 3,
    }
    assert old["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # the last demo key


def test_unknown_role_is_refused():
    result = CliRunner().invoke(main, ["apikey", "create", "--role", "root", "--name", "x"])
    assert result.exit_code == 2
    assert "root" in result.output


def test_demo_in_a_fresh_process(tmp_path: Path):
    """What `make run` does, each step a new interpreter: nothing may rely on a
    module that an earlier step (or another test) happened to import."""
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}
    for step in ("migrate", "demo"):
        done = subprocess.run(
            [sys.executable, "-m", "api.cli", step],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "Admin key: lg_" in done.stdout


async def test_worker_runs_the_daily_pass_by_hand_and_one_round(database_file):
    await loyalty("migrate")
    by_hand = (await loyalty("worker", "--as-of", "2027-02-28")).output
    assert "daily pass as of 2027-02-28T00:00:00+00:00" in by_hand
    # By hand means whether or not that day already ran; the claim is recorded.
    assert "daily pass as of" in (await loyalty("worker", "--as-of", "2027-02-28")).output
    await loyalty("worker", "--once")  # one round (today's pass included) and exit
    from sqlalchemy import create_engine, text

    engine = create_engine(database_file.replace("+aiosqlite", ""))
    with engine.connect() as connection:
        days = connection.execute(text("SELECT day FROM worker_days ORDER BY day")).scalars()
        assert "2027-02-28" in list(days)
    engine.dispose()


async def test_readmodel_rebuild_files_orders_loaded_around_the_api(database_file):
    await loyalty("migrate")
    database = Database.connect(database_file)
    try:
        async with database.sessions() as session:  # an import that skipped the services
            customer = await add_customer(session)
            session.add(order_row(customer, datetime(2026, 3, 5, tzinfo=UTC)))
            session.add(order_row(customer, datetime(2026, 4, 5, tzinfo=UTC)))
            await session.commit()

        result = await loyalty("readmodel", "rebuild")
        # Two months and the year they are in.
        assert result.output.strip() == "read model rebuilt in UTC: 3 rows"
        async with database.sessions() as session:
            months = await session.execute(
                select(CustomerMonthRow.months, func.sum(CustomerMonthRow.orders_count))
                .group_by(CustomerMonthRow.months)
                .order_by(CustomerMonthRow.months)
            )
            assert months.all() == [(1, 2), (12, 2)]
    finally:
        await database.dispose()
