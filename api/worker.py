"""`loyalty worker`: the loop and its signals. The work itself is the domain's:
`WebhookDispatcher` (fan-out, claim, send, record), `DailyScheduler` (the daily
pass once per program-local day), `JourneyEngine` (journey runs from the outbox,
acted on when due) and `ImportJobRunner` (import jobs, one at a time per worker, run
by the import loop of `loyalty import`).

Each turn of the loop fans new outbox events out into deliveries, runs the daily
pass if no worker has run it today, turns new events into journey runs and acts on
the due ones (each in its own transaction), delivers the due messages
(`MessagePipeline`, docs/messaging.md: one after the other, in claims of
`concurrency`, until none is due), and claims as many due deliveries as it has free
sending slots. Sends run as tasks beside the loop, each bounded by its own timeout,
so a slow receiver holds one slot and never the others nor the next turn.

SIGTERM or SIGINT stops claiming; sends in flight get `shutdown_grace_s` to finish
(more than a send's timeout, so normally all do), and any still running after that
are cancelled and their deliveries released, due again at once for the next worker.
An import job runs as a task beside the loop too: stopping gives it the same grace,
then cancels it and ends its lease, so the next worker resumes it at once.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from api.import_jobs.files import discard_upload
from api.imports import CHUNK, Resume, run_import
from api.messaging.wiring import Channels, channels, unsubscribe_links
from api.settings import Settings
from api.webhooks.render import render
from api.webhooks.transport import HttpSender
from domain.clock import Clock, SystemClock
from domain.daily import DailyScheduler
from domain.import_jobs import ImportJob, ImportJobRunner, JobStatus, LeaseLost, summary_of
from domain.imports import ImportService
from domain.journeys.engine import JourneyEngine
from domain.messaging.channels import ChannelAdapter
from domain.messaging.pipeline import MessagePipeline, PassReport
from domain.messaging.templates import TemplateChannel
from domain.webhooks import (
    Claimed,
    RetryPolicy,
    RoundReport,
    SecretBox,
    WebhookDispatcher,
    WebhookSender,
)
from persistence.database import Database
from persistence.unit_of_work import unit_of_work_factory

log = logging.getLogger("loyalty.worker")

FANOUT_BATCH = 1000
MAX_FANOUT_BATCHES_PER_TURN = 20
# An import that stops on an unexpected error (a lost database connection) is
# released for another try, resumed where it stopped, until its third claim; then
# FAILED. A file the import cannot read fails at once.
IMPORT_TRIES = 3
# Journey runs acted on per turn: each is one short transaction; more wait a turn.
JOURNEY_RUNS_PER_TURN = 200
FILE_PROBLEMS = (ValueError, OSError, csv.Error)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass
class Totals:
    fanned_out: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    dead: int = 0
    daily_passes: int = 0
    released: int = 0
    imports: int = 0
    journey_runs: int = 0
    messages: int = 0
    in_flight: set[asyncio.Task[None]] = field(default_factory=set)


class Worker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Clock | None = None,
        sender: WebhookSender | None = None,
        policy: RetryPolicy | None = None,
        name: str | None = None,
        daily: bool = True,
        message_channels: dict[TemplateChannel, ChannelAdapter] | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.name = name or worker_name()
        self._own_sender = sender is None
        self.sender: WebhookSender = sender or HttpSender(
            production=settings.is_production, timeout_s=settings.webhook_timeout_s
        )
        uow = unit_of_work_factory(database, settings.program_defaults())
        self.dispatcher = WebhookDispatcher(
            uow,
            self.clock,
            SecretBox(settings.secret_key),
            self.sender,
            worker=self.name,
            policy=policy or RetryPolicy(max_attempts=settings.webhook_max_attempts),
            render=render,
        )
        self.scheduler = DailyScheduler(uow, self.clock, worker=self.name) if daily else None
        self.journeys = JourneyEngine(uow, self.clock)
        self.concurrency = settings.worker_concurrency
        self.totals = Totals()
        self.importer = ImportService(uow, self.clock, phone_region=settings.phone_region)
        self.imports = ImportJobRunner(
            uow, self.clock, worker=self.name, lease=timedelta(seconds=settings.import_lease_s)
        )
        self.import_chunk = CHUNK
        self.import_task: asyncio.Task[ImportJob | None] | None = None
        self.importing: ImportJob | None = None  # the job claimed and running, if any
        # Messaging (docs/messaging.md): the channels the settings make real, unless
        # the caller (a test) brings its own adapters.
        self.channels = (
            Channels() if message_channels is not None else channels(settings, self.clock)
        )
        self.messages = MessagePipeline(
            uow,
            self.clock,
            message_channels if message_channels is not None else self.channels.adapters,
            unsubscribe_links(settings),
            worker=self.name,
        )

    async def close(self) -> None:
        await self.channels.aclose()
        if self._own_sender and isinstance(self.sender, HttpSender):
            await self.sender.aclose()

    # ---- one turn

    async def fan_out(self) -> int:
        made = 0
        for _ in range(MAX_FANOUT_BATCHES_PER_TURN):
            before = await self.dispatcher.fan_out(FANOUT_BATCH)
            made += before
            if before == 0:
                break
        self.totals.fanned_out += made
        return made

    async def run_journeys(self) -> int:
        """New outbox events into journey runs, then the due runs acted on."""
        made = 0
        for _ in range(MAX_FANOUT_BATCHES_PER_TURN):
            report = await self.journeys.fan_out(FANOUT_BATCH)
            made += report.runs
            if report.events < FANOUT_BATCH:
                break
        acted = await self.journeys.act_due(JOURNEY_RUNS_PER_TURN)
        self.totals.journey_runs += len(acted)
        if made or acted:
            log.info("journeys: %d runs made, %d acted on", made, len(acted))
        return len(acted)

    async def daily_pass(self) -> None:
        if self.scheduler is None:
            return
        ran = await self.scheduler.run_if_due()
        if ran is not None:
            day, report = ran
            self.totals.daily_passes += 1
            log.info("daily pass for %s: %s", day.isoformat(), report)

    async def run_daily_as_of(self, as_of: datetime) -> object:
        """The daily pass by hand (`--as-of`), whether or not that day already ran."""
        scheduler = self.scheduler or DailyScheduler(
            self.dispatcher.uow_factory, self.clock, worker=self.name
        )
        ran = await scheduler.run_for(as_of, force=True)
        assert ran is not None
        return ran[1]

    async def deliver_messages(self) -> PassReport:
        """Every due message, one claim of `concurrency` at a time (docs/messaging.md)."""
        report = await self.messages.run_until_idle(self.concurrency)
        if report.claimed:
            self.totals.messages += report.claimed
            log.info("messages: %s", report)
        return report

    # ---- import jobs

    async def run_import_job(self) -> ImportJob | None:
        """Claims the next import job (queued, or left by a worker whose lease ran
        out) and runs it to its end; None when there was none."""
        job = await self.imports.claim()
        if job is None:
            return None
        self.importing = job
        try:
            return await self._run_claimed(job)
        finally:
            self.importing = None

    async def _run_claimed(self, job: ImportJob) -> ImportJob:
        log.info("import %s (%s from %s): claim %d", job.id, job.kind, job.file_name, job.attempts)
        p = job.progress
        resume = Resume(summary_of(job.summary), p.errors_bytes) if p.errors_bytes else None
        try:
            summary, errors_path = await run_import(
                self.importer,
                Path(job.file_path),
                job.kind.cli_name,
                award_points=job.award_points,
                mapping=job.mapping or None,
                errors_path=Path(job.errors_path),
                chunk_size=self.import_chunk,
                resume=resume,
                on_chunk=lambda so_far, size: self.imports.save_progress(job, so_far, size),
            )
        except LeaseLost as exc:
            log.warning("%s: stopped", exc)
            return job
        except asyncio.CancelledError:
            await asyncio.shield(self.imports.release(job))
            raise
        except FILE_PROBLEMS as exc:
            log.warning("import %s failed: %s", job.id, exc)
            return await self._ended(job, await self.imports.fail(job, str(exc)))
        except Exception:
            log.exception("import %s stopped", job.id)
            if job.attempts < IMPORT_TRIES:
                await self.imports.release(job)
                return job
            failed = await self.imports.fail(
                job,
                f"The import stopped on an internal error {job.attempts} times; "
                "see the worker's log.",
            )
            return await self._ended(job, failed)
        done = await self._ended(
            job, await self.imports.succeed(job, summary, errors_path.stat().st_size)
        )
        self.totals.imports += 1
        log.info("import %s: %s", job.id, done.summary)
        return done

    @staticmethod
    async def _ended(job: ImportJob, ended: ImportJob) -> ImportJob:
        """An ended job's upload is deleted (api/import_jobs/files.discard_upload)."""
        await asyncio.to_thread(discard_upload, Path(job.file_path), Path(job.errors_path))
        return ended

    async def run_imports(self) -> int:
        """Every import job there is, one after the other (`--once`)."""
        ran = 0
        while (job := await self.run_import_job()) is not None:
            ran += 1
            if job.status is JobStatus.RUNNING:
                break  # released after an error: the next round tries it again
        return ran

    def _start_import(self) -> None:
        if self.import_task is None or self.import_task.done():
            if self.import_task is not None and not self.import_task.cancelled():
                error = self.import_task.exception()
                if error is not None:
                    log.error("import task failed: %r", error)
            self.import_task = asyncio.ensure_future(self.run_import_job())

    async def _send(self, claimed: Claimed) -> None:
        try:
            delivery = await self.dispatcher.send(claimed)
        except Exception:
            log.exception("delivery %s: sending failed", claimed.delivery.id)
            return
        self.totals.sent += 1
        if delivery.status.value == "SUCCEEDED":
            self.totals.succeeded += 1
        elif delivery.status.value == "DEAD":
            self.totals.dead += 1
            log.warning(
                "delivery %s to subscription %s is DEAD after %s failures: %s",
                delivery.id,
                delivery.subscription_id,
                delivery.failures,
                delivery.last_error,
            )
        else:
            self.totals.failed += 1

    def _start_sends(self, claimed: list[Claimed]) -> None:
        for item in claimed:
            task = asyncio.ensure_future(self._send(item))
            task.claimed = item  # type: ignore[attr-defined]
            self.totals.in_flight.add(task)
            task.add_done_callback(self.totals.in_flight.discard)

    async def run_once(self) -> RoundReport:
        """One full round (`--once`): fan out, the daily pass if due, then claim and
        send every due delivery, waiting for the sends."""
        before = Totals(**{k: v for k, v in vars(self.totals).items() if k != "in_flight"})
        await self.fan_out()
        await self.daily_pass()
        await self.run_imports()
        await self.run_journeys()
        await self.fan_out()  # the events the imports and journeys raised
        await self.deliver_messages()  # the journeys' messages among them
        while True:
            claimed = await self.dispatcher.claim(self.concurrency)
            if not claimed:
                break
            self._start_sends(claimed)
            await asyncio.gather(*list(self.totals.in_flight))
        return RoundReport(
            fanned_out=self.totals.fanned_out - before.fanned_out,
            sent=self.totals.sent - before.sent,
            succeeded=self.totals.succeeded - before.succeeded,
            failed=self.totals.failed - before.failed,
            dead=self.totals.dead - before.dead,
        )

    # ---- the loop

    async def run(self, stop: asyncio.Event) -> None:
        poll = self.settings.worker_poll_s
        log.info("worker %s started (%d sending slots)", self.name, self.concurrency)
        last_logged = (0, 0)
        while not stop.is_set():
            try:
                await self.fan_out()
                await self.daily_pass()
                await self.run_journeys()
                self._start_import()
                await self.deliver_messages()
                free = self.concurrency - len(self.totals.in_flight)
                claimed = await self.dispatcher.claim(free) if free > 0 else []
                self._start_sends(claimed)
            except Exception:
                log.exception("worker turn failed; trying again")
                claimed = []
            counts = (self.totals.fanned_out, self.totals.sent)
            if counts != last_logged:
                last_logged = counts
                log.info(
                    "fanned out %d, sent %d (%d ok, %d to retry, %d dead), %d in flight",
                    self.totals.fanned_out,
                    self.totals.sent,
                    self.totals.succeeded,
                    self.totals.failed,
                    self.totals.dead,
                    len(self.totals.in_flight),
                )
            if claimed and len(self.totals.in_flight) < self.concurrency:
                continue  # more may be due: claim again at once
            await _first_of(stop, self.totals.in_flight, poll)
        await self._drain()
        log.info("worker %s stopped: %s", self.name, self.summary())

    async def _drain(self) -> None:
        await self._stop_import()
        in_flight = list(self.totals.in_flight)
        if not in_flight:
            return
        log.info("stopping: waiting for %d sends in flight", len(in_flight))
        _, pending = await asyncio.wait(in_flight, timeout=self.settings.worker_shutdown_grace_s)
        if not pending:
            return
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        ids = [t.claimed.delivery.id for t in pending]  # type: ignore[attr-defined]
        await self.dispatcher.release([i for i in ids if i is not None])
        self.totals.released += len(ids)
        log.info("released %d unfinished deliveries", len(ids))

    async def _stop_import(self) -> None:
        task = self.import_task
        if task is None or task.done():
            return
        # The task runs on every turn: most of the time it only looks for a job.
        if self.importing is not None:
            log.info("stopping: waiting for import %s in progress", self.importing.id)
        _, pending = await asyncio.wait({task}, timeout=self.settings.worker_shutdown_grace_s)
        if pending:
            task.cancel()  # run_import_job ends its lease: the next worker resumes it
            await asyncio.gather(task, return_exceptions=True)
            log.info("released the unfinished import")

    def summary(self) -> str:
        t = self.totals
        return (
            f"fanned out {t.fanned_out}, sent {t.sent} ({t.succeeded} ok, {t.failed} to retry, "
            f"{t.dead} dead), {t.daily_passes} daily passes, {t.released} released, "
            f"{t.imports} imports, {t.journey_runs} journey runs"
        )


async def _first_of(stop: asyncio.Event, tasks: set[asyncio.Task[None]], poll_s: float) -> None:
    """Waits until stop is set, a send finishes, or `poll_s` seconds pass."""
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopper, *tasks}, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()


async def serve_worker(database: Database, settings: Settings, *, once: bool = False) -> Worker:
    """Runs the worker until SIGTERM/SIGINT (or one round with `once`)."""
    worker = Worker(database, settings)
    try:
        if once:
            report = await worker.run_once()
            log.info("one round: %s", report)
            return worker
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await worker.run(stop)
        return worker
    finally:
        await worker.close()
