"""`loyalty import customers|orders` from the command line, against a fresh SQLite
file: the summary it prints, the error file, `--map` and `--no-points`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from api.cli import main
from api.settings import get_settings
from persistence.customers import CustomerRow
from persistence.database import Database


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()  # settings are read once per process
    yield url
    get_settings.cache_clear()


async def loyalty(*args: str, exit_code: int = 0) -> Result:
    """Runs the command in a thread: it calls asyncio.run itself."""
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args))
    assert result.exit_code == exit_code, result.output
    return result


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


async def test_import_customers_then_orders_prints_the_summary(database_file, tmp_path):
    await loyalty("migrate")
    members = tmp_path / "members.csv"
    members.write_text(
        "Member No,手机号,姓名\nm-1,13812345678, Ann \nm-2,oops,Bo\n", encoding="utf-8-sig"
    )
    out = await loyalty("import", "customers", str(members), "--map", "Member No=external_id")
    assert "read 2 rows: 1 imported, 0 skipped as already there, 1 refused" in out.output
    assert "refused          1  phone: not a phone number" in out.output
    assert "cleaned          1  phone to E.164" in out.output
    errors = read_text(tmp_path / "members.csv.errors.csv")
    assert errors.splitlines() == [
        "line,reason,message,Member No,手机号,姓名",
        "3,phone: not a phone number,phone 'oops': phone is not a phone number.,m-2,oops,Bo",
    ]

    orders = tmp_path / "orders.csv"
    orders.write_bytes("订单号,会员ID,金额,下单时间\no-1,m-1,¥99,2024年3月5日\n".encode("gb18030"))
    out = await loyalty("import", "orders", str(orders), "--no-points")
    assert "read 1 rows: 1 imported" in out.output
    again = await loyalty("import", "orders", str(orders), "--no-points")
    assert "read 1 rows: 0 imported, 1 skipped as already there, 0 refused" in again.output

    database = Database.connect(database_file)
    try:
        async with database.sessions() as session:
            row = (await session.execute(select(CustomerRow))).scalar_one()
    finally:
        await database.dispose()
    assert (row.external_id, row.phone, row.name, row.orders_count) == (
        "m-1",
        "+8613812345678",
        "Ann",
        1,
    )
    assert row.points_balance == 0  # --no-points


async def test_a_layout_it_cannot_read_is_refused_before_anything_is_written(
    database_file, tmp_path
):
    await loyalty("migrate")
    path = tmp_path / "x.csv"
    path.write_text("Mobile,Name\n138,Ann\n", encoding="utf-8")
    out = await loyalty("import", "customers", str(path), exit_code=1)
    assert "the header row has no column for external_id" in out.output
    out = await loyalty("import", "customers", str(path), "--map", "Mobile", exit_code=2)
    assert "write COLUMN=FIELD" in out.output


async def test_openids_take_their_app_id_from_the_option_and_orders_name_the_customer_by_one(
    database_file, tmp_path
):
    await loyalty("migrate")
    members = tmp_path / "members.csv"
    members.write_text("会员ID,OpenID,POS卡号\nm-1,o-1,8800001\n", encoding="utf-8")
    out = await loyalty("import", "customers", str(members), "--wechat-app", "wxMINI")
    assert "read 1 rows: 1 imported" in out.output

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "订单号,OpenID,POS卡号,金额,下单时间\no-1,o-1,,10,2025-01-01\no-2,,8800001,20,2025-01-02\n",
        encoding="utf-8",
    )
    out = await loyalty("import", "orders", str(orders), "--wechat-app", "wxMINI")
    assert "read 2 rows: 2 imported, 0 skipped as already there, 0 refused" in out.output
    out = await loyalty("import", "orders", str(orders), "--wechat-app", "wxOTHER")
    assert "read 2 rows: 0 imported, 1 skipped as already there, 1 refused" in out.output
    assert "customer_wechat_openid: NOT_FOUND" in out.output
