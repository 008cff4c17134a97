"""SIGKILL in the middle of a stream of writes, then a restart and the clients' retries.

A real `loyalty serve` process on PostgreSQL takes a concurrent stream of
`orderRecord` (keyed by externalId) and `rewardRedeem` (keyed by idempotencyKey)
calls; after a fixed number of answers it is killed with SIGKILL, so requests in
flight die at whatever point they reached (before, inside or after their
transaction's commit). The server is started again on the same database and every
request that got no answer is sent again unchanged, as a storefront would. Each order
and each redemption must then exist exactly once, the stock must have dropped by the
number of redemptions, nobody may be charged without a redemption, answered requests
must replay to the same result, and `loyalty ledger audit` must be clean.

PostgreSQL only: SQLite in one file has no concurrent writers to interrupt, and the
claim is about the production database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from domain.access import Role
from persistence.database import Database
from tests.api.live_server import free_port
from tests.api.reward_calls import new_customer, new_reward
from tests.conftest import GraphQLClient, make_key
from tests.databases import PostgresTemplate

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("loyalty")  # the console script operators run
LOYALTY = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from api.cli import main; main()"]
)
WORKERS = 8
ORDERS = 120
REDEMPTIONS = 120
KILL_AFTER_ANSWERS = 90  # of ORDERS + REDEMPTIONS requests
SHOPPERS = 12
SEED_POINTS = 100_000
REWARD_COST = 50
STOCK = REDEMPTIONS + 30  # room to spare: a double take shows as a wrong count, not a refusal
READINESS_POLLS = 400  # × 0.05 s at most for the server to come up

RECORD = """
mutation($input: OrderRecordInput!) {
  orderRecord(input: $input) {
    replayed
    order { id externalId pointsEarned amount { amount currency } customer { id } }
    userErrors { field message code }
  }
}"""

REDEEM = """
mutation($input: RewardRedeemInput!) {
  rewardRedeem(input: $input) {
    replayed
    redemption { id code status pointsSpent reward { id } customer { id } }
    userErrors { field message code }
  }
}"""


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per request
class Call:
    """One client request: resent byte-for-byte when it got no answer."""

    kind: str  # "orderRecord" or "rewardRedeem"
    key: str  # the externalId or the idempotencyKey
    variables: dict

    @property
    def document(self) -> str:
        return RECORD if self.kind == "orderRecord" else REDEEM


@dataclass
class Stream:
    answered: dict[Call, dict] = field(default_factory=dict)
    unanswered: list[Call] = field(default_factory=list)


class ServerProcess:
    """`loyalty serve` in a child process of its own; killed, never asked to stop.

    One worker: with several, SIGKILL reaches only uvicorn's supervisor and its
    workers would go on answering (a crash of the whole host kills them all)."""

    def __init__(self, database_url: str, port: int, log: Path) -> None:
        self.database_url = database_url
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "LOYALTY_ENV": "development",
            # The stream is one key at full speed: far under these, nothing is throttled.
            "LOYALTY_RATE_LIMIT_KEY": "100000/minute",
            "LOYALTY_RATE_LIMIT_STORAGE": "memory://",
        }

    def launch(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [*LOYALTY, "serve", "--port", str(self.port), "--workers", "1"],
                cwd=ROOT,
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        """Launches the server and polls /healthz (bounded) until it answers."""
        self.process = self.launch()
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            for _ in range(READINESS_POLLS):
                if self.process.poll() is not None:
                    break
                try:
                    response = await http.get("/healthz")
                    if response.status_code == 200 and response.json()["database"] == "ok":
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)  # waiting for the port to open, not timing anything
        self.kill()
        raise AssertionError(f"the server did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no draining, connections cut mid-transaction."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)


@pytest.fixture
async def crash_database(postgres_template: PostgresTemplate | None) -> AsyncIterator[str]:
    if postgres_template is None:
        pytest.skip("crash safety runs on PostgreSQL only: TEST_DATABASE_URL is not set")
    name, url = await postgres_template.fresh()
    try:
        yield url
    finally:
        await postgres_template.drop(name)


@pytest.fixture
def server(crash_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(crash_database, free_port(), tmp_path / "server.log")
    try:
        yield process
    finally:
        process.kill()


async def seed(gql: GraphQLClient) -> tuple[list[str], str]:
    shoppers = [
        await new_customer(gql, f"shopper-{i}", points=SEED_POINTS) for i in range(SHOPPERS)
    ]
    reward = await new_reward(gql, name="Crash-test mug", pointsCost=REWARD_COST, stock=STOCK)
    return shoppers, reward["id"]


def the_calls(shoppers: list[str], reward_id: str) -> list[Call]:
    """Orders and redemptions interleaved, spread over the shoppers (so their rows are
    locked by both kinds of write at once)."""
    orders = [
        Call(
            "orderRecord",
            f"crash-order-{n}",
            {
                "input": {
                    "externalId": f"crash-order-{n}",
                    "customer": {"externalId": f"shopper-{n % SHOPPERS}", "name": "Shopper"},
                    "amount": f"{10 + n}.50",
                    "currency": "CNY",
                    "placedAt": "2026-11-01T10:00:00+00:00",
                }
            },
        )
        for n in range(ORDERS)
    ]
    redemptions = [
        Call(
            "rewardRedeem",
            f"crash-redeem-{n}",
            {
                "input": {
                    "customerId": shoppers[n % SHOPPERS],
                    "rewardId": reward_id,
                    "idempotencyKey": f"crash-redeem-{n}",
                }
            },
        )
        for n in range(REDEMPTIONS)
    ]
    interleaved = itertools.chain.from_iterable(itertools.zip_longest(orders, redemptions))
    return [call for call in interleaved if call is not None]


def payload(call: Call, body: dict) -> dict:
    assert "errors" not in body, (call, body["errors"])
    result = body["data"][call.kind]
    assert result["userErrors"] == [], (call, result["userErrors"])
    return result


def outcome(call: Call, result: dict) -> dict:
    """What a replay must give back unchanged (not the customer's later balance)."""
    return result["order"] if call.kind == "orderRecord" else result["redemption"]


async def send(http: httpx.AsyncClient, key: str, call: Call) -> dict:
    response = await http.post(
        "/graphql",
        json={"query": call.document, "variables": call.variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, (call, response.status_code, response.text)
    return payload(call, response.json())


async def send_all(http: httpx.AsyncClient, key: str, calls: list[Call]) -> dict[Call, dict]:
    """The calls over WORKERS concurrent clients, each of which must be answered."""
    results: dict[Call, dict] = {}
    pending = list(reversed(calls))

    async def worker() -> None:
        while pending:
            call = pending.pop()
            results[call] = await send(http, key, call)

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return results


async def run_until_killed(server: ServerProcess, key: str, calls: list[Call]) -> Stream:
    """WORKERS clients take calls in order; the one receiving answer number
    KILL_AFTER_ANSWERS kills the server at once, while the others are mid-request.
    A call that ends in a transport error (reset, refused, cut off) got no answer."""
    stream = Stream()
    queue = list(reversed(calls))

    async def worker(http: httpx.AsyncClient) -> None:
        while queue:
            call = queue.pop()
            try:
                result = await send(http, key, call)
            except httpx.TransportError:
                stream.unanswered.append(call)
                continue
            stream.answered[call] = result
            if len(stream.answered) == KILL_AFTER_ANSWERS:
                server.kill()

    limits = httpx.Limits(max_connections=WORKERS)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(WORKERS)))
    return stream


async def count_rows(database_url: str) -> dict[str, object]:
    database = Database.connect(database_url)
    try:
        async with database.sessions() as session:

            async def rows(sql: str) -> list:
                return list((await session.execute(text(sql))).all())

            return {
                "orders": dict(
                    await rows("SELECT external_id, count(*) FROM orders GROUP BY external_id")
                ),
                "earn_entries_per_order": dict(
                    await rows(
                        "SELECT order_id, count(*) FROM ledger_entries "
                        "WHERE kind = 'EARN' GROUP BY order_id"
                    )
                ),
                "redemption_keys": dict(
                    await rows(
                        "SELECT split_part(key, ':', 2), count(*) FROM idempotency_keys "
                        "WHERE operation = 'rewardRedeem' GROUP BY 1"
                    )
                ),
                "redemptions": await rows("SELECT id, points_spent FROM redemptions"),
                # Each redemption with the REDEEM entries (charges) that point at it.
                "charges": dict(
                    await rows(
                        "SELECT r.id, coalesce(sum(-e.points), 0) || 'x' || count(e.id) "
                        "FROM redemptions r LEFT JOIN ledger_entries e "
                        "ON e.redemption_id = r.id AND e.kind = 'REDEEM' GROUP BY r.id"
                    )
                ),
                "unattached_charges": (
                    await rows(
                        "SELECT count(*) FROM ledger_entries "
                        "WHERE kind = 'REDEEM' AND redemption_id IS NULL"
                    )
                )[0][0],
                "stock": (await rows("SELECT stock FROM rewards"))[0][0],
            }
    finally:
        await database.dispose()


async def ledger_audit(database_url: str) -> subprocess.CompletedProcess[str]:
    """`loyalty ledger audit` as an operator runs it after the incident."""
    return await asyncio.to_thread(
        subprocess.run,
        [*LOYALTY, "ledger", "audit"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_sigkill_mid_stream_then_retries_leave_each_write_exactly_once(
    server: ServerProcess, crash_database: str
):
    seeding = Database.connect(crash_database)
    try:
        key = await make_key(seeding, Role.ADMIN, name="crash test")
    finally:
        await seeding.dispose()
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        shoppers, reward_id = await seed(GraphQLClient(http, key))
    calls = the_calls(shoppers, reward_id)

    stream = await run_until_killed(server, key, calls)

    assert server.process is not None and server.process.returncode == -signal.SIGKILL
    assert len(stream.answered) >= KILL_AFTER_ANSWERS
    assert len(stream.answered) + len(stream.unanswered) == len(calls)
    assert stream.unanswered, "the kill came after the last request"

    await server.start()  # same database, same port: the clients' URL is unchanged
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        retried = await send_all(http, key, stream.unanswered)
        replayed = await send_all(http, key, list(stream.answered))
        again = await send_all(http, key, stream.unanswered)

    # Every answered call replays to the very result it first gave.
    for call, first in stream.answered.items():
        assert replayed[call]["replayed"] is True, call
        assert outcome(call, replayed[call]) == outcome(call, first), call
    # A retry either did the work now or found it done before the kill; once more is a replay.
    for call, result in retried.items():
        assert again[call]["replayed"] is True, call
        assert outcome(call, again[call]) == outcome(call, result), call

    done_before_kill = sum(1 for result in retried.values() if result["replayed"])
    print(  # shown with -rP: how many cut-off requests had committed before the kill
        f"answered {len(stream.answered)}, unanswered {len(stream.unanswered)}, "
        f"of which committed before the kill {done_before_kill}"
    )
    final = {**stream.answered, **retried}
    order_calls = [c for c in calls if c.kind == "orderRecord"]
    redeem_calls = [c for c in calls if c.kind == "rewardRedeem"]
    redemption_ids = {outcome(c, final[c])["id"] for c in redeem_calls}
    assert len(redemption_ids) == REDEMPTIONS  # one distinct redemption per key

    rows = await count_rows(crash_database)
    assert rows["orders"] == {c.key: 1 for c in order_calls}
    assert set(rows["earn_entries_per_order"].values()) <= {1}
    assert len(rows["earn_entries_per_order"]) == ORDERS
    assert rows["redemption_keys"] == {c.key: 1 for c in redeem_calls}
    assert len(rows["redemptions"]) == REDEMPTIONS
    assert rows["charges"] == {rid: f"{REWARD_COST}x1" for rid, _ in rows["redemptions"]}
    assert rows["unattached_charges"] == 0
    assert rows["stock"] == STOCK - REDEMPTIONS

    audit = await ledger_audit(crash_database)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"audited {SHOPPERS} customers: 0 violations" in audit.stdout
