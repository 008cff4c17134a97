"""How fast the analytical reads answer at a realistic size, beside DuckDB's floor.

    python -m bench.metrics            # 1,000,000 orders over 200,000 customers
    BENCH_ORDERS=100000 BENCH_CUSTOMERS=20000 python -m bench.metrics   # a quick run

Generates one seeded history (orders over two years with full and partial refunds,
an EARN entry per order plus redemptions and expiries, NPS/CSAT answers), loads it
into SQLite (bench/data/, git-ignored) and PostgreSQL (BENCH_DATABASE_URL, default a
`loyalty_bench` database on 127.0.0.1) after `alembic upgrade head`, and times each
read model as the API calls it. DuckDB runs the same aggregate over the same rows
in memory: the floor for such a query on this machine. Figures are printed, never
asserted. Reads from other areas (lifecycle, RFM, segments) are timed when their
modules are in the tree and skipped otherwise.
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import os
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

from domain.metrics import Granularity, Period, calendar_buckets, previous_period
from domain.program import ProgramSettings
from persistence.cohorts import cohort_table
from persistence.database import Database
from persistence.metrics import metrics_report, metrics_series
from persistence.migrations import upgrade

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "200000"))
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/loyalty_bench"
)
DATA = Path(__file__).resolve().parent / "data"
REPEATS = 3
ZONE = "Asia/Shanghai"
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
PROGRAM = ProgramSettings(timezone=ZONE)

tz = ZoneInfo(ZONE)
MONTH = Period(
    datetime(2026, 6, 1, tzinfo=tz).astimezone(UTC), datetime(2026, 7, 1, tzinfo=tz).astimezone(UTC)
)
YEAR = Period(
    datetime(2026, 1, 1, tzinfo=tz).astimezone(UTC), datetime(2027, 1, 1, tzinfo=tz).astimezone(UTC)
)


# ---- the history -----------------------------------------------------------------------


def generate() -> dict[str, list[tuple]]:
    rng = random.Random(6)
    span = int((END - START).total_seconds())
    created = START - timedelta(days=30)
    customers = [(i, f"c{i}", "{}", created, created) for i in range(1, CUSTOMERS + 1)]
    orders, entries, answers = [], [], []
    for i in range(1, ORDERS + 1):
        customer = 1 + int(CUSTOMERS * rng.random() ** 1.6)  # a few customers buy a lot
        at = START + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6))
        cents = rng.randrange(1_000, 100_000)
        roll = rng.random()
        refunded = cents if roll < 0.05 else rng.randrange(1, cents) if roll < 0.10 else 0
        orders.append(
            (i, customer, f"o{i}", cents / 100, refunded / 100, "CNY", at, True, "-", at, 0, 0)
        )
        if refunded < cents:
            entries.append((customer, "EARN", cents // 100, 0, at))
        if roll > 0.9:
            entries.append((customer, "REDEEM", -(cents // 200), 0, at + timedelta(days=3)))
        elif roll > 0.87:
            entries.append((customer, "EXPIRE", -(cents // 300), 0, at + timedelta(days=365)))
        if i % 20 == 0:
            kind = "NPS" if i % 40 else "CSAT"
            score = rng.randint(0, 10) if kind == "NPS" else rng.randint(1, 5)
            answers.append((customer, kind, score, at + timedelta(days=2)))
    return {"customers": customers, "orders": orders, "ledger": entries, "feedback": answers}


COLUMNS = {
    "customers": ("id", "external_id", "attributes", "created_at", "updated_at"),
    "orders": (
        "id",
        "customer_id",
        "external_id",
        "amount",
        "refunded_amount",
        "currency",
        "placed_at",
        "award_points",
        "request_hash",
        "created_at",
        "points_earned",
        "points_reversed",
    ),
    "ledger_entries": ("customer_id", "kind", "points", "balance_after", "created_at"),
    "feedback": ("customer_id", "kind", "score", "created_at"),
}
TABLES = {"customers": "customers", "orders": "orders", "ledger": "ledger_entries"}
TABLES["feedback"] = "feedback"


def load_sqlite(path: Path, data: dict[str, list[tuple]]) -> None:
    def cell(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime(SQLITE_TIME)
        return value

    connection = sqlite3.connect(path)
    try:
        connection.execute("BEGIN")
        for key, table in TABLES.items():
            columns = COLUMNS[table]
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([cell(v) for v in row] for row in data[key]),
            )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def recreate_pg(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def load_pg(url: str, data: dict[str, list[tuple]]) -> None:
    from decimal import Decimal

    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for key, table in TABLES.items():
            rows = data[key]
            if table == "orders":
                rows = [(*r[:3], Decimal(str(r[3])), Decimal(str(r[4])), *r[5:]) for r in rows]
            await connection.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        await connection.execute(
            "SELECT setval('orders_id_seq', (SELECT max(id) FROM orders));"
            "SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))"
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


# ---- DuckDB: the floor -----------------------------------------------------------------


def load_duckdb(data: dict[str, list[tuple]]):  # noqa: ANN201
    import duckdb

    DATA.mkdir(exist_ok=True)
    db = duckdb.connect()
    for key, table in (
        ("orders", "orders"),
        ("ledger", "ledger_entries"),
        ("feedback", "feedback"),
    ):
        path = DATA / f"{table}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS[table])
            for row in data[key]:
                writer.writerow(v.isoformat() if isinstance(v, datetime) else v for v in row)
        db.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv_auto('{path}')")
    db.execute("SET TimeZone = 'UTC'")
    return db


def duck_windows(periods: list[Period]) -> str:
    rows = ", ".join(
        f"({i}, TIMESTAMPTZ '{p.start.isoformat()}', TIMESTAMPTZ '{p.end.isoformat()}')"
        for i, p in enumerate(periods)
    )
    return f"w(wid, start_at, end_at) AS (VALUES {rows})"


def duck_metrics(periods: list[Period], previous: list[Period]) -> str:
    """The same figures as persistence/metrics.py, written for DuckDB (LAG over all
    orders instead of an index probe: what a column store does best)."""
    distinct = list(dict.fromkeys([*periods, *previous]))
    pairs = ", ".join(
        f"({distinct.index(p)}, {distinct.index(q)})"
        for p, q in zip(periods, previous, strict=True)
    )
    return f"""
    WITH {duck_windows(distinct)},
    counted AS (
      SELECT customer_id, placed_at, round((amount - refunded_amount) * 100)::BIGINT AS cents,
             lag(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at, id) AS prev_at
      FROM orders WHERE refunded_amount < amount),
    o AS (SELECT w.wid, w.start_at, c.* FROM w JOIN counted c
          ON c.placed_at >= w.start_at AND c.placed_at < w.end_at),
    pc AS (SELECT wid, customer_id, count(*) AS n, sum(cents) AS cents,
             max(CASE WHEN prev_at < start_at THEN 1 ELSE 0 END) came_back,
             count(prev_at) pairs, sum(epoch(placed_at) - epoch(prev_at)) AS gap_seconds
           FROM o GROUP BY wid, customer_id),
    pairs(wid, prev_wid) AS (VALUES {pairs}),
    ret AS (SELECT p.wid, count(e.customer_id) prev_buyers, count(l.customer_id) retained
            FROM pairs p JOIN pc e ON e.wid = p.prev_wid
            LEFT JOIN pc l ON l.wid = p.wid AND l.customer_id = e.customer_id GROUP BY p.wid),
    agg AS (SELECT wid, count(*) buyers, sum(n) orders, sum(cents) cents,
              sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END) repeaters,
              sum(CASE WHEN n >= 2 THEN n - 1 ELSE 0 END) extra,
              sum(came_back) came_back, sum(pairs) pairs, sum(gap_seconds) AS gap_seconds
            FROM pc GROUP BY wid),
    led AS (SELECT w.wid,
              sum(CASE WHEN kind IN ('EARN', 'BONUS') OR (kind = 'ADJUST' AND points > 0)
                  THEN points ELSE 0 END) issued,
              sum(CASE WHEN kind IN ('REDEEM', 'REDEEM_CANCEL') THEN -points ELSE 0 END) redeemed,
              sum(CASE WHEN kind = 'EXPIRE' THEN -points ELSE 0 END) expired
            FROM w JOIN ledger_entries e ON e.created_at >= w.start_at AND e.created_at < w.end_at
            GROUP BY w.wid),
    liab AS (SELECT w.wid, (SELECT sum(points) FROM ledger_entries e
                            WHERE e.created_at < w.end_at) liability FROM w),
    fb AS (SELECT w.wid, count(*) FILTER (WHERE kind = 'NPS') nps,
              count(*) FILTER (WHERE kind = 'NPS' AND score >= 9) promoters
           FROM w JOIN feedback f ON f.created_at >= w.start_at AND f.created_at < w.end_at
           GROUP BY w.wid)
    SELECT * EXCLUDE (start_at, end_at) FROM w LEFT JOIN agg USING (wid) LEFT JOIN ret USING (wid)
      LEFT JOIN led USING (wid) LEFT JOIN liab USING (wid) LEFT JOIN fb USING (wid)
    """


def duck_cohorts(months: list[Period]) -> str:
    first, last = months[0].start.isoformat(), months[-1].end.isoformat()
    return f"""
    WITH {duck_windows(months)},
    counted AS (SELECT customer_id, placed_at FROM orders WHERE refunded_amount < amount),
    firsts AS (SELECT customer_id, min(placed_at) first_at FROM counted GROUP BY customer_id
               HAVING min(placed_at) >= TIMESTAMPTZ '{first}'),
    members AS (SELECT f.customer_id, w.wid AS cohort FROM firsts f JOIN w
                ON f.first_at >= w.start_at AND f.first_at < w.end_at),
    active AS (SELECT DISTINCT c.customer_id, w.wid AS month_id FROM counted c JOIN w
               ON c.placed_at >= w.start_at AND c.placed_at < w.end_at
               WHERE c.placed_at < TIMESTAMPTZ '{last}')
    SELECT cohort, month_id, count(*) FROM members JOIN active USING (customer_id) GROUP BY ALL
    """


# ---- timing ----------------------------------------------------------------------------


async def timed(run: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(best, median) of REPEATS runs, in milliseconds."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def duck_timed(db, sql: str) -> float:  # noqa: ANN001
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        db.execute(sql).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def series_buckets():  # noqa: ANN201
    return calendar_buckets(YEAR, Granularity.MONTH, tz)


def cohort_periods() -> list[Period]:
    from domain.metrics import cohort_months

    return [p for _, p in cohort_months(YEAR, tz)]


READS: list[tuple[str, Callable]] = [
    ("metrics, one month", lambda s: metrics_report(s, PROGRAM, MONTH, None)),
    ("metrics, one year", lambda s: metrics_report(s, PROGRAM, YEAR, None)),
    ("metricsSeries, a year by month", lambda s: metrics_series(s, PROGRAM, series_buckets())),
    ("cohorts, a year", lambda s: cohort_table(s, PROGRAM, YEAR)),
]


def duck_sql(name: str) -> str | None:
    if name.startswith("metrics, one month"):
        return duck_metrics([MONTH], [previous_period(MONTH)])
    if name.startswith("metrics, one year"):
        return duck_metrics([YEAR], [previous_period(YEAR)])
    if name.startswith("metricsSeries"):
        buckets = series_buckets()
        return duck_metrics([b.period for b in buckets], [b.previous for b in buckets])
    if name.startswith("cohorts"):
        return duck_cohorts(cohort_periods())
    return None


def other_reads() -> list[tuple[str, Callable]]:
    """Lifecycle, RFM and segment reads, when their modules are in this tree."""
    found = []
    as_of = YEAR.end
    for module, function, label, call in [
        (
            "persistence.lifecycle",
            "lifecycle_summary",
            "lifecycleSummary",
            lambda f, s: f(s, PROGRAM, as_of),
        ),
        ("persistence.rfm", "rfm_summary", "rfmSummary", lambda f, s: f(s, PROGRAM, as_of, None)),
        (
            "persistence.segments",
            "count_matching",
            "segment count",
            lambda f, s: f(s, PROGRAM, "total_spent > 500", as_of),
        ),
    ]:
        try:
            fn = getattr(importlib.import_module(module), function)
        except (ImportError, AttributeError):
            print(f"  {label:<34} skipped: {module}.{function} is not in this tree")
            continue
        found.append((label, lambda s, fn=fn, call=call: call(fn, s)))
    return found


async def bench(label: str, url: str, duck) -> dict[str, tuple[float, float]]:  # noqa: ANN001
    database = Database.connect(url)
    figures = {}
    try:
        for name, read in READS + other_reads():

            async def run(read=read) -> object:
                async with database.sessions() as session:
                    return await read(session)

            try:
                figures[name] = await timed(run)
            except Exception as exc:  # another area's read with another signature
                print(f"  {name:<34} failed: {exc!r}")
    finally:
        await database.dispose()
    return figures


def fresh_sqlite_file() -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def main() -> None:
    print(f"Generating {ORDERS:,} orders over {CUSTOMERS:,} customers …")
    started = time.perf_counter()
    data = generate()
    print(
        f"  {len(data['orders']):,} orders, {len(data['ledger']):,} ledger entries, "
        f"{len(data['feedback']):,} answers in {time.perf_counter() - started:.1f} s"
    )
    sqlite_path = fresh_sqlite_file()
    sqlite_url = f"sqlite+aiosqlite:///{sqlite_path}"

    results: dict[str, dict[str, tuple[float, float]]] = {}
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, sqlite_url)
    load_sqlite(sqlite_path, data)
    print(f"SQLite loaded in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    try:
        await recreate_pg(PG_URL)
        await asyncio.to_thread(upgrade, PG_URL)
        await load_pg(PG_URL, data)
        print(f"PostgreSQL loaded in {time.perf_counter() - started:.1f} s")
        pg = True
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL skipped: {exc}")
        pg = False

    started = time.perf_counter()
    duck = load_duckdb(data)
    print(f"DuckDB loaded in {time.perf_counter() - started:.1f} s")

    print("SQLite:")
    results["SQLite"] = await bench("SQLite", sqlite_url, duck)
    if pg:
        print("PostgreSQL:")
        results["PostgreSQL"] = await bench("PostgreSQL", PG_URL, duck)

    floors = {}
    for name in results["SQLite"]:
        sql = duck_sql(name)
        floors[name] = duck_timed(duck, sql) if sql else None

    print()
    print(f"{ORDERS:,} orders, {CUSTOMERS:,} customers; best (median) of {REPEATS}, in ms")
    print("| read | SQLite | PostgreSQL | DuckDB floor |\n| --- | ---: | ---: | ---: |")
    for name in results["SQLite"]:
        cells = []
        for backend in ("SQLite", "PostgreSQL"):
            figure = results.get(backend, {}).get(name)
            cells.append(f"{figure[0]:,.0f} ({figure[1]:,.0f})" if figure else "–")
        floor = floors[name]
        cells.append(f"{floor:,.0f}" if floor is not None else "–")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    asyncio.run(main())
