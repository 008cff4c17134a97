"""A hypothesis state machine over one customer's ledger, on a real database.

Rules: earn (an order, possibly back-dated), refund (part or all of an earlier order),
adjust (credit or debit), and time passing (the clock moves, the daily job runs, twice).
They drive the real services (OrderService, AdjustmentService, run_daily) with a
FixedClock; after every step the database must agree with `LedgerModel` (a plain
restatement of docs/ledger.md) and every ledger invariant must hold.

Hypothesis's state machines are synchronous, so each test run owns one event loop
(`asyncio.Runner`) and every example gets a fresh database copied from the migrated
template. Runs on SQLite always and on PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from domain.adjustments import AdjustmentService, AdjustPoints
from domain.clock import FixedClock
from domain.customers import CustomerRef, ProfileInput
from domain.errors import DomainError, ErrorCode
from domain.jobs import DailyReport, run_daily
from domain.orders import OrderService, RecordOrder, RefundOrder
from domain.program import ProgramService
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.points import LedgerEntryRow, LotRow
from persistence.unit_of_work import SqlUnitOfWork
from tests.conftest import utc
from tests.databases import PostgresTemplate, SqliteTemplate
from tests.ledger_audit import ledger_violations
from tests.ledger_model import LedgerModel, lot_view

START = utc(2026, 1, 5, 9)
EXPIRIES = st.sampled_from([None, 10, 30, 365])
MACHINE_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, runner: asyncio.Runner, fresh_database) -> None:  # noqa: ANN001
        super().__init__()
        self.run = runner.run
        self.database, self.drop = self.run(fresh_database())
        self.clock = FixedClock(START)
        self.orders = OrderService(self.uow, self.clock, phone_region=None)
        self.adjustments = AdjustmentService(self.uow, self.clock)
        self.model: LedgerModel | None = None
        self.customer_id: int | None = None
        self.count = 0

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.database)

    def teardown(self) -> None:
        self.run(self.database.dispose())
        self.run(self.drop())

    def next_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count}"

    # ---- rules ---------------------------------------------------------------------

    @initialize(
        pending_days=st.sampled_from([0, 0, 3, 14]),
        expiry_days=EXPIRIES,
        earn_rate=st.sampled_from([Decimal(1), Decimal("1.5"), Decimal("0.3")]),
        amount=st.integers(1, 40_000),
    )
    def open_account(self, pending_days, expiry_days, earn_rate, amount):  # noqa: ANN001, ANN201
        self.run(
            ProgramService(self.uow, self.clock).update(
                {"pending_days": pending_days, "expiry_days": expiry_days, "earn_rate": earn_rate}
            )
        )
        self.model = LedgerModel(pending_days, expiry_days, earn_rate)
        external_id = self.next_id("o")
        result = self.run(
            self.orders.record(
                RecordOrder(
                    external_id=external_id,
                    customer=CustomerRef(external_id="c-1", profile=ProfileInput(name="Ann")),
                    amount=Decimal(amount) / 100,
                    currency="CNY",
                    placed_at=self.clock.now(),
                )
            )
        )
        self.customer_id = result.customer.id
        expected = self.model.earn(
            external_id, Decimal(amount) / 100, self.clock.now(), self.clock.now()
        )
        assert result.order.points_earned == expected

    @rule(
        amount=st.integers(1, 40_000),
        back=st.sampled_from([0, 0, 1, 5, 20]),
        expiry_days=EXPIRIES,
    )
    def earn(self, amount, back, expiry_days):  # noqa: ANN001, ANN201
        self.set_expiry(expiry_days)
        external_id = self.next_id("o")
        placed_at = self.clock.now() - timedelta(days=back)
        money = Decimal(amount) / 100
        result = self.run(
            self.orders.record(
                RecordOrder(
                    external_id=external_id,
                    customer=CustomerRef(id=self.customer_id),
                    amount=money,
                    currency="CNY",
                    placed_at=placed_at,
                )
            )
        )
        assert result.order.points_earned == self.model.earn(
            external_id, money, placed_at, self.clock.now()
        )

    @rule(data=st.data())
    def refund(self, data):  # noqa: ANN001, ANN201
        open_orders = [k for k, o in self.model.orders.items() if o.refunded < o.amount]
        if not open_orders:
            return
        external_id = data.draw(st.sampled_from(open_orders))
        order = self.model.orders[external_id]
        left = int((order.amount - order.refunded) * 100)
        cents = data.draw(st.one_of(st.just(left), st.integers(1, left)))
        amount = Decimal(cents) / 100
        result = self.run(self.orders.refund(RefundOrder(external_id, amount, self.next_id("r"))))
        assert result.refund.points_reversed == self.model.refund(external_id, amount)

    @rule(points=st.integers(1, 500), expiry_days=EXPIRIES)
    def credit(self, points, expiry_days):  # noqa: ANN001, ANN201
        self.set_expiry(expiry_days)
        self.adjust(points)
        self.model.credit(points, self.clock.now())

    @rule(points=st.integers(1, 600))
    def debit(self, points):  # noqa: ANN001, ANN201
        if self.model.can_debit(points):
            result = self.adjust(-points)
            assert result.customer.stats.points_balance >= 0
            self.model.debit(points)
        else:
            with pytest.raises(DomainError) as refused:
                self.adjust(-points)
            assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS

    @precondition(lambda self: self.model is not None and self.model.balance > 0)
    @rule()
    def spend_everything(self):  # noqa: ANN201
        points = self.model.balance
        self.adjust(-points)
        self.model.debit(points)

    @rule(pending_days=st.sampled_from([0, 3, 14]))
    def pending_days_change(self, pending_days):  # noqa: ANN001, ANN201
        self.run(ProgramService(self.uow, self.clock).update({"pending_days": pending_days}))
        self.model.pending_days = pending_days

    def set_expiry(self, expiry_days: int | None) -> None:
        """New lots follow the program's expiry, old ones keep theirs; varying it is what
        makes FIFO by expiry differ from FIFO by age, so earn and credit draw it."""
        if expiry_days != self.model.expiry_days:
            self.run(ProgramService(self.uow, self.clock).update({"expiry_days": expiry_days}))
            self.model.expiry_days = expiry_days

    @rule(days=st.sampled_from([0, 1, 3, 9, 10, 14, 30, 200]), hours=st.integers(0, 23))
    def time_passes(self, days, hours):  # noqa: ANN001, ANN201
        self.clock.at += timedelta(days=days, hours=hours)
        as_of = self.clock.now()
        self.run(run_daily(self.uow, as_of))
        self.model.run_job(as_of)
        again = self.run(run_daily(self.uow, as_of))
        assert again == DailyReport(), "a second run for the same instant changed something"

    def adjust(self, points: int):  # noqa: ANN201
        return self.run(
            self.adjustments.adjust(
                AdjustPoints(self.customer_id, points, "property test", self.next_id("a"))
            )
        )

    # ---- what must hold after every step -------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        if self.model is None:
            return
        balance, debt, entries, lots = self.run(self.read_ledger())
        assert (balance, debt) == (self.model.balance, self.model.debt)
        assert balance == sum(e.points for e in entries)
        assert balance == (entries[-1].balance_after if entries else 0)
        available = sum(lot.remaining for lot in lots if lot.state == "AVAILABLE")
        assert balance == available - debt
        assert (
            lot_view(
                (lot.state, lot.available_at, lot.expires_at, lot.remaining)
                for lot in lots
                if lot.remaining > 0 and lot.state != "EXPIRED"
            )
            == self.model.lot_view()
        )
        # A debit never takes the balance below zero; only a refund's reversal may.
        for entry in entries:
            if entry.kind in ("ADJUST", "REDEEM") and entry.points < 0:
                assert entry.balance_after >= 0
        assert self.run(ledger_violations(self.database)) == []

    async def read_ledger(self):  # noqa: ANN201
        async with self.database.sessions() as session:
            customer = await session.get(CustomerRow, self.customer_id)
            entries = (
                (
                    await session.execute(
                        select(LedgerEntryRow)
                        .where(LedgerEntryRow.customer_id == self.customer_id)
                        .order_by(LedgerEntryRow.id)
                    )
                )
                .scalars()
                .all()
            )
            lots = (
                (
                    await session.execute(
                        select(LotRow).where(LotRow.customer_id == self.customer_id)
                    )
                )
                .scalars()
                .all()
            )
            return customer.points_balance, customer.points_debt, entries, lots


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ledger_state_machine(
    backend: str,
    sqlite_template: SqliteTemplate,
    postgres_template: PostgresTemplate | None,
) -> None:
    if backend == "postgresql" and postgres_template is None:
        pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set")

    async def fresh_database():  # noqa: ANN202
        if backend == "sqlite":
            return Database.connect(sqlite_template.fresh()), _nothing
        name, url = await postgres_template.fresh()
        return Database.connect(url), lambda: postgres_template.drop(name)

    with asyncio.Runner() as runner:
        run_state_machine_as_test(
            lambda: LedgerMachine(runner, fresh_database), settings=MACHINE_SETTINGS
        )


async def _nothing() -> None:
    return None
