"""`loyalty import` at size, beside the floor of loading the same rows plainly.

    python -m bench.import            # small size: 20,000 orders over 2,000 customers
    python -m bench.import --full     # the issue's 1,000,000 orders over 100,000 customers
    python -m bench.import --only sqlite|postgres  [--postgres-url URL]
    BENCH_ORDERS=100000 BENCH_CUSTOMERS=10000 python -m bench.import   # another size

What runs. A customers file and an orders file are generated in a temp dir (never
committed; removed at the end), in the shapes a shop's export has them: Chinese
headers, phones with blanks, `¥1,299.00` amounts, `2024/3/5 14:30` and
`2024年3月5日` dates. For each database (SQLite in the temp dir; PostgreSQL in
databases `loyalty_bench_import_<pid>_<n>` created on --postgres-url's server and
dropped at the end), two fresh databases are migrated and each gets the customers
(`loyalty import customers`); then one gets the orders with `--no-points`, the other
with points (the program's defaults: earn rate 1, default tiers not created). Each
import is the real command in a subprocess, timed from start to exit; its peak
resident memory is the child's `ru_maxrss` (os.wait4).

The floor: the same order rows read from the same CSV file with Python's csv module
and loaded into a table of the same five columns with a unique externalId, by COPY
(asyncpg `copy_records_to_table`, PostgreSQL) or one `executemany` in one
transaction (sqlite3, SQLite). No cleaning, no customer look-up, no statistics, no
points: what moving the bytes into the database costs on this machine.

Figures are printed, never asserted: benchmarks are not tests. Only ratios travel
between machines; on a shared machine even they wobble.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench.api import asyncpg_dsn, create_pg, drop_pg
from persistence.migrations import upgrade

TARGETS = {  # orders/s into PostgreSQL; SQLite's is half (issue 14)
    "--no-points": 20_000,
    "with points": 5_000,
}
RSS_TARGET_MB = 500


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    orders: int


SMALL = Size("small", 2_000, 20_000)
FULL = Size("full", 100_000, 1_000_000)


def generate(workdir: Path, size: Size, seed: int = 14) -> tuple[Path, Path]:
    rng = random.Random(seed)
    customers = workdir / "customers.csv"
    orders = workdir / "orders.csv"
    with customers.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["外部ID", "手机号", "姓名", "邮箱"])
        for i in range(size.customers):
            phone = f"1{rng.randint(30, 89)} {rng.randint(0, 9999):04d} {i % 10000:04d}"
            out.writerow([f"m-{i}", phone, f" 会员{i} ", f"M{i}@Example.com"])
    end = datetime.now(UTC) - timedelta(days=1)
    with orders.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["订单号", "会员ID", "金额", "下单时间", "渠道"])
        for i in range(size.orders):
            placed = end - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
            amount = Decimal(rng.randint(100, 300_000)) / 100
            if i % 2:
                written = f"¥{amount:,.2f}"
                when = f"{placed.year}/{placed.month}/{placed.day} {placed:%H:%M}"
            else:
                written = str(amount)
                when = f"{placed.year}年{placed.month}月{placed.day}日 {placed:%H:%M:%S}"
            customer = f"m-{rng.randrange(size.customers)}"
            out.writerow([f"o-{i}", customer, written, when, "tmall" if i % 3 else "门店"])
    return customers, orders


@dataclass
class Run:
    seconds: float
    rows: int
    rss_mb: float
    summary: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def loyalty(url: str, *args: str, rows: int) -> Run:
    """One `loyalty` command in a subprocess: wall time and the child's peak RSS."""
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_TIMEZONE": "Asia/Shanghai"}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"loyalty {' '.join(args)} failed:\n{output}")
    summary = next((line for line in output.splitlines() if line.startswith("read ")), "")
    return Run(seconds, rows, usage.ru_maxrss / 1024, summary)


def floor_rows(orders: Path) -> list[tuple[str, str, Decimal, datetime, str]]:
    rows = []
    with orders.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for external_id, customer, amount, when, channel in reader:
            number = Decimal(amount.lstrip("¥").replace(",", ""))
            digits = [
                int(p)
                for p in when.replace("年", "/")
                .replace("月", "/")
                .replace("日", "")
                .replace(" ", "/")
                .replace(":", "/")
                .split("/")
            ]
            rows.append((external_id, customer, number, datetime(*digits, tzinfo=UTC), channel))
    return rows


FLOOR_TABLE = (
    "CREATE TABLE floor_orders (external_id VARCHAR(128) NOT NULL UNIQUE, "
    "customer_external_id VARCHAR(128) NOT NULL, amount NUMERIC(18, 2) NOT NULL, "
    "placed_at {timestamp} NOT NULL, channel VARCHAR(64))"
)


async def floor_postgres(url: str, orders: Path) -> Run:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(FLOOR_TABLE.format(timestamp="TIMESTAMPTZ"))
        started = time.perf_counter()
        rows = floor_rows(orders)
        await connection.copy_records_to_table("floor_orders", records=rows)
        seconds = time.perf_counter() - started
    finally:
        await connection.close()
    return Run(seconds, len(rows), 0.0, "")


def floor_sqlite(path: Path, orders: Path) -> Run:
    connection = sqlite3.connect(path)
    try:
        connection.execute(FLOOR_TABLE.format(timestamp="DATETIME"))
        started = time.perf_counter()
        rows = [(e, c, str(a), p.isoformat(), ch) for e, c, a, p, ch in floor_rows(orders)]
        with connection:
            connection.executemany("INSERT INTO floor_orders VALUES (?, ?, ?, ?, ?)", rows)
        seconds = time.perf_counter() - started
    finally:
        connection.close()
    return Run(seconds, len(rows), 0.0, "")


@dataclass
class Line:
    database: str
    what: str
    run: Run
    floor: Run | None


async def bench_database(
    label: str, urls: list[str], workdir: Path, files: tuple[Path, Path], size: Size
) -> list[Line]:
    customers, orders = files
    lines = []
    for url in urls:
        await asyncio.to_thread(upgrade, url)
    for url, flag in zip(urls, ["--no-points", None], strict=True):
        imported = loyalty(url, "import", "customers", str(customers), rows=size.customers)
        lines.append(Line(label, "customers", imported, None))
        print(f"  {label} customers: {imported.rate:,.0f}/s  {imported.summary}", flush=True)
        args = ["import", "orders", str(orders), *([flag] if flag else [])]
        run = loyalty(url, *args, rows=size.orders)
        what = flag or "with points"
        print(f"  {label} orders {what}: {run.rate:,.0f}/s  {run.summary}", flush=True)
        lines.append(Line(label, f"orders {what}", run, None))
    if label == "SQLite":
        floor = floor_sqlite(Path(make_url(urls[0]).database or ""), orders)
    else:
        floor = await floor_postgres(urls[0], orders)
    for line in lines:
        if line.what.startswith("orders"):
            line.floor = floor
    return lines


def target(line: Line) -> str:
    what = line.what.removeprefix("orders ")
    if what not in TARGETS:
        return ""
    goal = TARGETS[what] // (2 if line.database == "SQLite" else 1)
    rate = line.run.rate
    if rate >= goal:
        return f"≥ {goal:,}/s: met"
    return f"≥ {goal:,}/s: missed by {goal - rate:,.0f}/s ({rate / goal:.0%} of it)"


def print_table(lines: list[Line], size: Size) -> None:
    print()
    print(
        f"bench/import.py, {size.name} size ({size.orders:,} orders over {size.customers:,} "
        f"customers), {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        "| database | import | rows/s | seconds | floor rows/s | import/floor "
        f"| peak RSS (< {RSS_TARGET_MB} MB) | target |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for line in lines:
        run, floor = line.run, line.floor
        floor_cells = f"{floor.rate:,.0f} | {run.rate / floor.rate:.1%}" if floor else "— | —"
        over = "" if run.rss_mb < RSS_TARGET_MB else " (over)"
        print(
            f"| {line.database} | {line.what} | {run.rate:,.0f} | {run.seconds:,.1f} "
            f"| {floor_cells} | {run.rss_mb:,.0f} MB{over} | {target(line)} |"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's 1,000,000 orders")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server to create (and drop) loyalty_bench_import_<pid>_<n> on",
    )
    args = parser.parse_args()
    size = FULL if args.full or os.environ.get("FULL") else SMALL
    if os.environ.get("BENCH_ORDERS"):  # a size between the two, e.g. to see memory stay flat
        size = Size(
            "custom",
            int(os.environ.get("BENCH_CUSTOMERS", size.customers)),
            int(os.environ["BENCH_ORDERS"]),
        )
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-import-"))
    pg_urls: list[str] = []
    lines: list[Line] = []
    try:
        started = time.perf_counter()
        files = generate(workdir, size)
        print(
            f"generated {size.customers:,} customers and {size.orders:,} orders "
            f"({files[1].stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        if args.only != "postgres":
            urls = [f"sqlite+aiosqlite:///{workdir / f'bench-{n}.db'}" for n in (1, 2)]
            lines += await bench_database("SQLite", urls, workdir, files, size)
        if args.only != "sqlite":
            base = make_url(args.postgres_url)
            for n in (1, 2):
                name = f"loyalty_bench_import_{os.getpid()}_{n}"
                pg_urls.append(base.set(database=name).render_as_string(hide_password=False))
            try:
                for url in pg_urls:
                    await create_pg(url)
            except (OSError, asyncpg.PostgresError) as exc:
                print(f"PostgreSQL skipped: {exc}")
                pg_urls = []
            if pg_urls:
                lines += await bench_database("PostgreSQL", pg_urls, workdir, files, size)
    finally:
        for url in pg_urls:
            await drop_pg(url)
        shutil.rmtree(workdir, ignore_errors=True)
    if lines:
        print_table(lines, size)
        print("The machine may be shared: compare ratios (import/floor), not absolute rates.")


if __name__ == "__main__":
    asyncio.run(main())
