"""The API from outside, beside the floor of the same SQL through the driver.

    python -m bench.api              # small size: a few minutes on 2 cores
    python -m bench.api --quick      # a tiny size (250-order bulk calls): does it all run?
    python -m bench.api --full       # the issue's sizes
    python -m bench.api --only sqlite|postgres  [--postgres-url URL]
    python -m bench.api --profile shopper|orderRecord --only postgres   # under py-spy

What runs. For each database (SQLite in a temp dir; PostgreSQL in a database
`loyalty_bench_<pid>` created on --postgres-url's server and dropped at the end) the
schema is migrated, customers are bulk-inserted, the default tiers and a ladder of
rewards are created through the project's services, and an admin and a storefront
key are issued. Then the real server starts in a subprocess (`loyalty serve` on a
free loopback port, LOYALTY_ENV=production, a generated secret, the server's default
process count) and aiohttp clients drive it at 1, 8 and 32 connections, each level
bounded by a request count and a time cap:

- ordersRecordBulk: 1,000 new orders per call. Its first level also writes the
  shoppers' history (25 orders each), so their ledger has something to page.
- orderRecord: one new order for a random existing customer.
- the shopper's read: `me` with customer tokens (points, tier, tier progress, the
  last 20 ledger entries) and `rewards(first: 10, filter: {affordableFor})`.
- a storefront's customer page: `customer(externalId:)` with a storefront key.

Every response is checked (no `errors`, no `userErrors`); failures are counted and
printed. Figures are requests/s (orders/s for the bulk), p50 and p99 latency.

The floor. Before the server starts, one request of each kind is sent in-process
(the same app, settings and documents, over httpx's ASGI transport) with SQLAlchemy
`before_cursor_execute`/`after_cursor_execute` and `commit`/`rollback` listeners on
the engine: they record every statement with its bound parameters as handed to the
driver, the rows of each statement that returned some (the ids an INSERT …
RETURNING made), and where each connection's transactions end. The floor then
replays those transactions, in the order they started, on one driver connection
per client (asyncpg on PostgreSQL, aiosqlite on SQLite, as the app's engine uses) at
the same concurrency. So that a replay is new work and not a duplicate, parameters
are remapped per replay: the captured order external ids become fresh ones, the
captured customer's id and external id become the replay's customer, and an integer
id an INSERT returned at capture becomes the id the replay's INSERT returned (a
value-based substitution, so customers get ids from 10,000,000 on, away from the
order, ledger and lot ids it learns; an unrelated small parameter equal to a learned
id would still be remapped, an accepted imprecision). The ratio is API / floor: the share of the
database's own speed the API keeps.

Memory: before each level the server's peak RSS is reset (writing 5 to
/proc/<pid>/clear_refs) and VmHWM is read after it, over the server and its children.
The load generator's own CPU (process time / wall time) is printed for each API level:
near 100 % would mean the client, not the server, was the bottleneck.

Figures are printed, never asserted: benchmarks are not tests. Only ratios travel
between machines; on a shared machine even they wobble.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url

from api import ids
from bench.documents import CUSTOMER_PAGE, SHOPPER_READ
from domain.access import ApiKeyService, CreateApiKey, Role
from domain.clock import SystemClock
from domain.rewards import RewardFields, RewardKind, RewardService
from domain.tiers import TierService
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.migrations import upgrade
from persistence.unit_of_work import SqlUnitOfWork

ROOT = Path(__file__).resolve().parent.parent
RSS_TARGET_MB = 300
FIRST_CUSTOMER_ID = 10_000_000  # far from every other table's ids (see Remap)
# The tables whose new ids later statements of the same request refer to.
ID_TABLES = ("orders", "ledger_entries", "point_lots", "redemptions")
REPLAYS = itertools.count()  # makes every replayed order's external id new
BULK = 1_000
HISTORY_PER_SHOPPER = 25


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    shoppers: int  # customers with tokens and a history
    bulk_levels: tuple[int, ...]
    levels: tuple[int, ...]
    requests: int  # per level, at most
    seconds: float  # per level, at most (no request starts after it)
    batch: int = BULK  # orders per ordersRecordBulk call


# Small: the bulk runs at one connection only (its first call writes the shoppers'
# history; on this machine a 1,000-order call takes a minute or more today).
QUICK = Size("quick", 500, 10, (1,), (1, 8, 32), 100, 3, batch=250)
SMALL = Size("small", 10_000, 40, (1,), (1, 8, 32), 2_000, 12)
FULL = Size("full", 10_000, 1_000, (1, 8, 32), (1, 8, 32), 20_000, 60)


# ---- the documents ---------------------------------------------------------------------

ORDER_RECORD = """
mutation Record($input: OrderRecordInput!) {
  orderRecord(input: $input) {
    order { id pointsEarned }
    customer { id points { available } }
    replayed
    userErrors { code field message }
  }
}"""

ORDERS_BULK = """
mutation Bulk($inputs: [OrderRecordInput!]!) {
  ordersRecordBulk(inputs: $inputs) {
    results { order { id } replayed userErrors { code field message } }
    userErrors { code field message }
  }
}"""

TOKEN_CREATE = """
mutation Token($input: CustomerTokenCreateInput!) {
  customerTokenCreate(input: $input) { token userErrors { code field message } }
}"""


def order_input(external_id: str, customer_external_id: str, rng: random.Random) -> dict:
    placed = datetime.now(UTC) - timedelta(days=rng.randrange(0, 300), seconds=rng.randrange(86400))
    return {
        "externalId": external_id,
        "customer": {"externalId": customer_external_id},
        "amount": f"{rng.randrange(1_000, 60_000) / 100:.2f}",
        "currency": "CNY",
        "placedAt": placed.isoformat(),
        "channel": "bench",
    }


def problems(body: dict) -> list[str]:
    """Top-level errors and any userErrors anywhere in the answer."""
    found = [e.get("message", "?") for e in body.get("errors") or []]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "userErrors" and inner:
                    found.extend(f"{e.get('code')}: {e.get('message')}" for e in inner)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(body.get("data"))
    return found


# ---- the world: database, seed, server -------------------------------------------------


@dataclass
class World:
    label: str
    url: str  # SQLAlchemy URL
    customers: list[tuple[int, str]] = field(default_factory=list)  # (id, external id)
    shoppers: list[tuple[int, str]] = field(default_factory=list)
    admin_key: str = ""
    storefront_key: str = ""
    tokens: dict[int, str] = field(default_factory=dict)  # customer id -> token
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    order_seq: int = 0
    batch: int = BULK  # orders per ordersRecordBulk call, from the size

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    def next_order_id(self, prefix: str) -> str:
        self.order_seq += 1
        return f"{prefix}-{os.getpid()}-{self.order_seq}"

    def settings_env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.url,
            "LOYALTY_ENV": "production",
            "LOYALTY_SECRET_KEY": self.secret,
            # The benchmark measures throughput, not the rate limits: one storefront key
            # sends every request, far past the production default of 1,200 a minute.
            "LOYALTY_RATE_LIMIT_KEY": "100000000/minute",
            "LOYALTY_RATE_LIMIT_TOKEN": "100000000/minute",
        }


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def create_pg(url: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        name = make_url(url).database
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_pg(url: str) -> None:
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


async def seed(world: World, size: Size) -> None:
    """Customers in bulk (as bench/classification.py), tiers, rewards and keys through
    the services; orders come later, through the API."""
    await asyncio.to_thread(upgrade, world.url)
    database = Database.connect(world.url)
    clock = SystemClock()
    created = datetime.now(UTC) - timedelta(days=400)
    try:
        async with database.sessions() as session:
            for start in range(0, size.customers, 5_000):
                await session.execute(
                    insert(CustomerRow),
                    [
                        {
                            "id": FIRST_CUSTOMER_ID + i,
                            "external_id": f"bench-c{i}",
                            "name": f"Customer {i}",
                            "attributes": {},
                            "created_at": created,
                            "updated_at": created,
                        }
                        for i in range(start, min(size.customers, start + 5_000))
                    ],
                )
            await session.commit()
            rows = await session.execute(
                CustomerRow.__table__.select()
                .with_only_columns(CustomerRow.id, CustomerRow.external_id)
                .order_by(CustomerRow.id)
            )
            world.customers = [(r[0], r[1]) for r in rows]
        # The newest customers shop: their ids are far from small constants (see capture).
        world.shoppers = world.customers[-size.shoppers :]
        if not world.is_sqlite:
            # Apart from one another too: a learned order id must never be a lot id.
            # (SQLite runs one writer at a time, so its replays keep the capture's pace.)
            for n, table in enumerate(ID_TABLES, start=2):
                await session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n * 10**7})")
                )
            await session.commit()
        await TierService(lambda: SqlUnitOfWork(database), clock).ensure_defaults()
        rewards = RewardService(lambda: SqlUnitOfWork(database), clock)
        for cost in (50, 100, 200, 300, 500, 800, 1_000, 1_500, 2_000, 3_000, 5_000, 8_000):
            for variant in range(3):
                await rewards.create(
                    RewardFields(
                        name=f"Reward {cost}-{variant}",
                        points_cost=cost,
                        kind=RewardKind.FREE_PRODUCT,
                        stock=None if variant else 1_000_000,
                    )
                )
        keys = ApiKeyService(lambda: SqlUnitOfWork(database), clock)
        world.admin_key = (await keys.create(CreateApiKey("bench admin", Role.ADMIN))).secret
        world.storefront_key = (
            await keys.create(CreateApiKey("bench storefront", Role.STOREFRONT))
        ).secret
    finally:
        await database.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log: Path

    def pids(self) -> list[int]:
        """The server and its descendants (uvicorn workers, when there are some)."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in (task / "children").read_text().split())
        return found

    def reset_peak(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        peak = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
        return peak / 1024


async def start_server(world: World, workdir: Path) -> Server:
    port = free_port()
    log = workdir / f"server-{world.label}.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(  # noqa: ASYNC220 - once, before any load
        command,
        cwd=ROOT,
        env={**os.environ, **world.settings_env()},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    async with aiohttp.ClientSession() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the server exited; see {log}:\n{log.read_text()[-2000:]}")
            try:
                async with client.get(f"{server.base}/healthz") as response:
                    if response.status == 200:
                        return server
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz; see {log}")


def stop_server(server: Server) -> None:
    server.process.send_signal(2)  # SIGINT: uvicorn shuts down
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


# ---- driving -----------------------------------------------------------------------------


@dataclass
class Figures:
    count: int  # requests done
    units: int  # orders for the bulk, else requests
    seconds: float
    latencies: list[float]
    failures: int = 0
    first_failure: str = ""
    client_cpu: float | None = None  # the load generator's CPU share of one core
    rss_mb: float | None = None

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def drive(
    connections: int,
    total: int,
    seconds: float,
    one: Callable[[int, int], Awaitable[tuple[int, list[str]]]],
) -> Figures:
    """`connections` workers take request numbers until `total` are taken or the time
    cap passed; `one(worker, n)` returns (units done, problems)."""
    latencies: list[float] = []
    taken = 0
    units = 0
    failures = 0
    first_failure = ""
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        nonlocal taken, units, failures, first_failure
        while taken < total and time.perf_counter() < deadline:
            n = taken
            taken += 1
            started = time.perf_counter()
            done, found = await one(w, n)
            latencies.append(time.perf_counter() - started)
            units += done
            if found:
                failures += 1
                first_failure = first_failure or found[0]

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(connections)))
    wall = time.perf_counter() - started
    figures = Figures(len(latencies), units, wall, latencies, failures, first_failure)
    figures.client_cpu = (time.process_time() - cpu) / wall if wall else None
    return figures


class Api:
    """The HTTP side: one aiohttp session with a connection per worker."""

    def __init__(self, world: World, server: Server, connections: int) -> None:
        self.world = world
        self.url = f"{server.base}/graphql"
        self.client = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, force_close=False),
            timeout=aiohttp.ClientTimeout(total=1_800),
        )

    async def post(self, document: str, variables: dict, credential: str) -> dict:
        async with self.client.post(
            self.url,
            data=json.dumps({"query": document, "variables": variables}),
            headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
        ) as response:
            return await response.json(content_type=None)

    async def close(self) -> None:
        await self.client.close()


async def issue_tokens(world: World, server: Server) -> None:
    api = Api(world, server, 8)
    try:

        async def one(_: int, n: int) -> tuple[int, list[str]]:
            customer_id, _external = world.shoppers[n]
            body = await api.post(
                TOKEN_CREATE,
                {"input": {"customerId": ids.encode("Customer", customer_id), "ttlSeconds": 86400}},
                world.storefront_key,
            )
            found = problems(body)
            if not found:
                world.tokens[customer_id] = body["data"]["customerTokenCreate"]["token"]
            return 1, found

        figures = await drive(8, len(world.shoppers), 600, one)
        if figures.failures:
            raise RuntimeError(f"customerTokenCreate failed: {figures.first_failure}")
    finally:
        await api.close()


# ---- the paths ---------------------------------------------------------------------------


@dataclass
class Path_:
    """One benchmarked path: how to send request n, and how to pick its customer."""

    name: str
    unit: str
    document: str
    levels: tuple[int, ...]
    request: Callable[..., tuple[dict, str, tuple[int, str]]]
    per_request_units: int = 1


def order_record_request(world: World, n: int, rng: random.Random, customer=None):  # noqa: ANN001, ANN201
    customer = customer or rng.choice(world.customers)
    external = world.next_order_id("rec")
    return {"input": order_input(external, customer[1], rng)}, world.storefront_key, customer


def bulk_request(world: World, n: int, rng: random.Random, customer=None):  # noqa: ANN001, ANN201
    # The first calls write the shoppers' history; later ones spread over everybody.
    history = len(world.shoppers) * HISTORY_PER_SHOPPER
    inputs = []
    for i in range(world.batch):
        k = n * world.batch + i
        customer = (
            world.shoppers[k % len(world.shoppers)] if k < history else rng.choice(world.customers)
        )
        inputs.append(order_input(world.next_order_id("bulk"), customer[1], rng))
    return {"inputs": inputs}, world.storefront_key, world.shoppers[0]


def shopper_request(world: World, n: int, rng: random.Random, customer=None):  # noqa: ANN001, ANN201
    customer = customer or rng.choice(world.shoppers)
    return {"me": ids.encode("Customer", customer[0])}, world.tokens[customer[0]], customer


def page_request(world: World, n: int, rng: random.Random, customer=None):  # noqa: ANN001, ANN201
    customer = customer or rng.choice(world.shoppers)
    return {"externalId": customer[1]}, world.storefront_key, customer


def paths(size: Size) -> list[Path_]:
    return [
        Path_(
            "ordersRecordBulk",
            "orders/s",
            ORDERS_BULK,
            size.bulk_levels,
            bulk_request,
            size.batch,
        ),
        Path_("orderRecord", "orders/s", ORDER_RECORD, size.levels, order_record_request),
        Path_("shopper's read", "reads/s", SHOPPER_READ, size.levels, shopper_request),
        Path_("customer page", "reads/s", CUSTOMER_PAGE, size.levels, page_request),
    ]


async def run_api(
    world: World, server: Server, path: Path_, connections: int, size: Size, seed_: int
) -> Figures:
    rng = random.Random(seed_)
    api = Api(world, server, connections)
    try:

        async def one(_: int, n: int) -> tuple[int, list[str]]:
            variables, credential, _customer = path.request(world, n, rng)
            body = await api.post(path.document, variables, credential)
            return path.per_request_units, problems(body)

        total, seconds = size.requests, size.seconds
        if path.per_request_units > 1:
            # The bulk: the first level writes the whole history, then one call a client.
            history_calls = -(-len(world.shoppers) * HISTORY_PER_SHOPPER // world.batch)
            # Bounded by count only: the history must be complete, and a level of N
            # clients is N calls.
            total = history_calls if connections == 1 else connections
            seconds = 3_600
        server.reset_peak()
        figures = await drive(connections, max(total, connections), seconds, one)
        figures.rss_mb = server.peak_mb()
        return figures
    finally:
        await api.close()


# ---- capture and replay: the floor -------------------------------------------------------


@dataclass
class Statement:
    sql: str
    params: tuple
    many: bool
    returned: list[tuple] | None = None


@dataclass
class Transaction:
    statements: list[Statement]
    end: str  # COMMIT or ROLLBACK
    autocommit: bool = False  # a read session in autocommit: replayed without BEGIN


@dataclass
class Capture:
    transactions: list[Transaction]
    customer: tuple[int, str]
    order_external_ids: list[str]

    @property
    def statement_count(self) -> int:
        return sum(len(t.statements) for t in self.transactions)

    @property
    def round_trips(self) -> int:
        """Statements plus each transaction's BEGIN and COMMIT/ROLLBACK (none for a
        read in autocommit); PostgreSQL's view, the driver's prepares not counted."""
        return self.statement_count + sum(2 for t in self.transactions if not t.autocommit)


async def capture(world: World, path: Path_, seed_: int) -> Capture:
    """Sends one request of `path` in-process and records what reached the driver."""
    import httpx

    from api.app import create_app
    from api.settings import Settings

    settings = Settings(
        **{
            "DATABASE_URL": world.url,
            "LOYALTY_ENV": "production",
            "LOYALTY_SECRET_KEY": world.secret,
        }
    )
    database = Database.connect(world.url)
    open_: dict[int, list[Statement]] = {}
    autocommit: set[int] = set()  # id() of the statement lists run in autocommit
    order: list[tuple[int, int]] = []  # (connection key, index into finished)
    finished: list[Transaction] = []
    started: list[tuple[int, list[Statement]]] = []
    sync = database.engine.sync_engine

    def key(conn: Any) -> int:
        return id(conn.connection.dbapi_connection)

    @event.listens_for(sync, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        k = key(conn)
        if k not in open_:
            open_[k] = []
            started.append((k, open_[k]))
            if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
                autocommit.add(id(open_[k]))
        params = tuple(parameters) if isinstance(parameters, tuple | list) else ()
        # insertmanyvalues batches arrive flagged executemany with one flat tuple.
        many = executemany and bool(params) and isinstance(params[0], tuple | list)
        open_[k].append(Statement(statement, params, many))

    @event.listens_for(sync, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        rows = getattr(cursor, "_rows", None)
        if rows and open_.get(key(conn)):
            open_[key(conn)][-1].returned = [tuple(r) for r in rows]

    def ender(kind: str):  # noqa: ANN202
        def end(conn) -> None:  # noqa: ANN001
            statements = open_.pop(key(conn), None)
            if statements is not None:
                finished.append(Transaction(statements, kind, id(statements) in autocommit))
                order.append((id(statements), len(finished) - 1))

        return end

    event.listen(sync, "commit", ender("COMMIT"))
    event.listen(sync, "rollback", ender("ROLLBACK"))

    rng = random.Random(seed_)
    # The newest shopper: a large id, unlikely to equal an unrelated parameter (a
    # LIMIT, a points figure) that the value-based remapping would then rewrite.
    variables, credential, customer = path.request(world, 0, rng, world.shoppers[-1])
    order_ids = []
    if "input" in variables:
        order_ids = [variables["input"]["externalId"]]
    elif "inputs" in variables:
        order_ids = [i["externalId"] for i in variables["inputs"]]
    app = create_app(settings, database=database)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://capture") as client:
            response = await client.post(
                "/graphql",
                json={"query": path.document, "variables": variables},
                headers={"Authorization": f"Bearer {credential}"},
            )
            found = problems(response.json())
            if found:
                raise RuntimeError(f"capture of {path.name} failed: {found[0]}")
    finally:
        await database.dispose()
    # Transactions in the order they started (a statement-less one is not replayed).
    by_id = {id(t.statements): t for t in finished}
    ordered = [by_id[id(s)] for _, s in started if id(s) in by_id and s]
    return Capture(ordered, customer, order_ids)


class Remap:
    """Per replay: fresh order ids, another customer, and the ids INSERTs return."""

    def __init__(self, cap: Capture, customer: tuple[int, str], tag: str) -> None:
        self.values: dict[Any, Any] = {}
        if customer[0] != cap.customer[0]:
            self.values[cap.customer[0]] = customer[0]
            self.values[cap.customer[1]] = customer[1]
        for i, external in enumerate(cap.order_external_ids):
            self.values[external] = f"{external}-{tag}-{i}"

    def params(self, params: tuple) -> tuple:
        return tuple(self.value(p) for p in params)

    def value(self, p: Any) -> Any:
        """A parameter remapped; an array (PostgreSQL's multi-row writes send one
        array per column, persistence/statements.py) element by element."""
        if isinstance(p, list):
            return [self.value(e) for e in p]
        if isinstance(p, int | str) and not isinstance(p, bool):
            return self.values.get(p, p)
        return p

    def learn(self, statement: Statement, replayed: list[Any]) -> None:
        """Only an INSERT's returned rows are new ids, and the ids drawn from a
        sequence ahead of an insert (persistence.statements.next_ids); a SELECT's
        other rows are data."""
        captured = statement.returned
        words = statement.sql.split(None, 3)
        drawn = statement.sql.startswith("SELECT nextval(")
        if not captured or (not drawn and (len(words) < 3 or words[0].upper() != "INSERT")):
            return
        if not drawn and words[2].strip('"') not in ID_TABLES:
            return
        for old, new in zip(captured, replayed, strict=False):
            first = old[0] if old else None
            if isinstance(first, int) and not isinstance(first, bool) and new[0] != first:
                self.values[first] = new[0]


class PgReplayer:
    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        self.connections = connections
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        self.pool = await asyncpg.create_pool(
            asyncpg_dsn(self.url), min_size=self.connections, max_size=self.connections
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def replay(self, cap: Capture, remap: Remap) -> None:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            for tx in cap.transactions:
                async with contextlib.nullcontext() if tx.autocommit else conn.transaction():
                    for s in tx.statements:
                        if s.many:
                            await conn.executemany(s.sql, [remap.params(p) for p in s.params])
                            continue
                        rows = await conn.fetch(s.sql, *remap.params(s.params))
                        remap.learn(s, rows)


class SqliteReplayer:
    def __init__(self, url: str, connections: int) -> None:
        self.path = make_url(url).database
        self.connections = connections
        self.free: asyncio.Queue = asyncio.Queue()
        self.all: list[Any] = []

    async def open(self) -> None:
        import aiosqlite

        for _ in range(self.connections):
            conn = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
            for pragma in (
                "journal_mode=WAL",
                "foreign_keys=ON",
                "busy_timeout=30000",
                "synchronous=NORMAL",
            ):
                await conn.execute(f"PRAGMA {pragma}")
            self.all.append(conn)
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.all:
            await conn.close()

    async def replay(self, cap: Capture, remap: Remap) -> None:
        conn = await self.free.get()
        try:
            for tx in cap.transactions:
                try:
                    for s in tx.statements:
                        if s.many:
                            await conn.executemany(s.sql, [remap.params(p) for p in s.params])
                            continue
                        cursor = await conn.execute(s.sql, remap.params(s.params))
                        rows = await cursor.fetchall()
                        await cursor.close()
                        remap.learn(s, rows)
                    if conn.in_transaction:
                        await conn.execute(tx.end)
                except BaseException:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
        finally:
            self.free.put_nowait(conn)


async def run_floor(
    world: World, path: Path_, cap: Capture, connections: int, size: Size, seed_: int
) -> Figures:
    rng = random.Random(seed_)
    replayer: PgReplayer | SqliteReplayer = (
        SqliteReplayer(world.url, connections)
        if world.is_sqlite
        else PgReplayer(world.url, connections)
    )
    await replayer.open()
    try:
        pool = world.customers if path.name == "orderRecord" else world.shoppers

        async def one(_: int, n: int) -> tuple[int, list[str]]:
            customer = rng.choice(pool)
            try:
                tag = f"f{next(REPLAYS)}"
                await replayer.replay(cap, Remap(cap, customer, tag))
            except Exception as exc:  # noqa: BLE001 - counted and shown, not fatal
                if os.environ.get("BENCH_DEBUG"):
                    import traceback

                    traceback.print_exc()
                return path.per_request_units, [f"{type(exc).__name__}: {exc}"]
            return path.per_request_units, []

        total = size.requests if path.per_request_units == 1 else connections
        return await drive(connections, max(total, connections), size.seconds, one)
    finally:
        await replayer.close()


# ---- the run ------------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    path: str
    unit: str
    connections: int
    api: Figures
    floor: Figures | None
    statements: int
    round_trips: int = 0


def target(row: Row) -> str:
    ratio = row.api.rate / row.floor.rate if row.floor and row.floor.rate else None
    pct = f"{ratio:.0%}" if ratio is not None else "?"
    if row.path == "orderRecord":
        if row.database == "PostgreSQL" and row.connections == 8:
            return f"≥ 30 % of floor: {'met' if ratio and ratio >= 0.3 else 'missed'} ({pct})"
        if row.database == "SQLite":
            ok = row.api.rate >= 500
            return f"≥ 500/s: {'met' if ok else 'missed'} ({row.api.rate:,.0f})"
    if row.path == "ordersRecordBulk":
        ok = row.api.rate >= 2_000
        return f"≥ 2,000/s: {'met' if ok else 'missed'} ({row.api.rate:,.0f})"
    if row.path == "shopper's read" and row.connections == 32:
        ok_ratio = ratio is not None and ratio >= 0.3
        ok_p99 = row.api.percentile(99) < 50
        return (
            f"≥ 30 % of floor: {'met' if ok_ratio else 'missed'} ({pct}); "
            f"p99 < 50 ms: {'met' if ok_p99 else 'missed'} ({row.api.percentile(99):,.0f})"
        )
    return ""


def print_table(rows: list[Row], size: Size) -> None:
    print()
    print(
        f"bench/api.py, {size.name} size ({size.customers:,} customers, {size.shoppers:,} "
        f"shoppers), {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        "| database | path | conns | API rate | p50 ms | p99 ms | floor rate | floor p50 ms"
        " | API/floor | server peak RSS (< 300 MB) | client CPU | target |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        floor = r.floor
        ratio = f"{r.api.rate / floor.rate:.1%}" if floor and floor.rate else "—"
        rss = f"{r.api.rss_mb:,.0f} MB" if r.api.rss_mb is not None else "—"
        rss += "" if r.api.rss_mb is None or r.api.rss_mb < RSS_TARGET_MB else " (over)"
        floor_cells = f"{floor.rate:,.0f} | {floor.percentile(50):,.1f}" if floor else "— | —"
        print(
            f"| {r.database} | {r.path} | {r.connections} | {r.api.rate:,.0f} {r.unit}"
            f" | {r.api.percentile(50):,.1f} | {r.api.percentile(99):,.1f} | {floor_cells}",
            end="",
        )
        cpu = f"{r.api.client_cpu:.0%}" if r.api.client_cpu is not None else "—"
        print(f" | {ratio} | {rss} | {cpu} | {target(r)} |")
    failures = [r for r in rows if r.api.failures or (r.floor and r.floor.failures)]
    for r in failures:
        if r.api.failures:
            print(
                f"! {r.database} {r.path} x{r.connections}: {r.api.failures} API failures,"
                f" first: {r.api.first_failure}"
            )
        if r.floor and r.floor.failures:
            print(
                f"! {r.database} {r.path} x{r.connections}: {r.floor.failures} floor failures,"
                f" first: {r.floor.first_failure}"
            )
    print(
        "Statements per request (captured): "
        + ", ".join(sorted({f"{r.database} {r.path} {r.statements}" for r in rows}))
    )
    print(
        "Round trips per request (statements + BEGIN/END of each transaction): "
        + ", ".join(sorted({f"{r.database} {r.path} {r.round_trips}" for r in rows}))
    )


async def bench_database(world: World, size: Size, workdir: Path, profile: str | None) -> list[Row]:
    rows: list[Row] = []
    started = time.perf_counter()
    world.batch = size.batch
    await seed(world, size)
    print(
        f"{world.label}: seeded {len(world.customers):,} customers in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    profile_to = workdir / f"profile-{world.label}-{profile}.json" if profile else None
    server = await start_server(world, workdir)
    try:
        await issue_tokens(world, server)
        chosen = paths(size)
        if profile:
            wanted = {"shopper": "shopper's read", "orderRecord": "orderRecord"}[profile]
            history = next(p for p in chosen if p.name == "ordersRecordBulk")
            await run_api(world, server, history, 1, size, 1)
            chosen = [p for p in chosen if p.name == wanted]
        for number, path in enumerate(chosen):
            # The capture runs against the same database before the load, so it sees
            # the history the reads will see (the bulk's first level wrote it).
            cap = None
            for connections in path.levels:
                spy = start_profile(server, profile_to) if profile_to else None
                figures = await run_api(world, server, path, connections, size, number * 100)
                if spy is not None:
                    stop_profile(spy)
                floor = None
                if not profile:
                    if cap is None:
                        cap = await capture(world, path, 7_000 + number)
                    floor = await run_floor(world, path, cap, connections, size, number * 10)
                rows.append(
                    Row(
                        world.label,
                        path.name,
                        path.unit,
                        connections,
                        figures,
                        floor,
                        cap.statement_count if cap else 0,
                        cap.round_trips if cap else 0,
                    )
                )
                f = figures
                print(
                    f"  {path.name:<17} x{connections:<3} API {f.rate:>9,.1f} {path.unit}"
                    f" p50 {f.percentile(50):>8,.1f} ms p99 {f.percentile(99):>8,.1f} ms"
                    f" rss {f.rss_mb:,.0f} MB client cpu {f.client_cpu or 0:.0%}"
                    + (
                        f" | floor {floor.rate:>9,.1f} p50 {floor.percentile(50):,.1f} ms"
                        f" ratio {f.rate / floor.rate:.1%}"
                        if floor and floor.rate
                        else ""
                    )
                    + (f" | {f.failures} failures: {f.first_failure}" if f.failures else ""),
                    flush=True,
                )
    finally:
        stop_server(server)
    if profile_to is not None:
        print(f"profile written to {profile_to}")
        summarize_profile(profile_to)
    return rows


def start_profile(server: Server, to: Path) -> subprocess.Popen:
    """py-spy attached to the running server for one level only (not the seeding)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    command = [
        spy,
        "record",
        "--nonblocking",
        "--format",
        "speedscope",
        "-o",
        str(to),
        "--pid",
        str(server.process.pid),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)  # let it attach before the load starts
    return process


def stop_profile(process: subprocess.Popen) -> None:
    process.send_signal(2)  # SIGINT: py-spy writes the profile and exits
    _, err = process.communicate(timeout=120)
    if process.returncode not in (0, None) and err:
        print(err.decode(errors="replace")[-1000:])


# What a sample is doing, by a frame anywhere on its stack (shares overlap).
ACTIVITIES: list[tuple[str, Callable[[str, str], bool]]] = [
    ("GraphQL validation", lambda n, f: "graphql/validation" in f),
    ("GraphQL execution", lambda n, f: "graphql/execution" in f),
    ("authenticate() (its own session)", lambda n, f: n == "authenticate"),
    ("dataloader batches", lambda n, f: "strawberry/dataloader" in f),
    ("asyncpg, all", lambda n, f: "asyncpg/" in f),
    ("pool pre-ping round trip", lambda n, f: n.endswith("_async_ping")),
    ("BEGIN round trip", lambda n, f: n == "Transaction.start"),
    (
        "COMMIT/ROLLBACK round trip",
        lambda n, f: n in ("Transaction.rollback", "Transaction.commit"),
    ),
    ("statement prepare", lambda n, f: n == "Connection.prepare"),
    ("SQLAlchemy ORM", lambda n, f: "sqlalchemy/orm" in f),
    ("ORM flush", lambda n, f: n.endswith("Session.flush")),
    ("SQL compilation", lambda n, f: "sqlalchemy/sql/compiler" in f),
    ("socket writes", lambda n, f: n == "_SelectorSocketTransport.write"),
    ("domain/ (ours)", lambda n, f: "/domain/" in f),
    ("HTTP parsing (h11)", lambda n, f: "h11/" in f),
    ("JSON", lambda n, f: "/json/" in f),
]


def layer_of(file: str) -> str:
    """The package a frame's file belongs to (graphql, sqlalchemy…), or our own area."""
    if "site-packages/" in file:
        return file.split("site-packages/")[-1].split("/")[0]
    for ours in ("api", "domain", "persistence"):
        if f"/{ours}/" in file:
            return f"{ours}/ (ours)"
    if "/lib/python3" in file:
        return "stdlib: " + file.split("/")[-1]
    return file or "?"


def summarize_profile(path: Path, top: int = 10) -> None:  # noqa: C901
    """Top frames of a py-spy speedscope file, by self and by inclusive share."""
    data = json.loads(path.read_text())
    frames = data["shared"]["frames"]
    own: dict[int, float] = {}
    inclusive: dict[int, float] = {}
    total = 0.0
    doing: dict[str, float] = {}
    for profile in data["profiles"]:
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            named = [(frames[i]["name"], frames[i].get("file") or "") for i in stack]
            for activity, test in ACTIVITIES:
                if any(test(n, f) for n, f in named):
                    doing[activity] = doing.get(activity, 0) + weight
            if stack:
                own[stack[-1]] = own.get(stack[-1], 0) + weight
            for index in set(stack):
                inclusive[index] = inclusive.get(index, 0) + weight

    def name(i: int) -> str:
        f = frames[i]
        where = (f.get("file") or "").replace(str(ROOT) + "/", "")
        where = where.split("site-packages/")[-1]
        return f"{f['name']} ({where}:{f.get('line', '?')})"

    print(f"Top {top} frames by own time (of {total:,.1f} s sampled):")
    for i, w in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {w / total:6.1%}  {name(i)}")
    layers: dict[str, float] = {}
    for i, w in own.items():
        layer = layer_of(frames[i].get("file") or "")
        layers[layer] = layers.get(layer, 0) + w
    print("Own time by package:")
    for layer, w in sorted(layers.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {w / total:6.1%}  {layer}")
    print("Inclusive share by activity:")
    for activity, _ in ACTIVITIES:
        print(f"  {doing.get(activity, 0) / total:6.1%}  {activity}")
    print(f"Top {top * 3} frames by inclusive time:")
    for i, w in sorted(inclusive.items(), key=lambda kv: -kv[1])[: top * 3]:
        print(f"  {w / total:6.1%}  {name(i)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="a tiny size, to check it runs")
    sizes.add_argument("--full", action="store_true", help="the issue's sizes")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a server to create (and drop) loyalty_bench_<pid> on",
    )
    parser.add_argument(
        "--profile",
        choices=["shopper", "orderRecord"],
        help="run this path at 8 connections under py-spy, no floor",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir and databases")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL if args.full else SMALL
    if args.profile:
        size = Size(
            size.name,
            size.customers,
            size.shoppers,
            (1,),
            (8,),
            size.requests * 2,
            size.seconds * 2,
        )
    workdir = Path(tempfile.mkdtemp(prefix="loyalty-bench-api-"))
    worlds = []
    if args.only != "postgres":
        worlds.append(World("SQLite", f"sqlite+aiosqlite:///{workdir / 'bench.db'}"))
    pg_url = None
    if args.only != "sqlite":
        pg_url = make_url(args.postgres_url).set(database=f"loyalty_bench_{os.getpid()}")
        pg_url = pg_url.render_as_string(hide_password=False)
        try:
            await create_pg(pg_url)
            worlds.append(World("PostgreSQL", pg_url))
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"PostgreSQL skipped: {exc}")
            pg_url = None
    rows: list[Row] = []
    try:
        for world in worlds:
            rows.extend(await bench_database(world, size, workdir, args.profile))
    finally:
        if pg_url and not args.keep:
            await drop_pg(pg_url)
        if args.keep or args.profile:
            print(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if rows and not args.profile:
        print_table(rows, size)
        print("The machine may be shared: compare ratios (API/floor), not absolute rates.")


if __name__ == "__main__":
    asyncio.run(main())
