"""The points ledger: lots, FIFO spending, pending points, expiry, reversals, debt.

Model:
- Points live in **lots**. A lot is PENDING until its `available_at`, then AVAILABLE
  until `expires_at` (null = never), then EXPIRED.
- The **ledger** is append-only and records only points that are available: a pending
  lot writes its EARN/BONUS entry when it becomes available (by the daily job, or at
  once when `pending_days` is 0). So every entry counts toward the balance, the
  balance always equals the last entry's `balance_after`, and
  `balance = Σ entries = Σ remaining of available lots − debt` holds after every
  transaction. Pending points are shown separately (`Customer.points.pending`).
- Spending and expiring are FIFO by expiry: the lot that expires first goes first
  (never-expiring lots last; ties by availability, then id).
- A refund reverses `floor(earned × refunded / amount)` points counted cumulatively,
  taking from the order's own lot first, then FIFO. What cannot be taken becomes
  **debt** (a negative balance) that later credits pay off first; a reversal is
  never dropped. A still-pending order lot simply shrinks (its points never reached
  the ledger).
- A redemption or an admin debit can never make the available balance negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError, ErrorCode
from domain.unit_of_work import Port

MAX_ADJUSTMENT = 10_000_000


class EntryKind(StrEnum):
    EARN = "EARN"
    BONUS = "BONUS"
    ADJUST = "ADJUST"
    REDEEM = "REDEEM"
    REDEEM_CANCEL = "REDEEM_CANCEL"
    REVERSE = "REVERSE"
    EXPIRE = "EXPIRE"
    # A merge (docs/merging.md): the merged customer's points leave it lot by lot
    # (TRANSFER_OUT) and reach the survivor (TRANSFER_IN), each lot keeping its dates.
    # A debt moves the other way round: TRANSFER_OUT + on the merged customer,
    # TRANSFER_IN − on the survivor.
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"


class LotState(StrEnum):
    PENDING = "PENDING"
    AVAILABLE = "AVAILABLE"
    EXPIRED = "EXPIRED"


@dataclass
class Lot:
    id: int | None
    customer_id: int
    kind: EntryKind
    points: int
    remaining: int
    state: LotState
    available_at: datetime
    expires_at: datetime | None
    order_id: int | None = None
    created_at: datetime | None = None
    referral_id: int | None = None
    rule_id: int | None = None  # the earning rule whose points these are

    def fifo_key(self) -> tuple[bool, datetime, datetime, int]:
        never = self.expires_at is None
        return (never, self.expires_at or self.available_at, self.available_at, self.id or 0)


@dataclass
class LedgerEntry:
    customer_id: int
    kind: EntryKind
    points: int
    balance_after: int
    created_at: datetime
    reason: str | None = None
    order_id: int | None = None
    redemption_id: int | None = None
    lot_id: int | None = None
    referral_id: int | None = None
    api_key_id: int | None = None
    idempotency_key: str | None = None
    id: int | None = None
    rule_id: int | None = None  # the earning rule that produced an EARN/BONUS entry
    draws: list[Draw] = field(default_factory=list)
    lot: Lot | None = None  # the lot a credit created, to be linked once it has an id


@dataclass
class Draw:
    """`points` taken from `lot` by one debit."""

    lot: Lot
    points: int


def earned_points(amount: Decimal, earn_rate: Decimal, multiplier: Decimal) -> int:
    """floor(amount × earn_rate × multiplier), exact in decimal arithmetic."""
    value = (amount * earn_rate * multiplier).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(value), 0)


def reversal_points(
    points_earned: int, amount: Decimal, refunded_before: Decimal, refund: Decimal
) -> int:
    """Points a refund takes back, cumulative so rounding never leaks a point:
    floor(earned × refunded_after / amount) − floor(earned × refunded_before / amount)."""
    if points_earned <= 0 or amount <= 0:
        return 0

    def upto(refunded: Decimal) -> int:
        return int((points_earned * refunded / amount).to_integral_value(rounding=ROUND_FLOOR))

    return upto(refunded_before + refund) - upto(refunded_before)


def lot_dates(
    start: datetime, pending_days: int, expiry_days: int | None
) -> tuple[datetime, datetime | None]:
    """When a lot starting at `start` becomes available, and when it expires."""
    available_at = start + timedelta(days=pending_days)
    expires_at = available_at + timedelta(days=expiry_days) if expiry_days else None
    return available_at, expires_at


class PointsRepository(Protocol):
    async def load_account(self, customer_id: int) -> PointsAccount:
        """The customer's totals and open lots; the customer row must already be
        locked by the caller (customers.get(..., for_update=True))."""
        ...

    async def save_account(self, account: PointsAccount, entries: list[LedgerEntry]) -> None: ...

    async def save_credits(
        self,
        accounts: Sequence[PointsAccount],
        lots: Sequence[Lot],
        entries: Sequence[LedgerEntry],
    ) -> None:
        """Many accounts changed by credits only (`PointsAccount.credit`): their new
        `lots` (in the order given: lot ids break FIFO ties, so the order they were
        credited in), the entries (each linked to its lot) and the totals, in one
        round of statements whatever their number. The customers must be locked."""
        ...

    async def expiry_notices_due(
        self, as_of: datetime, horizon: datetime, limit: int
    ) -> list[tuple[int, int, datetime]]: ...

    async def customers_with_due_lots(self, as_of: datetime, limit: int) -> list[int]:
        """Customers with a pending lot due or an available lot past expiry."""
        ...

    async def lots_due(self, customer_id: int, as_of: datetime) -> list[Lot]:
        """The customer's lots to activate or expire as of `as_of` (the daily job)."""
        ...

    async def draws_of_entry(self, entry_id: int) -> list[Draw]:
        """What a debit entry took from which lots (lots loaded, expired included)."""
        ...


POINTS: Port[PointsRepository] = Port("points")


@dataclass
class PointsAccount:
    """One customer's points, loaded under lock: the totals and the open lots
    (pending, or available with points left). Every change returns the ledger entry
    to append; the caller persists lots and entries."""

    customer_id: int
    balance: int
    debt: int
    lifetime_earned: int
    lots: list[Lot]
    new_lots: list[Lot] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots if lot.state is LotState.PENDING)

    def available_lots(self) -> list[Lot]:
        return sorted(
            (lot for lot in self.lots if lot.state is LotState.AVAILABLE and lot.remaining > 0),
            key=Lot.fifo_key,
        )

    # ---- credits -------------------------------------------------------------------

    def credit(
        self,
        kind: EntryKind,
        points: int,
        *,
        now: datetime,
        available_at: datetime,
        expires_at: datetime | None,
        reason: str | None = None,
        order_id: int | None = None,
        referral_id: int | None = None,
        rule_id: int | None = None,
    ) -> LedgerEntry | None:
        """Adds a lot. Returns its entry if the points are available now, or None
        if the lot is pending (its entry is written when it becomes available)."""
        if points <= 0:
            raise ValueError("a credit is positive")
        pending = available_at > now
        lot = Lot(
            id=None,
            customer_id=self.customer_id,
            kind=kind,
            points=points,
            remaining=points,
            state=LotState.PENDING if pending else LotState.AVAILABLE,
            available_at=available_at,
            expires_at=expires_at,
            order_id=order_id,
            created_at=now,
            referral_id=referral_id,
            rule_id=rule_id,
        )
        self.lots.append(lot)
        self.new_lots.append(lot)
        if pending:
            return None
        return self._make_available(lot, now, reason)

    def activate(self, lot: Lot, now: datetime) -> LedgerEntry | None:
        """A pending lot whose time has come: its points enter the ledger (no entry
        when a refund already took all of them)."""
        if lot.state is not LotState.PENDING:
            raise ValueError("only a pending lot becomes available")
        lot.state = LotState.AVAILABLE
        if lot.remaining == 0:
            return None
        label = "order points" if lot.kind is EntryKind.EARN else "bonus points"
        return self._make_available(lot, now, f"{label} became available")

    def _make_available(self, lot: Lot, now: datetime, reason: str | None) -> LedgerEntry:
        points = lot.remaining
        paid = min(self.debt, points)
        self.debt -= paid
        lot.remaining -= paid
        self.balance += points
        if lot.kind in (EntryKind.EARN, EntryKind.BONUS):
            self.lifetime_earned += points
        entry = self._entry(lot.kind, points, now, reason, order_id=lot.order_id)
        entry.referral_id = lot.referral_id
        entry.rule_id = lot.rule_id
        entry.lot = lot
        return entry

    # ---- debits --------------------------------------------------------------------

    def debit(
        self,
        kind: EntryKind,
        points: int,
        *,
        now: datetime,
        reason: str | None = None,
        allow_debt: bool = False,
        first_from: Iterable[Lot] = (),
        order_id: int | None = None,
        field_path: tuple[str, ...] = ("points",),
    ) -> LedgerEntry:
        """Takes points FIFO by expiry (from `first_from` lots first). Refused with
        INSUFFICIENT_POINTS when the balance does not cover it, unless `allow_debt`
        (refund reversals), where the shortfall becomes debt."""
        if points <= 0:
            raise ValueError("a debit is positive")
        if not allow_debt and points > self.balance:
            raise DomainError(
                ErrorCode.INSUFFICIENT_POINTS,
                field_path,
                f"The customer has {max(self.balance, 0)} points available; {points} needed.",
            )
        preferred = [lot for lot in first_from if lot.state is LotState.AVAILABLE]
        order = preferred + [lot for lot in self.available_lots() if lot not in preferred]
        left = points
        draws: list[Draw] = []
        for lot in order:
            if left == 0:
                break
            take = min(lot.remaining, left)
            if take > 0:
                lot.remaining -= take
                left -= take
                draws.append(Draw(lot, take))
        self.debt += left
        self.balance -= points
        if kind is EntryKind.REVERSE:
            self.lifetime_earned -= points
        entry = self._entry(kind, -points, now, reason, order_id=order_id)
        entry.draws = draws
        return entry

    def shrink_pending(self, lot: Lot, points: int) -> int:
        """Takes up to `points` from a still-pending lot; returns what it took."""
        take = min(lot.remaining, points)
        lot.remaining -= take
        return take

    def reverse_for_refund(
        self,
        points: int,
        order_id: int,
        now: datetime,
        reason: str,
        shares: Mapping[int | None, int] | None = None,
    ) -> LedgerEntry | None:
        """Takes back `points` of an order: its own pending lot first (no entry: those
        points never reached the ledger), then its own available lot, then FIFO,
        then debt. An order earned by rules has a lot per rule: `shares` says how many
        of the points each rule's pending lot gives back (rule id None: the base), so a
        pending lot keeps its own share of what is left."""
        own = [lot for lot in self.lots if lot.order_id == order_id and lot.kind is EntryKind.EARN]
        left = points
        wanted = dict(shares or {})
        for lot in own:
            if lot.state is LotState.PENDING and wanted.get(lot.rule_id, 0) > 0:
                take = self.shrink_pending(lot, min(left, wanted[lot.rule_id]))
                wanted[lot.rule_id] -= take
                left -= take
        for lot in own:
            if lot.state is LotState.PENDING:
                left -= self.shrink_pending(lot, left)
        if left == 0:
            return None
        return self.debit(
            EntryKind.REVERSE,
            left,
            now=now,
            reason=reason,
            allow_debt=True,
            first_from=own,
            order_id=order_id,
        )

    def restore(self, draws: list[Draw], now: datetime, reason: str) -> list[LedgerEntry]:
        """Gives back what a debit took (a cancelled redemption): the points return
        to the very lots they came from, keeping those lots' expiry. Points whose lot
        has expired since come back expired (a REDEEM_CANCEL then an EXPIRE entry);
        a debt is paid first, as with any credit."""
        total = sum(d.points for d in draws)
        if total <= 0:
            return []
        # The same lot may already be loaded as an open lot: use that one object.
        loaded = {lot.id: lot for lot in self.lots}
        draws = [Draw(loaded.get(d.lot.id, d.lot), d.points) for d in draws]
        for draw in draws:
            if draw.lot not in self.lots:
                self.lots.append(draw.lot)
            draw.lot.remaining += draw.points
            if draw.lot.state is LotState.EXPIRED:
                draw.lot.state = LotState.AVAILABLE
        for draw in draws:
            paid = min(self.debt, draw.lot.remaining, draw.points)
            self.debt -= paid
            draw.lot.remaining -= paid
        self.balance += total
        entry = self._entry(EntryKind.REDEEM_CANCEL, total, now, reason)
        entry.draws = [Draw(d.lot, -d.points) for d in draws]
        entries = [entry]
        for lot in {id(d.lot): d.lot for d in draws}.values():
            if lot.expires_at is not None and lot.expires_at <= now:
                expired = self.expire(lot, now)
                if expired:
                    entries.append(expired)
        return entries

    def expire(self, lot: Lot, now: datetime) -> LedgerEntry | None:
        """An available lot past its expiry: what is left of it leaves the balance."""
        points = lot.remaining
        lot.state = LotState.EXPIRED
        lot.remaining = 0
        if points == 0:
            return None
        self.balance -= points
        entry = self._entry(EntryKind.EXPIRE, -points, now, "points expired")
        entry.draws = [Draw(lot, points)]
        return entry

    def _entry(
        self,
        kind: EntryKind,
        points: int,
        now: datetime,
        reason: str | None,
        *,
        order_id: int | None = None,
    ) -> LedgerEntry:
        return LedgerEntry(
            customer_id=self.customer_id,
            kind=kind,
            points=points,
            balance_after=self.balance,
            created_at=now,
            reason=reason,
            order_id=order_id,
        )


@dataclass(frozen=True)
class Transfer:
    """What a merge moved from one account to another (`transfer`)."""

    out_entries: list[LedgerEntry]  # on the merged customer
    in_entries: list[LedgerEntry]  # on the survivor
    lots: list[Lot]  # every open lot moved, pending ones included
    points: int  # available points moved (negative: a debt moved)
    pending: int  # pending points moved (they enter the ledger when they become available)


def transfer(source: PointsAccount, target: PointsAccount, now: datetime, reason: str) -> Transfer:
    """Moves every open lot of `source` to `target` (a merge), keeping each lot's
    dates, state, order and rule:

    - an available lot with points left: a TRANSFER_OUT −remaining entry on the
      source and a TRANSFER_IN +remaining entry on the target, both naming the lot,
      in FIFO order; the target's debt, if any, is paid first, as with any credit;
    - a pending lot moves without entries (pending points are never in the ledger);
      its EARN/BONUS entry is written on the target when it becomes available;
    - a debt of the source (then it has no available points): a TRANSFER_OUT +debt
      entry clears it and a TRANSFER_IN −debt entry on the target takes the points
      FIFO from the target's lots, what cannot be taken becoming the target's debt,
      exactly as the reversal that made the debt would have taken them.

    The lifetime earned total moves too. Afterwards the source holds nothing:
    balance, debt and lifetime earned 0. The caller moves the lot rows themselves
    (and the closed lots) to the target."""
    entries_out: list[LedgerEntry] = []
    entries_in: list[LedgerEntry] = []
    moved = 0
    for lot in source.available_lots():
        points = lot.remaining
        source.balance -= points
        out = source._entry(EntryKind.TRANSFER_OUT, -points, now, reason, order_id=lot.order_id)
        out.lot_id = lot.id
        entries_out.append(out)
        paid = min(target.debt, points)
        target.debt -= paid
        lot.remaining -= paid
        target.balance += points
        into = target._entry(EntryKind.TRANSFER_IN, points, now, reason, order_id=lot.order_id)
        into.lot = lot
        entries_in.append(into)
        moved += points
    if source.debt > 0:
        debt = source.debt
        source.debt = 0
        source.balance += debt
        entries_out.append(source._entry(EntryKind.TRANSFER_OUT, debt, now, reason))
        entries_in.append(
            target.debit(EntryKind.TRANSFER_IN, debt, now=now, reason=reason, allow_debt=True)
        )
        moved -= debt
    pending = source.pending
    lots = list(source.lots)
    for lot in lots:
        lot.customer_id = target.customer_id
        target.lots.append(lot)
    source.lots = []
    target.lifetime_earned += source.lifetime_earned
    source.lifetime_earned = 0
    if source.balance != 0 or source.debt != 0:
        raise AssertionError("a transfer leaves the source empty")
    return Transfer(entries_out, entries_in, lots, moved, pending)


@dataclass(frozen=True)
class AuditFigures:
    """What the audit reads per customer, each computed independently in SQL."""

    customer_id: int
    balance: int
    debt: int
    entries_sum: int
    last_balance_after: int | None
    available_remaining: int
    lots_out_of_range: int


def audit_violations(figures: AuditFigures) -> list[str]:
    """Every broken invariant of docs/ledger.md#invariants for one customer, in words."""
    problems = []
    if figures.balance != figures.entries_sum:
        problems.append(f"balance {figures.balance} ≠ Σ entries {figures.entries_sum}")
    if figures.balance != figures.available_remaining - figures.debt:
        problems.append(
            f"balance {figures.balance} ≠ Σ available lots {figures.available_remaining}"
            f" − debt {figures.debt}"
        )
    if (figures.last_balance_after or 0) != figures.balance:
        problems.append(
            f"balance {figures.balance} ≠ last entry's balance after {figures.last_balance_after}"
        )
    if figures.debt < 0:
        problems.append(f"negative debt {figures.debt}")
    if figures.debt > 0 and figures.available_remaining > 0:
        problems.append("debt while available lots still hold points")
    if figures.lots_out_of_range:
        problems.append(f"{figures.lots_out_of_range} lots with remaining outside 0..points")
    return problems
