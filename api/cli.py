"""The `loyalty` command: serve, migrate, manage API keys, export the schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from api.settings import get_settings


def _database():  # noqa: ANN202
    from persistence.database import Database

    return Database.connect(get_settings().database_url)


@click.group()
def main() -> None:
    """Loyalty Graph: a GraphQL backend for customer retention."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Server processes sharing the port [default: the number of cores].",
)
@click.option(
    "--with-worker",
    is_flag=True,
    help="Also run `loyalty worker` beside the server (a child process, stopped with it).",
)
def serve(host: str, port: int, workers: int | None, with_worker: bool) -> None:
    """Serves the API (GraphiQL at /graphql in development, the console at /console).

    One process runs Python on one core, so the default is one process per core; each
    has its own engine and pool (at most 30 PostgreSQL connections each), its
    own document and API key caches, and, with the default `memory://` rate-limit
    storage, its own rate-limit counters (use Redis to share them). uvloop and
    httptools replace asyncio's default loop and the pure-Python h11 parser.

    `--with-worker` (what `make run` uses) starts one `loyalty worker` beside the
    server, so webhooks are delivered with one command."""
    settings = get_settings()  # refuse bad settings here, once, before any worker starts
    click.echo("")
    if not settings.is_production:
        click.echo(f"  GraphiQL:  http://{host}:{port}/graphql")
    click.echo(f"  Console:   http://{host}:{port}/console\n")
    worker = None
    if with_worker:
        import signal
        import subprocess
        import sys

        # uvicorn re-raises the SIGTERM it stopped on once it has shut down; as an
        # exception here (not the default, which ends the process at once) it lets the
        # `finally` below stop the worker too.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        worker = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"])
    try:
        _run_server(host, port, workers)
    finally:
        if worker is not None:
            worker.terminate()  # SIGTERM: the worker finishes or releases its sends
            try:
                worker.wait(timeout=get_settings().worker_shutdown_grace_s + 10)
            except subprocess.TimeoutExpired:
                worker.kill()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _run_server(host: str, port: int, workers: int | None) -> None:
    import os

    import uvicorn

    uvicorn.run(
        "api.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or os.cpu_count() or 1,
        loop="uvloop",
        http="httptools",
        log_level="info",
        server_header=False,
        # A worker answers the supervisor's ping only once the app is imported, which
        # takes more than uvicorn's default 5 s on a busy 2-core machine.
        timeout_worker_healthcheck=60,
    )


@main.command()
def migrate() -> None:
    """Upgrades the database to the newest schema (alembic upgrade head)."""
    from persistence.migrations import upgrade

    upgrade(get_settings().database_url)
    click.echo("database is at the newest schema")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """Seeds a demo program into an empty database and prints a fresh admin key."""
    from api.demo import issue_demo_key, seed_if_empty

    async def run() -> tuple[bool, str]:
        database = _database()
        try:
            seeded = await seed_if_empty(database, phone_region=get_settings().phone_region)
            return seeded, await issue_demo_key(database)
        finally:
            await database.dispose()

    seeded, secret = asyncio.run(run())
    if seeded:
        click.echo("seeded a demo program: tiers, customers, tags, orders and rewards")
    click.echo(f"\n  GraphiQL:  http://{host}:{port}/graphql")
    click.echo(f"  Console:   http://{host}:{port}/console")
    click.echo(f"  Admin key: {secret}")
    click.echo('  In GraphiQL, add the header {"Authorization": "Bearer <key>"}\n')


@main.group()
def apikey() -> None:
    """Creates, lists and revokes API keys."""


@apikey.command("create")
@click.option("--name", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "storefront", "partner", "analyst"], case_sensitive=False),
)
@click.option("--expires-in-days", type=int, default=None)
def apikey_create(name: str, role: str, expires_in_days: int | None) -> None:
    """Creates a key and prints it. It is shown this once."""
    from domain.access import ApiKeyService, CreateApiKey, Role
    from domain.clock import SystemClock
    from domain.errors import DomainError, InvalidInput
    from persistence.unit_of_work import SqlUnitOfWork

    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None

    async def run() -> str:
        database = _database()
        try:
            service = ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock())
            issued = await service.create(CreateApiKey(name, Role(role.upper()), expires))
            return issued.secret
        finally:
            await database.dispose()

    try:
        click.echo(asyncio.run(run()))
    except (DomainError, InvalidInput) as exc:
        raise click.ClickException(str(exc)) from None


@apikey.command("list")
def apikey_list() -> None:
    """Lists keys (never their secrets)."""
    from persistence.api_keys import list_keys

    async def run():  # noqa: ANN202
        database = _database()
        try:
            async with database.sessions() as session:
                return await list_keys(session)
        finally:
            await database.dispose()

    for key in asyncio.run(run()):
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.id}\t{key.prefix}…\t{key.role.value}\t{state}\t{key.name}")


@apikey.command("revoke")
@click.argument("key_id", type=int)
def apikey_revoke(key_id: int) -> None:
    """Revokes the key with this numeric id (see `loyalty apikey list`)."""
    from domain.access import ApiKeyService
    from domain.clock import SystemClock
    from domain.errors import DomainError
    from persistence.unit_of_work import SqlUnitOfWork

    async def run() -> None:
        database = _database()
        try:
            await ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock()).revoke(key_id)
        finally:
            await database.dispose()

    try:
        asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"revoked key {key_id}")


@main.group()
def jobs() -> None:
    """Scheduled work (the worker will run these; the CLI runs them by hand)."""


@jobs.command("run-daily")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Run as of this instant (UTC unless an offset is given); default now.",
)
def jobs_run_daily(as_of: datetime | None) -> None:
    """Activates due pending points, expires due points, steps tiers down, raises
    birthdays, repurchase reminders, lifecycle changes and tracked segment moves.

    Safe to run again: the second run the same program-local day changes nothing."""
    from domain.jobs import run_daily
    from persistence.unit_of_work import SqlUnitOfWork

    when = as_of or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    settings = get_settings()

    async def run():  # noqa: ANN202
        database = _database()
        try:
            return await run_daily(
                lambda: SqlUnitOfWork(database, settings.program_defaults()), when
            )
        finally:
            await database.dispose()

    report = asyncio.run(run())
    click.echo(
        f"as of {when.isoformat()}: {report.activated_lots} lots became available, "
        f"{report.expired_lots} lots expired ({report.expired_points} points), "
        f"{report.expiry_notices} expiring-soon notices, {report.tier_changes} tier downgrades, "
        f"{report.birthdays} birthdays, {report.repurchase_due} repurchase reminders, "
        f"{report.lifecycle_changes} lifecycle changes, "
        f"{report.segment_entered} segment entries, {report.segment_exited} segment exits"
    )
    if report.prediction_fit:
        click.echo(report.prediction_fit)


@main.group()
def predict() -> None:
    """Predicted customer value (BG/NBD and Gamma-Gamma: docs/predictions.md)."""


AS_OF_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def _instant(value: datetime | None) -> datetime:
    when = value or datetime.now(UTC)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@predict.command("fit")
@click.option(
    "--as-of",
    type=click.DateTime(formats=AS_OF_FORMATS),
    default=None,
    help="Fit on the history up to this instant (UTC unless an offset is given); default now.",
)
def predict_fit(as_of: datetime | None) -> None:
    """Fits both models and stores the fit with every buyer's prediction. A fit that
    fails or does not converge is recorded as such, and the previous one stays in use
    (exit status 1)."""
    from domain.predictions.service import describe_fit, fit_and_store
    from persistence.unit_of_work import SqlUnitOfWork

    when = _instant(as_of)
    settings = get_settings()

    async def run():  # noqa: ANN202
        database = _database()
        try:
            return await fit_and_store(
                lambda: SqlUnitOfWork(database, settings.program_defaults()),
                when,
                datetime.now(UTC),
            )
        finally:
            await database.dispose()

    fitted = asyncio.run(run())
    click.echo(f"as of {when.isoformat()}: {describe_fit(fitted)}")
    if not fitted.converged:
        raise SystemExit(1)


@predict.command("calibrate")
@click.option(
    "--cutoff",
    type=click.DateTime(formats=AS_OF_FORMATS),
    required=True,
    help="Fit on the history up to this instant (UTC unless an offset is given).",
)
@click.option("--holdout-days", type=int, required=True, help="Days compared after the cutoff.")
def predict_calibrate(cutoff: datetime, holdout_days: int) -> None:
    """Fits on the history up to the cutoff and compares each buyer's expected purchases
    in the holdout with the purchase days they really had (nothing is stored)."""
    from domain.errors import DomainError
    from domain.predictions.service import calibrate
    from persistence.unit_of_work import SqlUnitOfWork

    settings = get_settings()

    async def run():  # noqa: ANN202
        database = _database()
        try:
            return await calibrate(
                lambda: SqlUnitOfWork(database, settings.program_defaults()),
                _instant(cutoff),
                holdout_days,
                datetime.now(UTC),
            )
        finally:
            await database.dispose()

    try:
        report = asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if not report.converged:
        raise click.ClickException(f"the fit up to the cutoff failed: {report.message}")
    click.echo(
        f"{report.customers} buyers, holdout of {report.holdout_days} days: predicted "
        f"{report.predicted_total:.1f} purchases, actual {report.actual_total}; mean absolute "
        f"error {report.mean_absolute_error:.3f}, RMSE {report.root_mean_squared_error:.3f}"
    )
    click.echo("repeat days  buyers  predicted  actual (mean per buyer in the holdout)")
    for row in report.by_frequency:
        label = f"{row.frequency}+" if row.or_more else str(row.frequency)
        click.echo(f"{label:>11}  {row.customers:>6}  {row.predicted:>9.3f}  {row.actual:>6.3f}")


@main.command()
@click.option("--once", is_flag=True, help="Run one round (fan out, daily pass if due, send).")
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
    default=None,
    help="Run the daily pass as of this instant (UTC unless an offset is given), even "
    "if a worker already ran that day, then exit.",
)
def worker(once: bool, as_of: datetime | None) -> None:
    """Delivers webhooks and runs the daily pass once per program-local day.

    Runs until SIGTERM or SIGINT: sends in flight finish (or are released for
    another worker). Several workers may share one PostgreSQL database; run one on
    SQLite."""
    import logging

    from api.worker import Worker, serve_worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("loyalty.worker").setLevel(logging.INFO)
    settings = get_settings()

    async def run() -> None:
        database = _database()
        try:
            if as_of is None:
                await serve_worker(database, settings, once=once)
                return
            when = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
            hand = Worker(database, settings)
            try:
                report = await hand.run_daily_as_of(when)
            finally:
                await hand.close()
            click.echo(f"daily pass as of {when.isoformat()}: {report}")
        finally:
            await database.dispose()

    asyncio.run(run())


@main.group()
def readmodel() -> None:
    """The analytics read model kept on write (customer_order_months)."""


@readmodel.command("rebuild")
def readmodel_rebuild() -> None:
    """Rebuilds the per-customer monthly read model from the orders, in the program's
    time zone: after loading orders that bypassed the API, or when the table was
    built in another zone than the program's (reads then ignore it)."""
    from persistence.orders import rebuild_order_months
    from persistence.program import load_program

    settings = get_settings()

    async def run() -> tuple[str, int]:
        database = _database()
        try:
            async with database.sessions() as session:
                program = await load_program(session, settings.program_defaults())
                rows = await rebuild_order_months(session, program.timezone)
                await session.commit()
                return program.timezone, rows
        finally:
            await database.dispose()

    zone, rows = asyncio.run(run())
    click.echo(f"read model rebuilt in {zone}: {rows} rows")


@main.group()
def ledger() -> None:
    """Checks on the points ledger."""


@ledger.command("audit")
def ledger_audit() -> None:
    """Checks every ledger invariant for every customer; exit code 1 on any violation."""
    from domain.audit import audit
    from persistence.points import audit_figures

    async def run():  # noqa: ANN202
        database = _database()
        try:
            async with database.sessions() as session:
                return await audit_figures(session)
        finally:
            await database.dispose()

    figures = asyncio.run(run())
    violations = audit(figures)
    for violation in violations:
        click.echo(f"customer {violation.customer_id}: {violation.problem}")
    click.echo(f"audited {len(figures)} customers: {len(violations)} violations")
    if violations:
        raise SystemExit(1)


@main.group("import")
def import_() -> None:
    """Imports customers or orders from a CSV or XLSX file (docs/import.md)."""


_MAP_HELP = (
    "A column the built-in layouts do not know: COLUMN=FIELD (repeatable), e.g. "
    "--map 'Mobile No=phone'."
)


def _run_import(
    kind: str,
    file: Path,
    award_points: bool,
    mapping: tuple[str, ...],
    errors: Path | None,
    wechat_app: str | None,
) -> None:
    from api.imports import parse_mapping, run_import, summary_text
    from domain.clock import SystemClock
    from domain.imports import ImportService
    from persistence.unit_of_work import SqlUnitOfWork

    settings = get_settings()
    try:
        columns = parse_mapping(mapping)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None

    async def run():  # noqa: ANN202
        from api.garbage import IMPORT_YOUNG, collect_less_garbage

        database = _database()
        collect_less_garbage(IMPORT_YOUNG)  # once the tables are mapped
        try:
            service = ImportService(
                lambda: SqlUnitOfWork(database, settings.program_defaults()),
                SystemClock(),
                phone_region=settings.phone_region,
            )
            return await run_import(
                service,
                file,
                kind,
                award_points=award_points,
                mapping=columns,
                errors_path=errors,
                progress=True,
                # The drivers keep each connection's prepared statements (sqlite3 128,
                # asyncpg 100), and a chunk's multi-row statements differ in length
                # from chunk to chunk: fresh connections keep memory flat in the
                # file's size (140 MB instead of +2 MB a chunk on SQLite).
                after_chunk=database.engine.dispose,
                wechat_app=wechat_app,
            )
        finally:
            await database.dispose()

    try:
        summary, errors_path = asyncio.run(run())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary_text(summary, errors_path))


_WECHAT_APP_HELP = (
    "The WeChat app id of the file's openids, for rows without a wechat_app_id cell "
    "(an openid is per app)."
)
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_ERRORS = click.Path(dir_okay=False, writable=True, path_type=Path)


@import_.command("customers")
@click.argument("file", type=_FILE)
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD", help=_MAP_HELP)
@click.option(
    "--errors", type=_ERRORS, default=None, help="The error file [default: FILE.errors.csv]."
)
@click.option("--wechat-app", metavar="APP_ID", default=None, help=_WECHAT_APP_HELP)
def import_customers(
    file: Path, mapping: tuple[str, ...], errors: Path | None, wechat_app: str | None
) -> None:
    """Creates the customers of FILE whose externalId is new, with their identities
    (WeChat, POS card, Tmall, JD); a known one is skipped (never overwritten) but gets
    the identities it does not hold yet. Safe to run again, and to resume an
    interrupted import."""
    _run_import("customers", file, True, mapping, errors, wechat_app)


@import_.command("orders")
@click.argument("file", type=_FILE)
@click.option(
    "--no-points",
    is_flag=True,
    help="Record the orders as awardPoints: false: statistics and tiers by "
    "spend, no order points (docs/import.md).",
)
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD", help=_MAP_HELP)
@click.option(
    "--errors", type=_ERRORS, default=None, help="The error file [default: FILE.errors.csv]."
)
@click.option("--wechat-app", metavar="APP_ID", default=None, help=_WECHAT_APP_HELP)
def import_orders(
    file: Path,
    no_points: bool,
    mapping: tuple[str, ...],
    errors: Path | None,
    wechat_app: str | None,
) -> None:
    """Records the orders of FILE exactly as orderRecord would, a chunk of 5,000 at a
    time; an order already recorded is skipped. Safe to run again, and to resume an
    interrupted import. Each row names its customer by externalId, an identity (POS
    card, WeChat, Tmall, JD) or phone or e-mail; the customers must exist (import them
    first)."""
    _run_import("orders", file, not no_points, mapping, errors, wechat_app)


@main.command("export-schema")
def export_schema() -> None:
    """Prints the GraphQL SDL (what schema.graphql holds)."""
    from api.schema import schema

    click.echo(schema.as_str())


if __name__ == "__main__":
    main()
