"""PointsAccount alone, no database: many random histories, each checked against
`LedgerModel` (docs/ledger.md restated) and against the ledger invariants after every step.

The account is driven the way the services drive it (credit with lot dates, debit,
reverse_for_refund, activate and expire as the daily job does), lots get ids the way
the database would give them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError, ErrorCode
from domain.points import (
    EntryKind,
    LotState,
    PointsAccount,
    earned_points,
    lot_dates,
    reversal_points,
)
from tests.conftest import utc
from tests.ledger_model import LedgerModel, lot_view

START = utc(2026, 1, 5, 9)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 40_000), st.sampled_from([0, 0, 3, 20])),
        st.tuples(st.just("refund"), st.integers(0, 30), st.integers(1, 100)),
        st.tuples(st.just("credit"), st.integers(1, 500), st.just(0)),
        st.tuples(st.just("debit"), st.integers(1, 600), st.just(0)),
        st.tuples(st.just("time"), st.sampled_from([0, 1, 3, 10, 14, 30, 200]), st.just(0)),
        st.tuples(st.just("expiry"), st.sampled_from([0, 10, 30, 365]), st.just(0)),
    ),
    max_size=40,
)


class Driver:
    """What OrderService, AdjustmentService and run_daily do to an account."""

    def __init__(self, pending_days: int, expiry_days: int | None, rate: Decimal) -> None:
        self.account = PointsAccount(customer_id=1, balance=0, debt=0, lifetime_earned=0, lots=[])
        self.model = LedgerModel(pending_days, expiry_days, rate)
        self.now = START
        self.entries = []
        self.orders: dict[str, tuple[Decimal, int, Decimal]] = {}
        self.next_id = 1

    def _saved(self, entry) -> None:  # noqa: ANN001
        for lot in self.account.new_lots:
            lot.id = self.next_id
            self.next_id += 1
        self.account.new_lots.clear()
        if entry is not None:
            self.entries.append(entry)

    def earn(self, cents: int, back: int) -> None:
        external_id = f"o-{len(self.orders)}"
        amount = Decimal(cents) / 100
        placed = self.now - timedelta(days=back)
        points = earned_points(amount, self.model.earn_rate, Decimal(1))
        assert points == self.model.earn(external_id, amount, placed, self.now)
        self.orders[external_id] = (amount, points, Decimal(0))
        if points:
            available_at, expires_at = lot_dates(
                min(placed, self.now), self.model.pending_days, self.model.expiry_days
            )
            self._saved(
                self.account.credit(
                    EntryKind.EARN,
                    points,
                    now=self.now,
                    available_at=available_at,
                    expires_at=expires_at,
                    order_id=len(self.orders),
                )
            )

    def refund(self, which: int, percent: int) -> None:
        open_orders = [k for k, (amount, _, done) in self.orders.items() if done < amount]
        if not open_orders:
            return
        external_id = open_orders[which % len(open_orders)]
        amount, points, done = self.orders[external_id]
        cents = max(int((amount - done) * 100) * percent // 100, 1)
        refund = Decimal(cents) / 100
        reverse = reversal_points(points, amount, done, refund)
        assert reverse == self.model.refund(external_id, refund)
        self.orders[external_id] = (amount, points, done + refund)
        if reverse:
            order_id = list(self.orders).index(external_id) + 1
            self._saved(self.account.reverse_for_refund(reverse, order_id, self.now, "refund"))

    def credit(self, points: int) -> None:
        available_at, expires_at = lot_dates(self.now, 0, self.model.expiry_days)
        entry = self.account.credit(
            EntryKind.ADJUST, points, now=self.now, available_at=available_at, expires_at=expires_at
        )
        self._saved(entry)
        self.model.credit(points, self.now)

    def debit(self, points: int) -> None:
        if self.model.can_debit(points):
            self._saved(self.account.debit(EntryKind.ADJUST, points, now=self.now))
            self.model.debit(points)
        else:
            with pytest.raises(DomainError) as refused:
                self.account.debit(EntryKind.ADJUST, points, now=self.now)
            assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS

    def time(self, days: int) -> None:
        """run_daily's settle step, on the account's open lots."""
        self.now += timedelta(days=days)
        lots = list(self.account.lots)
        for lot in sorted(lots, key=lambda x: (x.available_at, x.id)):
            if lot.state is LotState.PENDING and lot.available_at <= self.now:
                self._saved(self.account.activate(lot, self.now))
        for lot in sorted(lots, key=lambda x: x.fifo_key()):
            if (
                lot.state is LotState.AVAILABLE
                and lot.expires_at is not None
                and lot.expires_at <= self.now
            ):
                self._saved(self.account.expire(lot, self.now))
        self.model.run_job(self.now)

    def expiry(self, days: int) -> None:
        self.model.expiry_days = days or None

    def check(self) -> None:
        account, model = self.account, self.model
        available = sum(lot.remaining for lot in account.lots if lot.state is LotState.AVAILABLE)
        assert (account.balance, account.debt, account.pending) == (
            model.balance,
            model.debt,
            model.pending,
        )
        assert account.balance == sum(e.points for e in self.entries)
        assert account.balance == (self.entries[-1].balance_after if self.entries else 0)
        assert account.balance == available - account.debt
        assert account.debt == 0 or available == 0
        assert all(0 <= lot.remaining <= lot.points for lot in account.lots)
        assert (
            lot_view(
                (lot.state.value, lot.available_at, lot.expires_at, lot.remaining)
                for lot in account.lots
                if lot.remaining > 0 and lot.state is not LotState.EXPIRED
            )
            == model.lot_view()
        )
        for entry in self.entries:
            if entry.kind is EntryKind.ADJUST and entry.points < 0:
                assert entry.balance_after >= 0


@settings(max_examples=500, deadline=None)
@given(
    pending_days=st.sampled_from([0, 0, 3, 14]),
    expiry_days=st.sampled_from([None, 10, 30, 365]),
    rate=st.sampled_from([Decimal(1), Decimal("1.5"), Decimal("0.3")]),
    history=steps,
)
def test_account_follows_the_model_and_keeps_its_invariants(
    pending_days, expiry_days, rate, history
):
    driver = Driver(pending_days, expiry_days, rate)
    for name, a, b in history:
        getattr(driver, name)(*((a, b) if name in ("earn", "refund") else (a,)))
        driver.check()


@settings(max_examples=300)
@given(
    earned=st.integers(0, 100_000),
    cents=st.integers(1, 10_000_000),
    cuts=st.lists(st.integers(1, 10_000_000), min_size=1, max_size=8),
)
def test_partial_refunds_reverse_exactly_what_was_earned(earned, cents, cuts):
    """However an order is cut into refunds, the reversals sum to floor(earned × refunded
    / amount) so far, and to the whole of `earned` once it is refunded in full."""
    amount = Decimal(cents) / 100
    total = sum(cuts)
    parts = [Decimal(cents * c // total) / 100 for c in cuts]
    parts[-1] += amount - sum(parts)
    refunded, reversed_ = Decimal(0), 0
    for part in parts:
        if part <= 0:
            continue
        reversed_ += reversal_points(earned, amount, refunded, part)
        refunded += part
        assert reversed_ == int(earned * refunded // amount)
    assert reversed_ == earned
