"""Read sessions (`Database.reads`): on PostgreSQL they run in autocommit, so a short
read costs no BEGIN/ROLLBACK round trips, while analytical reads still get their own
transaction for `SET LOCAL` and leave nothing behind on the pooled connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from persistence.database import Database
from persistence.metrics import ANALYTICS_WORK_MEM, analytical_read


def postgres_only(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite reads keep BEGIN: it costs no round trip there")


async def test_a_read_session_runs_each_statement_in_its_own_transaction(database):
    postgres_only(database)
    xid = text("SELECT txid_current()")  # assigns an id to the current transaction
    async with database.reads() as session:
        first = (await session.execute(xid)).scalar_one()
        assert (await session.execute(xid)).scalar_one() != first
    async with database.sessions() as session:  # the transactional kind, for contrast
        first = (await session.execute(xid)).scalar_one()
        assert (await session.execute(xid)).scalar_one() == first


async def test_an_analytical_read_gets_a_transaction_and_leaves_no_setting_behind(database):
    postgres_only(database)
    default = None
    async with database.reads() as session:
        default = (await session.execute(text("SHOW work_mem"))).scalar_one()
    assert default != ANALYTICS_WORK_MEM
    async with database.reads() as session:
        await analytical_read(session)
        assert (await session.execute(text("SHOW work_mem"))).scalar_one() == ANALYTICS_WORK_MEM
        assert (await session.execute(text("SHOW jit"))).scalar_one() == "off"
    for _ in range(3):  # whichever pooled connection comes next
        async with database.reads() as session:
            assert (await session.execute(text("SHOW work_mem"))).scalar_one() == default
