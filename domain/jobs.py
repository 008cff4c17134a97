"""The daily job: pending lots become available, due lots expire, tiers step down,
and the daily triggers run (birthdays, repurchase reminders, lifecycle changes,
tracked segments: domain/daily_triggers.py, each once per program-local day), and the
predicted-value models are fitted again (domain/predictions/, once per local day).

Run by `loyalty jobs run-daily [--as-of …]` (and later by the worker). Each customer
is handled in its own short transaction with the customer row locked, so the job
never blocks the API for long and two workers can share the work. Everything it
does is decided by state (a lot is pending or not, expired or not), so running it
twice for the same instant changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import coupons, tiers
from domain.customers import CUSTOMERS
from domain.daily_triggers import run_triggers
from domain.event_payloads import PointsExpiredV1, PointsExpiringSoonV1, points_earned
from domain.events import EVENTS, Event
from domain.orders import ORDERS
from domain.points import POINTS, LotState
from domain.predictions.service import daily_fit, describe_fit
from domain.program import PROGRAM, ProgramSettings
from domain.unit_of_work import UnitOfWorkFactory

BATCH = 500


@dataclass
class DailyReport:
    activated_lots: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    expiry_notices: int = 0
    tier_changes: int = 0
    birthdays: int = 0
    repurchase_due: int = 0
    lifecycle_changes: int = 0
    segment_entered: int = 0
    segment_exited: int = 0
    prediction_fit: str | None = None  # what the day's fit did; None: already ran today


async def run_daily(uow_factory: UnitOfWorkFactory, as_of: datetime) -> DailyReport:
    report = DailyReport()
    while True:
        async with uow_factory() as uow:
            customer_ids = await uow.repo(POINTS).customers_with_due_lots(as_of, BATCH)
        if not customer_ids:
            break
        for customer_id in customer_ids:
            await _settle_customer(uow_factory, customer_id, as_of, report)
    async with uow_factory() as uow:
        program = await uow.repo(PROGRAM).get()
    report.expiry_notices = await _notify_expiring(uow_factory, program, as_of)
    report.tier_changes = await tiers.run_downgrades(uow_factory, program, as_of)
    await coupons.run_coupon_pass(uow_factory, as_of)  # coupons: expire, expiring soon
    triggered = await run_triggers(uow_factory, program, as_of)
    report.birthdays = triggered.birthdays
    report.repurchase_due = triggered.repurchase_due
    report.lifecycle_changes = triggered.lifecycle_changes
    report.segment_entered = triggered.segment_entered
    report.segment_exited = triggered.segment_exited
    fitted = await daily_fit(uow_factory, as_of)
    if fitted is not None:
        report.prediction_fit = describe_fit(fitted)
    return report


async def _notify_expiring(
    uow_factory: UnitOfWorkFactory, program: ProgramSettings, as_of: datetime
) -> int:
    """`points.expiring_soon`, once per lot, `expiring_soon_days` ahead of expiry."""
    horizon = as_of + timedelta(days=program.expiring_soon_days)
    sent = 0
    while True:
        async with uow_factory() as uow:
            notices = await uow.repo(POINTS).expiry_notices_due(as_of, horizon, BATCH)
            for customer_id, points, first_expiry in notices:
                await uow.repo(EVENTS).append(
                    Event.of(PointsExpiringSoonV1(customer_id, points, first_expiry), as_of)
                )
            await uow.commit()
        sent += len(notices)
        if len(notices) < BATCH:
            return sent


async def _settle_customer(
    uow_factory: UnitOfWorkFactory, customer_id: int, as_of: datetime, report: DailyReport
) -> None:
    async with uow_factory() as uow:
        await uow.repo(CUSTOMERS).get(customer_id, for_update=True)
        due = await uow.repo(POINTS).lots_due(customer_id, as_of)
        if not due:
            return
        account = await uow.repo(POINTS).load_account(customer_id)
        by_id = {lot.id: lot for lot in account.lots}
        for lot in due:  # spent-out lots past expiry are not "open", but still close
            if lot.id not in by_id:
                account.lots.append(lot)
                by_id[lot.id] = lot
        entries = []
        expired = 0
        # Activate first (oldest first), then expire: a lot both due and expired
        # enters the ledger and leaves it, so the history shows both.
        for lot in sorted(by_id.values(), key=lambda x: (x.available_at, x.id)):
            if lot.state is LotState.PENDING and lot.available_at <= as_of:
                entry = account.activate(lot, as_of)
                report.activated_lots += 1
                if entry:
                    entries.append(entry)
        for lot in sorted(by_id.values(), key=lambda x: x.fifo_key()):
            if (
                lot.state is LotState.AVAILABLE
                and lot.expires_at is not None
                and lot.expires_at <= as_of
            ):
                entry = account.expire(lot, as_of)
                report.expired_lots += 1
                if entry:
                    entries.append(entry)
                    expired += -entry.points
        await uow.repo(POINTS).save_account(account, entries)
        for entry in entries:
            if entry.points > 0:
                order = await uow.repo(ORDERS).get(entry.order_id) if entry.order_id else None
                external_id = order.external_id if order else None
                await uow.repo(EVENTS).append(Event.of(points_earned(entry, external_id), as_of))
        if expired:
            report.expired_points += expired
            await uow.repo(EVENTS).append(
                Event.of(PointsExpiredV1(customer_id, expired, account.balance), as_of)
            )
        await uow.commit()
