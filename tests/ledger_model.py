"""The points ledger of docs/ledger.md restated as plainly as possible, for the property tests
to compare the real code against. It shares nothing with domain/points.py: lots are
dicts, FIFO is a sort, debt is a number.

- An order earns floor(amount × rate) points into a lot that is pending until
  placed + pending_days, then available until available + expiry_days.
- Credits pay the debt first. Debits (and expiry) take lots FIFO by expiry, never
  expiring last, ties by availability then age.
- A refund takes back floor(earned × refunded / amount) cumulatively: from the order's
  pending lot (those points never reached the balance), then its available lot, then
  FIFO, and what is left becomes debt.
- The daily job as of t makes lots with available_at ≤ t available and expires
  available lots with expires_at ≤ t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal


@dataclass
class ModelLot:
    seq: int
    points: int
    remaining: int
    available_at: datetime
    expires_at: datetime | None
    pending: bool
    order: str | None = None
    expired: bool = False


@dataclass
class ModelOrder:
    amount: Decimal
    earned: int
    refunded: Decimal = Decimal(0)


def lot_view(lots) -> list[tuple]:  # noqa: ANN001
    """Lots as comparable tuples, in one order whatever order they came in."""
    return sorted(lots, key=lambda v: (v[0], v[1], v[2] is None, v[2] or v[1], v[3]))


def floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class LedgerModel:
    pending_days: int
    expiry_days: int | None
    earn_rate: Decimal
    balance: int = 0
    debt: int = 0
    lots: list[ModelLot] = field(default_factory=list)
    orders: dict[str, ModelOrder] = field(default_factory=dict)

    # ---- what the customer sees ----------------------------------------------------

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.pending)

    def available_lots(self) -> list[ModelLot]:
        live = [lot for lot in self.lots if not lot.pending and not lot.expired]
        return sorted(
            live,
            key=lambda lot: (
                lot.expires_at is None,
                lot.expires_at or lot.available_at,
                lot.available_at,
                lot.seq,
            ),
        )

    def lot_view(self) -> list[tuple]:
        """(state, available_at, expires_at, remaining) of every lot with points left."""
        return lot_view(
            (
                "PENDING" if lot.pending else "AVAILABLE",
                lot.available_at,
                lot.expires_at,
                lot.remaining,
            )
            for lot in self.lots
            if lot.remaining > 0 and not lot.expired
        )

    # ---- changes -------------------------------------------------------------------

    def _add_lot(self, points: int, start: datetime, now: datetime, pending_days: int, order=None):  # noqa: ANN001, ANN202
        available_at = start + timedelta(days=pending_days)
        expires_at = available_at + timedelta(days=self.expiry_days) if self.expiry_days else None
        lot = ModelLot(len(self.lots), points, points, available_at, expires_at, True, order)
        self.lots.append(lot)
        if available_at <= now:
            self._make_available(lot)

    def _make_available(self, lot: ModelLot) -> None:
        lot.pending = False
        paid = min(self.debt, lot.remaining)
        self.debt -= paid
        self.balance += lot.remaining
        lot.remaining -= paid

    def _take(self, points: int, first: list[ModelLot]) -> None:
        """Takes points FIFO (from `first` first); the shortfall becomes debt."""
        left = points
        for lot in first + [lot for lot in self.available_lots() if lot not in first]:
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
        self.debt += left
        self.balance -= points

    def earn(self, external_id: str, amount: Decimal, placed_at: datetime, now: datetime) -> int:
        points = floor(amount * self.earn_rate)
        self.orders[external_id] = ModelOrder(amount, points)
        if points > 0:
            self._add_lot(points, min(placed_at, now), now, self.pending_days, external_id)
        return points

    def refund(self, external_id: str, amount: Decimal) -> int:
        order = self.orders[external_id]
        before = floor(order.earned * order.refunded / order.amount)
        order.refunded += amount
        points = floor(order.earned * order.refunded / order.amount) - before
        own = [lot for lot in self.lots if lot.order == external_id]
        left = points
        for lot in own:
            if lot.pending:
                take = min(lot.remaining, left)
                lot.remaining -= take
                left -= take
        if left:
            self._take(left, [lot for lot in own if not lot.pending and not lot.expired])
        return points

    def credit(self, points: int, now: datetime) -> None:
        self._add_lot(points, now, now, 0)

    def can_debit(self, points: int) -> bool:
        return points <= self.balance

    def debit(self, points: int) -> None:
        assert self.can_debit(points)
        self._take(points, [])

    def run_job(self, as_of: datetime) -> None:
        for lot in sorted(self.lots, key=lambda lot: (lot.available_at, lot.seq)):
            if lot.pending and lot.available_at <= as_of:
                self._make_available(lot)
        for lot in self.lots:
            if (
                not lot.pending
                and not lot.expired
                and lot.expires_at is not None
                and lot.expires_at <= as_of
            ):
                self.balance -= lot.remaining
                lot.remaining = 0
                lot.expired = True
