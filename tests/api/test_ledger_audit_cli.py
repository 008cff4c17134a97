"""`loyalty jobs run-daily` and `loyalty ledger audit` as an operator runs them: clean
after real traffic, and loud (exit code 1) when a balance no longer matches its ledger."""

import asyncio

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from api.cli import main
from api.settings import get_settings
from persistence.customers import CustomerRow
from tests.api.ledger_calls import ADJUST, RECORD, adjust_input, order_input
from tests.conftest import utc


@pytest.fixture
def loyalty(monkeypatch, database_url):  # noqa: ANN001, ANN201
    """Runs the `loyalty` command against the test database, in a thread of its own
    (the command runs its own event loop)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()

    async def run(*args: str):  # noqa: ANN202
        return await asyncio.to_thread(CliRunner().invoke, main, list(args))

    yield run
    get_settings.cache_clear()


async def test_audit_is_clean_after_traffic_and_catches_a_tampered_balance(
    gql, database, loyalty, clock
):
    clock.at = utc(2026, 6, 1)
    data = await gql(
        RECORD, {"input": order_input("o-1", "120.00", placed_at="2026-05-01T00:00:00+00:00")}
    )
    customer_id = data["orderRecord"]["customer"]["id"]
    await gql(ADJUST, {"input": adjust_input(customer_id, -20, "a-1")})

    job = await loyalty("jobs", "run-daily", "--as-of", "2027-05-01T00:00:00")
    assert job.exit_code == 0, job.output
    assert "1 lots expired (100 points)" in job.output
    clean = await loyalty("ledger", "audit")
    assert clean.exit_code == 0, clean.output
    assert "audited 1 customers: 0 violations" in clean.output

    async with database.sessions() as session:
        await session.execute(update(CustomerRow).values(points_balance=5))
        await session.commit()
    broken = await loyalty("ledger", "audit")
    assert broken.exit_code == 1
    assert "balance 5 ≠ Σ entries 0" in broken.output


async def test_run_daily_prints_the_trigger_counts_and_a_second_run_raises_nothing(gql, loyalty):
    data = await gql(
        """mutation($input: CustomerUpsertInput!) {
          customerUpsert(input: $input) { userErrors { code } } }""",
        {"input": {"externalId": "bday", "birthday": "1992-02-29"}},
    )
    assert data["customerUpsert"]["userErrors"] == []

    first = await loyalty("jobs", "run-daily", "--as-of", "2027-02-28T08:00:00")
    again = await loyalty("jobs", "run-daily", "--as-of", "2027-02-28T20:00:00")

    assert first.exit_code == 0, first.output
    assert (
        "1 birthdays, 0 repurchase reminders, 0 lifecycle changes, "
        "0 segment entries, 0 segment exits" in first.output
    )
    assert again.exit_code == 0, again.output
    assert "0 birthdays" in again.output
