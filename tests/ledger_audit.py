"""The ledger audit as the tests run it: the same two functions `loyalty ledger audit`
calls, so a scenario that passes here passes the operator's check too."""

from __future__ import annotations

from domain.audit import Violation, audit
from persistence.database import Database
from persistence.points import audit_figures


async def ledger_violations(database: Database) -> list[Violation]:
    async with database.sessions() as session:
        return audit(await audit_figures(session))


async def assert_ledger_clean(database: Database) -> None:
    violations = await ledger_violations(database)
    assert violations == [], violations
