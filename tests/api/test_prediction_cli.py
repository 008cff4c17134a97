"""`loyalty predict fit` and `loyalty predict calibrate`, and the daily pass's fit,
against a fresh SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from api.settings import get_settings
from persistence.database import Database
from tests.predictions_history import random_history


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


async def loyalty(*args: str, exit_code: int = 0) -> Result:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    assert result.exit_code == exit_code, result.output
    return result


async def test_fit_calibrate_and_the_daily_pass(database_file):
    await loyalty("migrate")
    empty = await loyalty("predict", "fit", "--as-of", "2026-06-30", exit_code=1)
    assert "prediction fit failed (no customers with a purchase" in empty.output
    assert "the previous fit stays in use" in empty.output

    database = Database.connect(database_file)
    await random_history(database)
    await database.dispose()

    fitted = (await loyalty("predict", "fit", "--as-of", "2026-01-01")).output
    assert "prediction fit over 40 buyers" in fitted and "spend p=" in fitted

    report = (
        await loyalty("predict", "calibrate", "--cutoff", "2026-01-01", "--holdout-days", "150")
    ).output
    assert "40 buyers, holdout of 150 days: predicted" in report
    assert report.splitlines()[2].split()[0] == "0"  # the first row: no repeat purchase

    future = await loyalty(
        "predict", "calibrate", "--cutoff", "2030-01-01", "--holdout-days", "30", exit_code=1
    )
    assert "after now" in future.output

    daily = (await loyalty("jobs", "run-daily", "--as-of", "2026-06-30")).output
    assert "prediction fit over 40 buyers" in daily
    again = (await loyalty("jobs", "run-daily", "--as-of", "2026-06-30T18:00:00")).output
    assert "prediction fit" not in again  # once per program-local day
