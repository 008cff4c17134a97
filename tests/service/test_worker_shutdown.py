"""`loyalty worker` as a real process stopped with SIGTERM: a send in flight finishes
(or, past the grace period, is released for the next worker), and the process exits
cleanly. The waits below are hang guards, not timings: each ends as soon as its
condition holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime

from sqlalchemy import select

from domain.clock import FixedClock
from persistence.database import Database
from persistence.webhooks import WebhookDeliveryRow
from tests.event_horizon import settle
from tests.service.test_webhook_workers import SECRET_KEY, append_events, subscribe
from tests.webhook_receiver import receiver

HANG_GUARD_S = 120


def start_worker(database: Database, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"],
        env={
            **os.environ,
            "DATABASE_URL": database.url,
            "LOYALTY_SECRET_KEY": SECRET_KEY,
            "LOYALTY_WORKER_POLL_S": "0.05",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def delivery_row(database: Database) -> WebhookDeliveryRow:
    async with database.sessions() as session:
        return (await session.execute(select(WebhookDeliveryRow))).scalar_one()


async def stop_during_a_send(database: Database, **env: str) -> tuple[subprocess.Popen[str], str]:
    """Starts a worker, holds its one send at the receiver, sends SIGTERM, and lets the
    receiver answer only once the worker has said it is stopping: so the send is in
    flight when the signal is handled, however slow the machine."""
    clock = FixedClock(datetime.now(UTC))
    with receiver() as hook:
        hook.hold = threading.Event()
        await subscribe(database, clock, hook.url)
        await append_events(database, 1, customers=1, at=clock.at)
        await settle(database)
        worker = start_worker(database, **env)
        lines: list[str] = []
        stopping = threading.Event()

        def read() -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                lines.append(line)
                # The send's line, not any "stopping" line: the worker may first wait
                # for its import task (a poll for queued import jobs in progress).
                if "sends in flight" in line:
                    stopping.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert hook.arrived.wait(HANG_GUARD_S), "the worker never sent"
            worker.send_signal(signal.SIGTERM)
            assert stopping.wait(HANG_GUARD_S), "the worker never said it was stopping"
            if env.get("LOYALTY_WORKER_SHUTDOWN_GRACE_S") != "0":
                hook.hold.set()  # the receiver answers after the worker began stopping
            worker.wait(timeout=HANG_GUARD_S)
            reader.join(HANG_GUARD_S)
        finally:
            hook.hold.set()
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return worker, "".join(lines)


async def test_sigterm_lets_the_send_in_flight_finish(database):
    worker, output = await stop_during_a_send(database)
    assert worker.returncode == 0, output
    assert "stopping: waiting for 1 sends in flight" in output
    assert "stopped" in output
    row = await delivery_row(database)
    assert (row.status, row.attempts, row.locked_until) == ("SUCCEEDED", 1, None)


async def test_a_send_outlasting_the_grace_period_is_released(database):
    worker, output = await stop_during_a_send(database, LOYALTY_WORKER_SHUTDOWN_GRACE_S="0")
    assert worker.returncode == 0, output
    assert "released 1 unfinished deliveries" in output
    row = await delivery_row(database)
    assert (row.status, row.attempts, row.locked_until, row.locked_by) == (
        "PENDING",
        0,
        None,
        None,
    )


def test_serve_with_worker_starts_and_stops_both(tmp_path):
    """`make run`'s command: one process tree, the worker stopped with the server."""
    from persistence.migrations import upgrade
    from tests.api.live_server import free_port

    url = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    upgrade(url)
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--with-worker", "--workers", "1"]
        + ["--port", str(free_port())],
        env={**os.environ, "DATABASE_URL": url, "LOYALTY_WORKER_POLL_S": "0.05"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            text = "".join(lines)
            if "started (" in text and "Application startup complete" in text:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(HANG_GUARD_S), "".join(lines)
        server.send_signal(signal.SIGTERM)
        assert server.wait(HANG_GUARD_S) == 0
        reader.join(HANG_GUARD_S)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = "".join(lines)
    assert "Finished server process" in output
    assert "stopped: fanned out 0" in output, output
