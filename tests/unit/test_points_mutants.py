"""PointsAccount and the audit rules, example by example: each test pins one decision
that a mutation run showed the random histories reach only by chance (pending points
never spent, FIFO by expiry, debt paid first, each audit check and its edge values).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.audit import Violation, audit
from domain.errors import DomainError, ErrorCode
from domain.points import (
    AuditFigures,
    Draw,
    EntryKind,
    Lot,
    LotState,
    PointsAccount,
    audit_violations,
    earned_points,
    lot_dates,
    reversal_points,
)
from tests.conftest import utc

NOW = utc(2026, 3, 1, 12)
DAY = timedelta(days=1)


def lot(
    lot_id: int,
    remaining: int,
    *,
    state: LotState = LotState.AVAILABLE,
    available_at=NOW - 10 * DAY,  # noqa: ANN001
    expires_at=None,  # noqa: ANN001
    kind: EntryKind = EntryKind.ADJUST,
    order_id: int | None = None,
    points: int | None = None,
) -> Lot:
    return Lot(
        id=lot_id,
        customer_id=1,
        kind=kind,
        points=remaining if points is None else points,
        remaining=remaining,
        state=state,
        available_at=available_at,
        expires_at=expires_at,
        order_id=order_id,
    )


def account(*lots: Lot, debt: int = 0, lifetime: int = 0) -> PointsAccount:
    """An account whose balance agrees with its lots, as load_account returns it."""
    available = sum(x.remaining for x in lots if x.state is LotState.AVAILABLE)
    return PointsAccount(1, available - debt, debt, lifetime, list(lots))


def taken(entry) -> list[tuple[int, int]]:  # noqa: ANN001
    return [(d.lot.id, d.points) for d in entry.draws]


# ---- spending never touches pending points ---------------------------------------------


def test_a_reversal_in_debt_does_not_spend_pending_points():
    pending = lot(1, 100, state=LotState.PENDING, available_at=NOW + 5 * DAY)
    available = lot(2, 10)
    acc = account(pending, available)
    entry = acc.debit(EntryKind.REVERSE, 50, now=NOW, allow_debt=True)
    assert taken(entry) == [(2, 10)]
    assert pending.remaining == 100
    assert (acc.balance, acc.debt, acc.pending) == (-40, 40, 100)


def test_a_debit_skips_expired_lots_and_empty_available_lots():
    expired = lot(1, 30, state=LotState.EXPIRED, expires_at=NOW - DAY)
    empty = lot(2, 0, points=5, expires_at=NOW + DAY)
    last = lot(3, 1, expires_at=NOW + 2 * DAY)
    acc = PointsAccount(1, 1, 0, 0, [expired, empty, last])
    assert acc.available_lots() == [last]
    entry = acc.debit(EntryKind.ADJUST, 1, now=NOW)
    assert taken(entry) == [(3, 1)]
    assert expired.remaining == 30


def test_a_lot_with_exactly_one_point_left_is_spent():
    acc = account(lot(1, 1), lot(2, 5))
    entry = acc.debit(EntryKind.REDEEM, 2, now=NOW)
    assert taken(entry) == [(1, 1), (2, 1)]


def test_pending_points_are_counted_apart():
    acc = account(lot(1, 7, state=LotState.PENDING), lot(2, 3))
    assert acc.pending == 7
    assert acc.balance == 3


# ---- FIFO by expiry ---------------------------------------------------------------------


def test_fifo_is_by_expiry_not_by_availability():
    early_available_late_expiry = lot(1, 10, available_at=NOW - 20 * DAY, expires_at=NOW + 30 * DAY)
    late_available_early_expiry = lot(2, 10, available_at=NOW - 2 * DAY, expires_at=NOW + 3 * DAY)
    never = lot(3, 10, available_at=NOW - 40 * DAY, expires_at=None)
    acc = account(never, early_available_late_expiry, late_available_early_expiry)
    assert [x.id for x in acc.available_lots()] == [2, 1, 3]
    entry = acc.debit(EntryKind.ADJUST, 15, now=NOW)
    assert taken(entry) == [(2, 10), (1, 5)]


def test_never_expiring_lots_go_last_even_if_available_earlier():
    never = lot(1, 5, available_at=NOW - 100 * DAY, expires_at=None)
    expiring = lot(2, 5, available_at=NOW - DAY, expires_at=NOW + 300 * DAY)
    assert [x.id for x in account(never, expiring).available_lots()] == [2, 1]


def test_same_expiry_goes_by_availability_then_by_id():
    at = NOW + 10 * DAY
    later = lot(1, 5, available_at=NOW - DAY, expires_at=at)
    earlier = lot(2, 5, available_at=NOW - 3 * DAY, expires_at=at)
    twin_b = lot(4, 5, available_at=NOW - 5 * DAY, expires_at=at)
    twin_a = lot(3, 5, available_at=NOW - 5 * DAY, expires_at=at)
    acc = account(later, earlier, twin_b, twin_a)
    assert [x.id for x in acc.available_lots()] == [3, 4, 2, 1]


def test_never_expiring_lots_go_by_availability_then_id():
    b = lot(2, 5, available_at=NOW - 5 * DAY)
    a = lot(3, 5, available_at=NOW - 5 * DAY)
    first = lot(9, 5, available_at=NOW - 9 * DAY)
    assert [x.id for x in account(b, a, first).available_lots()] == [9, 2, 3]


def test_fifo_key_of_an_unsaved_lot_sorts_as_id_zero():
    unsaved = lot(None, 5)  # type: ignore[arg-type]
    assert unsaved.fifo_key() == (True, unsaved.available_at, unsaved.available_at, 0)


# ---- credits ---------------------------------------------------------------------------


def test_a_credit_must_be_positive():
    with pytest.raises(ValueError, match="^a credit is positive$"):
        account().credit(EntryKind.ADJUST, 0, now=NOW, available_at=NOW, expires_at=None)


def test_a_credit_available_exactly_now_enters_the_ledger():
    acc = account()
    entry = acc.credit(
        EntryKind.BONUS,
        5,
        now=NOW,
        available_at=NOW,
        expires_at=NOW + DAY,
        reason="hello",
        order_id=7,
        referral_id=3,
    )
    assert entry is not None
    assert (entry.kind, entry.points, entry.balance_after, entry.reason) == (
        EntryKind.BONUS,
        5,
        5,
        "hello",
    )
    assert (entry.order_id, entry.referral_id, entry.created_at) == (7, 3, NOW)
    new = acc.new_lots[0]
    assert entry.lot is new and acc.lots == [new]
    assert (new.state, new.points, new.remaining, new.kind) == (
        LotState.AVAILABLE,
        5,
        5,
        EntryKind.BONUS,
    )
    assert (new.available_at, new.expires_at, new.order_id, new.referral_id, new.created_at) == (
        NOW,
        NOW + DAY,
        7,
        3,
        NOW,
    )
    assert (acc.balance, acc.lifetime_earned) == (5, 5)


def test_a_credit_available_later_is_pending_without_entry():
    acc = account()
    entry = acc.credit(
        EntryKind.EARN, 5, now=NOW, available_at=NOW + timedelta(seconds=1), expires_at=None
    )
    assert entry is None
    assert acc.lots[0].state is LotState.PENDING
    assert (acc.balance, acc.pending, acc.lifetime_earned) == (0, 5, 0)


def test_an_adjustment_credit_pays_debt_first_and_is_not_lifetime_earned():
    acc = account(debt=3, lifetime=10)
    entry = acc.credit(EntryKind.ADJUST, 5, now=NOW, available_at=NOW, expires_at=None)
    assert (entry.points, entry.balance_after) == (5, 2)
    assert (acc.balance, acc.debt, acc.lifetime_earned) == (2, 0, 10)
    assert acc.lots[0].remaining == 2


def test_a_credit_smaller_than_the_debt_goes_wholly_to_it():
    acc = account(debt=8)
    acc.credit(EntryKind.EARN, 5, now=NOW, available_at=NOW, expires_at=None)
    assert (acc.balance, acc.debt, acc.lifetime_earned) == (-3, 3, 5)
    assert acc.lots[0].remaining == 0


def test_activation_writes_the_entry_and_pays_debt():
    pending = lot(1, 6, state=LotState.PENDING, kind=EntryKind.EARN, order_id=4)
    acc = account(pending, debt=2)
    entry = acc.activate(pending, NOW)
    assert (entry.kind, entry.points, entry.balance_after, entry.order_id) == (
        EntryKind.EARN,
        6,
        4,
        4,
    )
    assert entry.reason == "order points became available"
    assert entry.created_at == NOW
    assert pending.state is LotState.AVAILABLE and pending.remaining == 4
    assert (acc.debt, acc.lifetime_earned) == (0, 6)


def test_activation_names_the_rule_and_the_referral_of_the_lot():
    """An earning rule's (or a referral's) pending lot keeps its source on the entry
    that makes it available: the points of each rule are counted by the entries."""
    pending = replace(lot(1, 6, state=LotState.PENDING, kind=EntryKind.EARN, order_id=4), rule_id=9)
    referral = replace(lot(2, 3, state=LotState.PENDING, kind=EntryKind.BONUS), referral_id=5)
    acc = account(pending, referral)
    assert (acc.activate(pending, NOW).rule_id, acc.activate(referral, NOW).referral_id) == (9, 5)


def test_activation_of_a_bonus_lot_says_so():
    pending = lot(1, 6, state=LotState.PENDING, kind=EntryKind.BONUS)
    assert account(pending).activate(pending, NOW).reason == "bonus points became available"


def test_activation_of_an_emptied_lot_writes_nothing():
    pending = lot(1, 0, points=6, state=LotState.PENDING, kind=EntryKind.EARN)
    acc = account(pending)
    assert acc.activate(pending, NOW) is None
    assert pending.state is LotState.AVAILABLE
    assert acc.lifetime_earned == 0


def test_only_a_pending_lot_is_activated():
    with pytest.raises(ValueError, match="^only a pending lot becomes available$"):
        account().activate(lot(1, 5), NOW)


# ---- debits ----------------------------------------------------------------------------


def test_a_debit_must_be_positive():
    with pytest.raises(ValueError, match="^a debit is positive$"):
        account(lot(1, 5)).debit(EntryKind.ADJUST, 0, now=NOW)


def test_a_debit_of_exactly_the_balance_is_allowed_and_one_more_is_refused():
    acc = account(lot(1, 5))
    with pytest.raises(DomainError) as refused:
        acc.debit(EntryKind.REDEEM, 6, now=NOW, field_path=("customer_id",))
    assert refused.value.code is ErrorCode.INSUFFICIENT_POINTS
    assert refused.value.field == ("customer_id",)
    assert "5 points available; 6 needed" in refused.value.message
    entry = acc.debit(EntryKind.REDEEM, 5, now=NOW, reason="why", order_id=2)
    assert (entry.kind, entry.points, entry.balance_after, entry.reason, entry.order_id) == (
        EntryKind.REDEEM,
        -5,
        0,
        "why",
        2,
    )
    assert (acc.balance, acc.debt) == (0, 0)


def test_a_refusal_in_debt_says_zero_points_available():
    acc = account(debt=4)
    with pytest.raises(DomainError) as refused:
        acc.debit(EntryKind.ADJUST, 1, now=NOW)
    assert "has 0 points available; 1 needed" in refused.value.message


def test_only_a_reversal_lowers_lifetime_earned():
    acc = account(lot(1, 20), lifetime=20)
    acc.debit(EntryKind.ADJUST, 3, now=NOW)
    acc.debit(EntryKind.REDEEM, 3, now=NOW)
    assert acc.lifetime_earned == 20
    acc.debit(EntryKind.REVERSE, 3, now=NOW, allow_debt=True)
    assert acc.lifetime_earned == 17


def test_preferred_lots_go_first_but_only_if_available():
    fifo_first = lot(1, 5, expires_at=NOW + DAY)
    own = lot(2, 5, expires_at=NOW + 50 * DAY)
    own_pending = lot(3, 5, state=LotState.PENDING)
    acc = account(fifo_first, own, own_pending)
    entry = acc.debit(EntryKind.ADJUST, 7, now=NOW, first_from=[own_pending, own])
    assert taken(entry) == [(2, 5), (1, 2)]
    assert own_pending.remaining == 5


def test_a_debit_stops_once_covered():
    a, b = lot(1, 5, expires_at=NOW + DAY), lot(2, 5, expires_at=NOW + 2 * DAY)
    acc = account(a, b)
    entry = acc.debit(EntryKind.ADJUST, 5, now=NOW)
    assert taken(entry) == [(1, 5)]
    assert b.remaining == 5


def test_shrink_pending_takes_at_most_what_is_left():
    pending = lot(1, 4, state=LotState.PENDING)
    acc = account(pending)
    assert acc.shrink_pending(pending, 10) == 4
    assert pending.remaining == 0
    assert acc.shrink_pending(pending, 10) == 0


# ---- refunds ---------------------------------------------------------------------------


def test_a_refund_empties_the_own_pending_lot_first_without_entry():
    own = lot(1, 10, state=LotState.PENDING, kind=EntryKind.EARN, order_id=5)
    other = lot(2, 10)
    acc = account(own, other)
    assert acc.reverse_for_refund(10, 5, NOW, "refund") is None
    assert (own.remaining, other.remaining, acc.balance) == (0, 10, 10)


def test_a_refund_beyond_the_own_pending_lot_takes_fifo_then_debt():
    own = lot(1, 4, state=LotState.PENDING, kind=EntryKind.EARN, order_id=5)
    other = lot(2, 3)
    acc = account(own, other)
    entry = acc.reverse_for_refund(10, 5, NOW, "refund")
    assert (entry.kind, entry.points, entry.order_id, entry.reason) == (
        EntryKind.REVERSE,
        -6,
        5,
        "refund",
    )
    assert taken(entry) == [(2, 3)]
    assert (acc.balance, acc.debt) == (-3, 3)


def test_a_refund_takes_the_own_available_lot_before_fifo():
    fifo_first = lot(1, 10, expires_at=NOW + DAY)
    own = lot(2, 10, kind=EntryKind.EARN, order_id=5, expires_at=NOW + 90 * DAY)
    other_order = lot(3, 10, state=LotState.PENDING, kind=EntryKind.EARN, order_id=6)
    bonus_of_order = lot(4, 10, state=LotState.PENDING, kind=EntryKind.BONUS, order_id=5)
    acc = account(fifo_first, own, other_order, bonus_of_order)
    entry = acc.reverse_for_refund(12, 5, NOW, "refund")
    assert taken(entry) == [(2, 10), (1, 2)]
    assert (other_order.remaining, bonus_of_order.remaining) == (10, 10)


# ---- a cancelled redemption (restore) ---------------------------------------------------


def test_restore_of_nothing_writes_nothing():
    assert account().restore([], NOW, "cancel") == []


def test_restore_of_a_single_point():
    spent = lot(1, 0, points=1)
    acc = account()
    entries = acc.restore([Draw(spent, 1)], NOW, "cancel")
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        (EntryKind.REDEEM_CANCEL, 1, 1)
    ]
    assert spent.remaining == 1


def test_restore_gives_points_back_to_their_lots():
    a = lot(1, 0, points=5, expires_at=NOW + 5 * DAY)
    b = lot(2, 2, points=8, expires_at=NOW + 9 * DAY)
    acc = account(b)  # `a` is empty, so not loaded as an open lot
    stale_b = lot(2, 2, points=8, expires_at=NOW + 9 * DAY)  # as draws_of_entry loads it
    entries = acc.restore([Draw(a, 5), Draw(stale_b, 3)], NOW, "redemption cancelled")
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.kind, entry.points, entry.balance_after, entry.reason) == (
        EntryKind.REDEEM_CANCEL,
        8,
        10,
        "redemption cancelled",
    )
    assert [(d.lot.id, d.points) for d in entry.draws] == [(1, -5), (2, -3)]
    assert entry.draws[1].lot is b  # the loaded object, not a second copy
    assert (a.remaining, b.remaining, stale_b.remaining) == (5, 5, 2)
    assert a in acc.lots and acc.lots.count(b) == 1
    assert acc.balance == 10


def test_a_cancel_in_debt_pays_the_debt_first():
    spent = lot(1, 0, points=10, expires_at=NOW + 30 * DAY)
    acc = PointsAccount(1, -4, 4, 0, [])
    entries = acc.restore([Draw(spent, 10)], NOW, "cancel")
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        (EntryKind.REDEEM_CANCEL, 10, 6)
    ]
    assert (acc.balance, acc.debt, spent.remaining) == (6, 0, 6)
    assert audit_violations(figures_of(acc, entries_sum=6)) == []


def test_a_cancel_smaller_than_the_debt_goes_wholly_to_it():
    spent_a = lot(1, 0, points=3)
    spent_b = lot(2, 0, points=2)
    acc = PointsAccount(1, -9, 9, 0, [])
    acc.restore([Draw(spent_a, 3), Draw(spent_b, 2)], NOW, "cancel")
    assert (acc.balance, acc.debt, spent_a.remaining, spent_b.remaining) == (-4, 4, 0, 0)
    assert audit_violations(figures_of(acc, entries_sum=-4)) == []


def test_a_cancel_after_the_daily_job_expired_the_lot_expires_the_points_again():
    expired = lot(1, 0, points=10, state=LotState.EXPIRED, expires_at=NOW - DAY)
    acc = account()
    entries = acc.restore([Draw(expired, 10)], NOW, "cancel")
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        (EntryKind.REDEEM_CANCEL, 10, 10),
        (EntryKind.EXPIRE, -10, 0),
    ]
    assert (expired.state, expired.remaining, acc.balance) == (LotState.EXPIRED, 0, 0)
    assert [(d.lot.id, d.points) for d in entries[1].draws] == [(1, 10)]


def test_a_cancel_at_exactly_the_expiry_expires_the_points():
    due = lot(1, 0, points=10, expires_at=NOW)  # the daily job has not run yet
    acc = account()
    entries = acc.restore([Draw(due, 10)], NOW, "cancel")
    assert [e.kind for e in entries] == [EntryKind.REDEEM_CANCEL, EntryKind.EXPIRE]
    assert (due.state, due.remaining, acc.balance) == (LotState.EXPIRED, 0, 0)


def test_a_cancel_just_before_the_expiry_keeps_the_points():
    due = lot(1, 0, points=10, expires_at=NOW + timedelta(seconds=1))
    acc = account()
    entries = acc.restore([Draw(due, 10)], NOW, "cancel")
    assert [e.kind for e in entries] == [EntryKind.REDEEM_CANCEL]
    assert (due.state, due.remaining, acc.balance) == (LotState.AVAILABLE, 10, 10)


def test_a_cancel_in_debt_onto_an_expired_lot_pays_debt_and_expires_the_rest():
    expired = lot(1, 0, points=10, state=LotState.EXPIRED, expires_at=NOW - DAY)
    acc = PointsAccount(1, -4, 4, 0, [])
    entries = acc.restore([Draw(expired, 10)], NOW, "cancel")
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        (EntryKind.REDEEM_CANCEL, 10, 6),
        (EntryKind.EXPIRE, -6, 0),
    ]
    assert (acc.balance, acc.debt, expired.remaining) == (0, 0, 0)


def test_a_cancel_onto_a_lot_whose_debt_payoff_empties_it_writes_no_expiry():
    expired = lot(1, 0, points=3, state=LotState.EXPIRED, expires_at=NOW - DAY)
    acc = PointsAccount(1, -5, 5, 0, [])
    entries = acc.restore([Draw(expired, 3)], NOW, "cancel")
    assert [e.kind for e in entries] == [EntryKind.REDEEM_CANCEL]
    assert (acc.balance, acc.debt, expired.state) == (-2, 2, LotState.EXPIRED)


def test_expire_of_an_emptied_lot_writes_nothing():
    empty = lot(1, 0, points=5, expires_at=NOW)
    acc = account(empty)
    assert acc.expire(empty, NOW) is None
    assert empty.state is LotState.EXPIRED


def test_expire_takes_what_is_left():
    due = lot(1, 4, points=5, expires_at=NOW)
    acc = account(due, lot(2, 6))
    entry = acc.expire(due, NOW)
    assert (entry.kind, entry.points, entry.balance_after, entry.reason) == (
        EntryKind.EXPIRE,
        -4,
        6,
        "points expired",
    )
    assert (due.remaining, acc.balance) == (0, 6)


# ---- arithmetic ------------------------------------------------------------------------


@given(
    cents=st.integers(0, 10_000_000),
    rate=st.sampled_from([Decimal(1), Decimal("1.5"), Decimal("0.3"), Decimal("0.01")]),
    multiplier=st.sampled_from([Decimal(1), Decimal("1.25"), Decimal("1.5"), Decimal(2)]),
)
@example(cents=999, rate=Decimal(1), multiplier=Decimal("1.5"))
@example(cents=100, rate=Decimal("0.3"), multiplier=Decimal(2))
def test_earned_points_apply_the_tier_multiplier(cents, rate, multiplier):
    amount = Decimal(cents) / 100
    exact = Fraction(amount) * Fraction(rate) * Fraction(multiplier)
    assert earned_points(amount, rate, multiplier) == int(exact // 1)


def test_earned_points_never_negative_and_floored():
    assert earned_points(Decimal("9.99"), Decimal(1), Decimal("1.5")) == 14
    assert earned_points(Decimal("-5"), Decimal(1), Decimal(1)) == 0
    assert earned_points(Decimal("0.99"), Decimal(1), Decimal(1)) == 0


def test_reversal_points_of_nothing_earned_or_no_amount():
    assert reversal_points(0, Decimal(10), Decimal(0), Decimal(10)) == 0
    assert reversal_points(10, Decimal(0), Decimal(0), Decimal(10)) == 0
    assert reversal_points(-3, Decimal(10), Decimal(0), Decimal(10)) == 0
    assert reversal_points(10, Decimal(-1), Decimal(0), Decimal(10)) == 0


def test_reversal_points_are_cumulative():
    assert reversal_points(10, Decimal(3), Decimal(0), Decimal(1)) == 3
    assert reversal_points(10, Decimal(3), Decimal(1), Decimal(1)) == 3
    assert reversal_points(10, Decimal(3), Decimal(2), Decimal(1)) == 4
    assert reversal_points(1, Decimal(1), Decimal(0), Decimal(1)) == 1


def test_lot_dates():
    assert lot_dates(NOW, 3, 10) == (NOW + 3 * DAY, NOW + 13 * DAY)
    assert lot_dates(NOW, 0, None) == (NOW, None)
    assert lot_dates(NOW, 2, 0) == (NOW + 2 * DAY, None)
    assert lot_dates(NOW, 0, 1) == (NOW, NOW + DAY)


# ---- the audit: each check fires, each edge value ---------------------------------------


def figures_of(acc: PointsAccount, *, entries_sum: int) -> AuditFigures:
    available = sum(x.remaining for x in acc.lots if x.state is LotState.AVAILABLE)
    return AuditFigures(1, acc.balance, acc.debt, entries_sum, acc.balance, available, 0)


def figures(**changes) -> AuditFigures:  # noqa: ANN003
    clean = dict(
        customer_id=1,
        balance=5,
        debt=0,
        entries_sum=5,
        last_balance_after=5,
        available_remaining=5,
        lots_out_of_range=0,
    )
    return AuditFigures(**(clean | changes))


def test_clean_figures_pass():
    assert audit_violations(figures()) == []
    assert (
        audit_violations(
            figures(balance=0, entries_sum=0, last_balance_after=None, available_remaining=0)
        )
        == []
    )


def test_clean_figures_in_debt_pass():
    in_debt = figures(
        balance=-3, debt=3, entries_sum=-3, last_balance_after=-3, available_remaining=0
    )
    assert audit_violations(in_debt) == []
    one = figures(balance=-1, debt=1, entries_sum=-1, last_balance_after=-1, available_remaining=0)
    assert audit_violations(one) == []


def test_balance_off_the_entries_fires():
    assert audit_violations(figures(entries_sum=4)) == ["balance 5 ≠ Σ entries 4"]
    assert audit_violations(figures(entries_sum=6)) == ["balance 5 ≠ Σ entries 6"]


def test_balance_off_the_lots_fires():
    assert audit_violations(figures(available_remaining=6)) == [
        "balance 5 ≠ Σ available lots 6 − debt 0"
    ]
    assert audit_violations(figures(available_remaining=4)) == [
        "balance 5 ≠ Σ available lots 4 − debt 0"
    ]


def test_balance_off_lots_minus_debt_fires_in_debt():
    # available 0, debt 3: the balance must be −3; −3 + 6 would pass a "+ debt" formula.
    wrong = figures(balance=3, debt=3, entries_sum=3, last_balance_after=3, available_remaining=0)
    assert audit_violations(wrong) == ["balance 3 ≠ Σ available lots 0 − debt 3"]


def test_last_balance_after_fires():
    assert audit_violations(figures(last_balance_after=4)) == [
        "balance 5 ≠ last entry's balance after 4"
    ]
    assert audit_violations(figures(last_balance_after=None)) == [
        "balance 5 ≠ last entry's balance after None"
    ]
    # No entry yet and a zero balance is clean (None counts as 0) — checked above.


def test_negative_debt_fires_at_minus_one():
    broken = figures(balance=6, debt=-1, entries_sum=6, last_balance_after=6, available_remaining=5)
    assert audit_violations(broken) == ["negative debt -1"]


def test_debt_with_points_left_fires_at_one_and_one():
    broken = figures(balance=0, debt=1, entries_sum=0, last_balance_after=0, available_remaining=1)
    assert audit_violations(broken) == ["debt while available lots still hold points"]


def test_lots_out_of_range_fires_at_one():
    assert audit_violations(figures(lots_out_of_range=1)) == [
        "1 lots with remaining outside 0..points"
    ]


def test_every_broken_check_is_reported_in_order():
    broken = AuditFigures(1, 2, -1, 0, 7, 9, 2)
    assert audit_violations(broken) == [
        "balance 2 ≠ Σ entries 0",
        "balance 2 ≠ Σ available lots 9 − debt -1",
        "balance 2 ≠ last entry's balance after 7",
        "negative debt -1",
        "2 lots with remaining outside 0..points",
    ]


def test_audit_names_each_customer_with_each_problem():
    ok = figures(customer_id=1)
    bad = figures(customer_id=2, entries_sum=0, lots_out_of_range=3)
    assert audit([ok, bad]) == [
        Violation(2, "balance 5 ≠ Σ entries 0"),
        Violation(2, "3 lots with remaining outside 0..points"),
    ]
    assert audit([]) == []


# ---- totals add up: debt and lifetime earned grow, they are not overwritten -----------


def test_activation_adds_to_the_lifetime_already_earned():
    pending = lot(1, 6, state=LotState.PENDING, kind=EntryKind.EARN)
    acc = account(pending, lifetime=10)
    acc.activate(pending, NOW)
    assert acc.lifetime_earned == 16


def test_a_reversal_beyond_the_balance_adds_to_the_debt_already_owed():
    acc = account(debt=4)
    acc.debit(EntryKind.REVERSE, 3, now=NOW, allow_debt=True)
    assert (acc.balance, acc.debt) == (-7, 7)


def test_an_emptied_preferred_lot_gives_no_draw():
    emptied = lot(1, 0, points=5)
    other = lot(2, 10)
    acc = account(emptied, other)
    entry = acc.debit(EntryKind.ADJUST, 4, now=NOW, first_from=[emptied])
    assert taken(entry) == [(2, 4)]


# ---- a pending order earned by rules gives back each rule's own share ------------------


def pending_lines(base: int, rule: int) -> tuple[Lot, Lot, PointsAccount]:
    """An order (id 9) still pending, earned as a base line and a rule's line (rule 7)."""
    later = NOW + 5 * DAY
    base_lot = lot(
        1, base, state=LotState.PENDING, available_at=later, kind=EntryKind.EARN, order_id=9
    )
    rule_lot = lot(
        2, rule, state=LotState.PENDING, available_at=later, kind=EntryKind.EARN, order_id=9
    )
    rule_lot.rule_id = 7
    return base_lot, rule_lot, account(base_lot, rule_lot)


@pytest.mark.parametrize(
    ("shares", "left"),
    [
        ({None: 30, 7: 1}, (70, 49)),  # a share of exactly one point is still taken
        ({None: 0, 7: 5}, (100, 45)),  # only the rule's line gives back
        ({None: 12, 7: 0}, (88, 50)),  # only the base gives back
    ],
)
def test_a_pending_refund_shrinks_each_line_by_its_own_share(shares, left):
    base_lot, rule_lot, acc = pending_lines(100, 50)
    entry = acc.reverse_for_refund(sum(shares.values()), 9, NOW, "refund", shares)
    assert entry is None  # pending points never reached the ledger
    assert (base_lot.remaining, rule_lot.remaining) == left
    assert acc.pending == sum(left)
