"""How fast the analytical reads answer at a realistic size, beside DuckDB's floor.

    python -m bench.metrics            # 1,000,000 orders over 200,000 customers
    BENCH_ORDERS=100000 BENCH_CUSTOMERS=20000 python -m bench.metrics   # a quick run
    BENCH_KEEP=1 python -m bench.metrics   # keep the databases afterwards (to EXPLAIN)

Generates one seeded history (orders over two years with full and partial refunds,
an EARN entry per order plus redemptions and expiries, NPS/CSAT answers, a
"do-not-contact" tag on a tenth of the customers), loads it into SQLite (bench/data/,
git-ignored) and PostgreSQL (BENCH_DATABASE_URL, default a `loyalty_bench` database on
127.0.0.1, dropped and recreated) after `alembic upgrade head`, and times each read
model as the API calls it: metrics, metricsSeries, cohorts, lifecycleSummary,
rfmSummary and one segment count. DuckDB runs the same aggregate over the same rows
in memory: the floor for such a query on this machine. Figures are printed, never
asserted.

Loading drops the secondary indexes of the loaded tables (read back from the migrated
database, so they always match the migrations) and recreates them from their own DDL
after the bulk insert: building an index once is several times faster than
maintaining it row by row. Then ANALYZE: without statistics PostgreSQL plans the
classification join as a nested loop over 200,000 customers. Both databases and
bench/data/ are removed at the end unless BENCH_KEEP is set; a run recreates them.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import shutil
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from domain.classification import LifecycleBounds
from domain.metrics import Granularity, Period, calendar_buckets, previous_period
from domain.program import ProgramSettings
from domain.segment_rules import parse_rule
from persistence.classification import customer_rfms, lifecycle_summary, rfm_summary
from persistence.cohorts import cohort_table
from persistence.database import Database
from persistence.metric_dimensions import metrics_report, metrics_series
from persistence.migrations import upgrade
from persistence.orders import rebuild_order_months, refresh_every_customer_stats
from persistence.segments import segment_count

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000000"))
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "200000"))
PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/loyalty_bench"
)
KEEP = bool(os.environ.get("BENCH_KEEP"))
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
AS_OF = YEAR.end  # lifecycle, RFM and the segment are classified as of the year's end
SEGMENT_RULE = 'lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"'
RULE = parse_rule(SEGMENT_RULE)
DO_NOT_CONTACT = 1  # the tag's id
RFM_PAGE = 50  # Customer.rfm for customers 1..50, as a console page asks


# ---- the history -----------------------------------------------------------------------


def generate() -> dict[str, list[tuple]]:
    rng = random.Random(6)
    span = int((END - START).total_seconds())
    created = START - timedelta(days=30)
    customers = [(i, f"c{i}", "{}", created, created) for i in range(1, CUSTOMERS + 1)]
    tags = [(DO_NOT_CONTACT, "do-not-contact", "do-not-contact", "MANUAL", created)]
    tagged = random.Random(7)
    customer_tags = [(i, DO_NOT_CONTACT) for i in range(1, CUSTOMERS + 1) if tagged.random() < 0.1]
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
    return {
        "customers": customers,
        "tags": tags,
        "customer_tags": customer_tags,
        "orders": orders,
        "ledger": entries,
        "feedback": answers,
    }


COLUMNS = {
    "customers": ("id", "external_id", "attributes", "created_at", "updated_at"),
    "tags": ("id", "name", "name_key", "source", "created_at"),
    "customer_tags": ("customer_id", "tag_id"),
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
TABLES = {
    "customers": "customers",
    "tags": "tags",
    "customer_tags": "customer_tags",
    "orders": "orders",
    "ledger": "ledger_entries",
    "feedback": "feedback",
}


def load_sqlite(path: Path, data: dict[str, list[tuple]]) -> None:
    def cell(value: object) -> object:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime(SQLITE_TIME)
        return value

    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # A throw-away file: no fsync, and room to sort while building the indexes.
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -262144")
        tables = list(TABLES.values())
        indexes = connection.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            f" AND tbl_name IN ({', '.join('?' for _ in tables)})",
            tables,
        ).fetchall()
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        for key, table in TABLES.items():
            columns = COLUMNS[table]
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                ([cell(v) for v in row] for row in data[key]),
            )
        for _, sql in indexes:
            connection.execute(sql)
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
        # Indexes that back no constraint (primary and unique keys stay), with their DDL.
        indexes = await connection.fetch(
            """
            SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS ddl
            FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            """,
            list(TABLES.values()),
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["name"]}"')
        # The generated rows are consistent by construction: skip the per-row foreign
        # key triggers during COPY (the bench connects as a superuser).
        await connection.execute("SET session_replication_role = replica")
        for key, table in TABLES.items():
            rows = data[key]
            if table == "orders":
                rows = [(*r[:3], Decimal(str(r[3])), Decimal(str(r[4])), *r[5:]) for r in rows]
            await connection.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        await connection.execute("SET session_replication_role = DEFAULT")
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for index in indexes:
            await connection.execute(index["ddl"])
        await connection.execute(
            "SELECT setval('orders_id_seq', (SELECT max(id) FROM orders));"
            "SELECT setval('customers_id_seq', (SELECT max(id) FROM customers));"
            "SELECT setval('tags_id_seq', (SELECT max(id) FROM tags))"
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


# ---- DuckDB: the floor -----------------------------------------------------------------


def load_duckdb(data: dict[str, list[tuple]]):  # noqa: ANN201
    import duckdb

    DATA.mkdir(exist_ok=True)
    db = duckdb.connect()
    for key, table in TABLES.items():
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


def duck_stats() -> str:
    """Counted orders at or before AS_OF per customer, as persistence/classification.py."""
    return f"""
    stats AS (SELECT customer_id, count(*) AS f,
                sum(round(amount * 100)::BIGINT - round(refunded_amount * 100)::BIGINT) AS m,
                min(placed_at) AS first_at, max(placed_at) AS last_at
              FROM orders WHERE refunded_amount < amount
                AND placed_at <= TIMESTAMPTZ '{AS_OF.isoformat()}'
              GROUP BY customer_id)"""


def duck_stage() -> str:
    b = LifecycleBounds.of(AS_OF, PROGRAM)
    return f"""CASE WHEN s.customer_id IS NULL THEN 'PROSPECT'
      WHEN s.first_at > TIMESTAMPTZ '{b.new_after.isoformat()}' THEN 'NEW'
      WHEN s.first_at <= TIMESTAMPTZ '{b.loyal_from.isoformat()}'
           AND s.last_at >= TIMESTAMPTZ '{b.active_from.isoformat()}' THEN 'LOYAL'
      WHEN s.last_at >= TIMESTAMPTZ '{b.active_from.isoformat()}' THEN 'ACTIVE'
      WHEN s.last_at >= TIMESTAMPTZ '{b.silent_from.isoformat()}' THEN 'SILENT'
      ELSE 'CHURNED' END"""


def duck_lifecycle() -> str:
    return f"""
    WITH {duck_stats()}
    SELECT {duck_stage()} AS stage, count(*)
    FROM customers c LEFT JOIN stats s ON s.customer_id = c.id GROUP BY stage
    """


def duck_rfm() -> str:
    """Counts and R/F/M sums per class against the mean cuts (x < Σx/N as x·N < Σx);
    the eight classes are the eight combinations of the three comparisons. The API's
    statement also ranks the population for the 1–5 scores; the summary needs no
    score, so the floor computes none."""
    return f"""
    WITH {duck_stats()},
    p AS (SELECT customer_id, epoch_ms(TIMESTAMPTZ '{AS_OF.isoformat()}') - epoch_ms(last_at)
                 AS r, f, m FROM stats),
    cuts AS (SELECT count(*) AS n, sum(r) AS r_num, sum(f) AS f_num, sum(m) AS m_num FROM p)
    SELECT p.m * cuts.n > cuts.m_num AS high_value, p.r * cuts.n < cuts.r_num AS recent,
           p.f * cuts.n > cuts.f_num AS frequent, count(*), sum(r), sum(f), sum(m),
           max(cuts.n), max(cuts.r_num), max(cuts.f_num), max(cuts.m_num)
    FROM p, cuts GROUP BY ALL
    """


def duck_rfm_page() -> str:
    """1–5 scores of a page of 50 customers: RANK() over the population, as the
    definition reads (1 + floor(5 × customers strictly worse / N))."""
    return f"""
    WITH {duck_stats()},
    p AS (SELECT customer_id, epoch_ms(TIMESTAMPTZ '{AS_OF.isoformat()}') - epoch_ms(last_at)
                 AS r, f, m FROM stats),
    ranked AS (SELECT customer_id, r, f, m,
                 1 + (5 * (rank() OVER (ORDER BY r DESC) - 1)) // count(*) OVER () AS r_score,
                 1 + (5 * (rank() OVER (ORDER BY f) - 1)) // count(*) OVER () AS f_score,
                 1 + (5 * (rank() OVER (ORDER BY m) - 1)) // count(*) OVER () AS m_score
               FROM p)
    SELECT * FROM ranked WHERE customer_id <= {RFM_PAGE}
    """


def duck_segment() -> str:
    """lifecycle = SILENT AND total_spent > 500 AND NOT tag = "do-not-contact"."""
    return f"""
    WITH {duck_stats()}
    SELECT count(*) FROM customers c LEFT JOIN stats s ON s.customer_id = c.id
    WHERE {duck_stage()} = 'SILENT' AND coalesce(s.m, 0) > 50000
      AND NOT EXISTS (SELECT 1 FROM customer_tags t
                      WHERE t.customer_id = c.id AND t.tag_id = {DO_NOT_CONTACT})
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


def duck_timed(db, sql: str) -> tuple[float, float]:  # noqa: ANN001
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        db.execute(sql).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


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
    ("lifecycleSummary", lambda s: lifecycle_summary(s, AS_OF, PROGRAM)),
    ("rfmSummary (mean cut, no look-back)", lambda s: rfm_summary(s, AS_OF, None, PROGRAM)),
    ("segment count (SILENT, > 500, not tagged)", lambda s: segment_count(s, RULE, AS_OF, PROGRAM)),
    (
        "Customer.rfm, a page of 50",
        lambda s: customer_rfms(s, [(i, AS_OF, None) for i in range(1, RFM_PAGE + 1)], PROGRAM),
    ),
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
    if name.startswith("lifecycleSummary"):
        return duck_lifecycle()
    if name.startswith("rfmSummary"):
        return duck_rfm()
    if name.startswith("segment count"):
        return duck_segment()
    if name.startswith("Customer.rfm"):
        return duck_rfm_page()
    return None


async def bench(url: str) -> dict[str, tuple[float, float]]:
    database = Database.connect(url)
    figures = {}
    try:
        for name, read in READS:

            async def run(read=read) -> object:
                async with database.sessions() as session:
                    return await read(session)

            best, median = figures[name] = await timed(run)
            print(f"  {name:<42} {median:>9,.0f} ms (median; best {best:,.0f})", flush=True)
    finally:
        await database.dispose()
    return figures


async def fill_customer_stats(url: str) -> None:
    """The per-customer statistics and the monthly read model orderRecord keeps; the
    lifecycle, RFM and metrics reads use them, so a bulk load must fill them like the
    service would (the read model in the program's zone, as a zone change does)."""
    database = Database.connect(url)
    try:
        async with database.sessions() as session:
            await session.execute(refresh_every_customer_stats())
            started = time.perf_counter()
            await rebuild_order_months(session, ZONE)
            print(f"  monthly read model built in {time.perf_counter() - started:.1f} s")
            await session.commit()
            await session.execute(text("ANALYZE"))
            await session.commit()
    finally:
        await database.dispose()


def fresh_sqlite_file() -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def drop_pg(url: str) -> None:
    name = make_url(url).database
    admin = await asyncpg.connect(_asyncpg_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def cell(figure: tuple[float, float] | None) -> str:
    return f"{figure[1]:,.0f}" if figure else "—"


async def main() -> None:
    print(f"Generating {ORDERS:,} orders over {CUSTOMERS:,} customers …", flush=True)
    started = time.perf_counter()
    data = generate()
    print(
        f"  {len(data['orders']):,} orders, {len(data['ledger']):,} ledger entries, "
        f"{len(data['feedback']):,} answers, {len(data['customer_tags']):,} tagged customers"
        f" in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    sqlite_path = fresh_sqlite_file()
    sqlite_url = f"sqlite+aiosqlite:///{sqlite_path}"

    results: dict[str, dict[str, tuple[float, float]]] = {}
    started = time.perf_counter()
    await asyncio.to_thread(upgrade, sqlite_url)
    load_sqlite(sqlite_path, data)
    await fill_customer_stats(sqlite_url)
    print(f"SQLite loaded in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    try:
        await recreate_pg(PG_URL)
        await asyncio.to_thread(upgrade, PG_URL)
        await load_pg(PG_URL, data)
        await fill_customer_stats(PG_URL)
        print(f"PostgreSQL loaded in {time.perf_counter() - started:.1f} s", flush=True)
        pg = True
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"PostgreSQL skipped: {exc}")
        pg = False

    started = time.perf_counter()
    duck = load_duckdb(data)
    del data
    print(f"DuckDB loaded in {time.perf_counter() - started:.1f} s", flush=True)

    try:
        print("SQLite:", flush=True)
        results["SQLite"] = await bench(sqlite_url)
        if pg:
            print("PostgreSQL:", flush=True)
            results["PostgreSQL"] = await bench(PG_URL)

        print("DuckDB:", flush=True)
        floors = {}
        for name, _ in READS:
            sql = duck_sql(name)
            floors[name] = duck_timed(duck, sql) if sql else None
            print(f"  {name:<42} {cell(floors[name]):>9} ms (median)", flush=True)
    finally:
        duck.close()
        if not KEEP:
            if pg:
                await drop_pg(PG_URL)
            shutil.rmtree(DATA, ignore_errors=True)

    print()
    print(
        f"{ORDERS:,} orders, {CUSTOMERS:,} customers; median of {REPEATS} runs, in ms "
        f"({os.cpu_count()} cores)"
    )
    print("| read | SQLite ms | PostgreSQL ms | DuckDB floor ms |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in READS:
        cells = [cell(results.get(b, {}).get(name)) for b in ("SQLite", "PostgreSQL")]
        print(f"| {name} | " + " | ".join([*cells, cell(floors[name])]) + " |")


if __name__ == "__main__":
    asyncio.run(main())
