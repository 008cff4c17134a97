"""`domain.points.transfer` (a merge's points) alone, no database: two random
histories, then B's account moved into A's; both keep every ledger invariant, A holds
the sum, B nothing, and every lot of B arrives with its dates and state. And the
duplicate score's table (docs/merging.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.merging import DuplicateReason, duplicate_score
from domain.points import EntryKind, LedgerEntry, Lot, LotState, PointsAccount, transfer
from tests.unit.test_points_account import Driver, steps

IDENTITY, PHONE, EMAIL = DuplicateReason.IDENTITY, DuplicateReason.PHONE, DuplicateReason.EMAIL


def invariants(account: PointsAccount, entries: list) -> None:  # noqa: ANN001
    available = sum(lot.remaining for lot in account.lots if lot.state is LotState.AVAILABLE)
    assert account.balance == sum(e.points for e in entries)
    assert account.balance == (entries[-1].balance_after if entries else 0)
    assert account.balance == available - account.debt
    assert account.debt >= 0
    assert account.debt == 0 or available == 0
    assert all(0 <= lot.remaining <= lot.points for lot in account.lots)


def run(driver: Driver, history) -> None:  # noqa: ANN001
    for name, a, b in history:
        getattr(driver, name)(*((a, b) if name in ("earn", "refund") else (a,)))


@settings(max_examples=400, deadline=None)
@given(
    pending_days=st.sampled_from([0, 3, 14]),
    expiry_days=st.sampled_from([None, 30, 365]),
    survivor=steps,
    merged=steps,
    after=st.lists(st.sampled_from([1, 3, 14, 30, 400]), max_size=4),
)
def test_a_transfer_keeps_both_ledgers_whole(pending_days, expiry_days, survivor, merged, after):
    a = Driver(pending_days, expiry_days, Decimal(1))
    b = Driver(pending_days, expiry_days, Decimal(1))
    b.account.customer_id = 2
    b.next_id = 1_000_000  # lot ids are unique across customers
    run(a, survivor)
    run(b, merged)
    now = max(a.now, b.now)
    before = (a.account.balance, b.account.balance, a.account.pending, b.account.pending)
    lifetime = a.account.lifetime_earned + b.account.lifetime_earned
    dates = sorted(
        (lot.id, lot.available_at, lot.expires_at, lot.state)
        for lot in a.account.lots + b.account.lots
    )

    moved = transfer(b.account, a.account, now, "merge")

    a.entries += moved.in_entries
    b.entries += moved.out_entries
    invariants(a.account, a.entries)
    invariants(b.account, b.entries)
    assert (b.account.balance, b.account.debt, b.account.lots) == (0, 0, [])
    assert a.account.balance == before[0] + before[1]
    assert moved.points == before[1]
    assert a.account.pending == before[2] + before[3] == before[2] + moved.pending
    assert a.account.lifetime_earned == lifetime
    assert {e.kind for e in moved.out_entries} <= {EntryKind.TRANSFER_OUT}
    assert {e.kind for e in moved.in_entries} <= {EntryKind.TRANSFER_IN}
    assert all(lot.customer_id == 1 for lot in a.account.lots)
    # Every lot arrives with its dates and state (an available one may have paid A's debt).
    assert (
        sorted((lot.id, lot.available_at, lot.expires_at, lot.state) for lot in a.account.lots)
        == dates
    )
    # The survivor's account goes on working: pending lots become available, lots expire.
    a.now = now
    for days in after:
        a.time(days)
        invariants(a.account, a.entries)


def test_a_debt_moves_as_a_debt_and_takes_from_the_survivor_fifo():
    a = Driver(0, 365, Decimal(1))
    a.earn(10_000, 30)  # 100 points, 30 days ago
    a.earn(5_000, 1)  # 50 points, yesterday
    b = Driver(0, 365, Decimal(1))
    b.account.customer_id, b.next_id = 2, 1_000_000
    b.earn(12_000, 10)
    b.debit(120)
    b.refund(0, 100)  # REVERSE −120 with nothing left: debt 120
    assert (b.account.balance, b.account.debt) == (-120, 120)

    moved = transfer(b.account, a.account, a.now, "merge")

    assert [(e.kind, e.points, e.balance_after) for e in moved.out_entries] == [
        (EntryKind.TRANSFER_OUT, 120, 0)
    ]
    assert [(e.kind, e.points, e.balance_after) for e in moved.in_entries] == [
        (EntryKind.TRANSFER_IN, -120, 30)
    ]
    # The lot expiring first gave all of its 100, the next one 20.
    remaining = sorted((lot.available_at, lot.remaining) for lot in a.account.lots)
    assert [r for _, r in remaining] == [0, 0, 30]


def test_incoming_points_pay_the_survivors_debt_first():
    a = Driver(0, 365, Decimal(1))
    a.earn(10_000, 5)
    a.debit(100)
    a.refund(0, 100)  # debt 100
    b = Driver(0, 365, Decimal(1))
    b.account.customer_id, b.next_id = 2, 1_000_000
    b.earn(25_000, 3)

    moved = transfer(b.account, a.account, a.now, "merge")

    assert [(e.kind, e.points, e.balance_after) for e in moved.in_entries] == [
        (EntryKind.TRANSFER_IN, 250, 150)
    ]
    assert (a.account.balance, a.account.debt) == (150, 0)
    assert moved.in_entries[0].lot is not None and moved.in_entries[0].lot.remaining == 150


@pytest.mark.parametrize(
    ("reasons", "score"),
    [
        ([EMAIL], 50),
        ([PHONE], 60),
        ([PHONE, EMAIL], 80),
        ([IDENTITY], 90),
        ([IDENTITY, EMAIL], 95),
        ([IDENTITY, PHONE], 96),
        ([IDENTITY, PHONE, EMAIL], 98),
    ],
)
def test_duplicate_scores(reasons, score):
    assert duplicate_score(reasons) == score


# ---- every field of every entry, on small accounts written out by hand ----------------

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
EARLIER = datetime(2026, 1, 1, tzinfo=UTC)


def lot(lot_id: int, customer_id: int, remaining: int, order_id: int | None, **kw) -> Lot:  # noqa: ANN003
    return Lot(
        id=lot_id,
        customer_id=customer_id,
        kind=EntryKind.EARN,
        points=remaining,
        remaining=remaining,
        state=kw.get("state", LotState.AVAILABLE),
        available_at=EARLIER,
        expires_at=kw.get("expires_at"),
        order_id=order_id,
    )


def fields(entry: LedgerEntry) -> tuple:
    return (
        entry.customer_id,
        entry.kind,
        entry.points,
        entry.balance_after,
        entry.created_at,
        entry.reason,
        entry.order_id,
        entry.lot_id,
        entry.lot.id if entry.lot is not None else None,
    )


def test_each_available_lot_moves_as_one_out_and_one_in_entry_naming_it():
    first = lot(11, 2, 30, order_id=101, expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    second = lot(12, 2, 20, order_id=None)
    source = PointsAccount(2, balance=50, debt=0, lifetime_earned=50, lots=[second, first])
    target = PointsAccount(1, balance=5, debt=0, lifetime_earned=5, lots=[lot(1, 1, 5, 7)])

    moved = transfer(source, target, NOW, "merge: 2 into 1")

    assert [fields(e) for e in moved.out_entries] == [
        (2, EntryKind.TRANSFER_OUT, -30, 20, NOW, "merge: 2 into 1", 101, 11, None),
        (2, EntryKind.TRANSFER_OUT, -20, 0, NOW, "merge: 2 into 1", None, 12, None),
    ]
    assert [fields(e) for e in moved.in_entries] == [
        (1, EntryKind.TRANSFER_IN, 30, 35, NOW, "merge: 2 into 1", 101, None, 11),
        (1, EntryKind.TRANSFER_IN, 20, 55, NOW, "merge: 2 into 1", None, None, 12),
    ]
    assert moved.points == 50
    assert [m.id for m in moved.lots] == [12, 11]  # every open lot, in the source's order
    assert (source.balance, source.debt, source.lifetime_earned, source.lots) == (0, 0, 0, [])
    assert (target.balance, target.lifetime_earned) == (55, 55)


def test_a_debt_of_one_point_moves_too():
    """The smallest debt: the source's +1 clears it, the target pays it from a lot."""
    source = PointsAccount(2, balance=-1, debt=1, lifetime_earned=0, lots=[])
    target = PointsAccount(1, balance=10, debt=0, lifetime_earned=10, lots=[lot(1, 1, 10, 7)])

    moved = transfer(source, target, NOW, "merge")

    assert [fields(e) for e in moved.out_entries] == [
        (2, EntryKind.TRANSFER_OUT, 1, 0, NOW, "merge", None, None, None)
    ]
    assert [
        (e.kind, e.points, e.balance_after, e.created_at, e.reason) for e in moved.in_entries
    ] == [(EntryKind.TRANSFER_IN, -1, 9, NOW, "merge")]
    assert (source.balance, source.debt, target.balance, target.debt) == (0, 0, 9, 0)
    assert moved.points == -1


def test_a_debt_larger_than_the_survivors_points_becomes_the_survivors_debt():
    """As the reversal that made the debt would have: take what there is, owe the rest."""
    source = PointsAccount(2, balance=-5, debt=5, lifetime_earned=0, lots=[])
    target = PointsAccount(1, balance=3, debt=0, lifetime_earned=3, lots=[lot(1, 1, 3, 7)])

    moved = transfer(source, target, NOW, "merge")

    assert [(e.kind, e.points, e.balance_after) for e in moved.in_entries] == [
        (EntryKind.TRANSFER_IN, -5, -2)
    ]
    assert (target.balance, target.debt, target.lots[0].remaining) == (-2, 2, 0)
    assert moved.points == -5
