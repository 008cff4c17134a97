"""Ledger scenarios a mutation run showed untested, on a real database: a redemption
cancelled while the customer is in debt (the audit run while the debt is outstanding),
cancelled after the daily job expired its lot or at exactly its expiry, a referral
order of exactly the minimum amount, lots loaded in id order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from domain.clock import FixedClock
from domain.customers import CUSTOMERS, CustomerRef, ProfileInput
from domain.jobs import run_daily
from domain.orders import RecordOrder, RefundOrder
from domain.points import POINTS, EntryKind, LotState
from domain.redemptions import CancelRedemption, RedeemReward, RedemptionStatus
from domain.referrals import REFERRALS, RecordReferral, ReferralStatus
from domain.rewards import RewardFields, RewardKind
from tests.conftest import utc
from tests.ledger_audit import assert_ledger_clean, ledger_violations
from tests.service import wiring

START = utc(2026, 2, 2, 10)


class Shop:
    """One customer's ledger driven through the services, as the API drives it."""

    def __init__(self, database) -> None:  # noqa: ANN001
        self.database = database
        self.clock = FixedClock(START)
        self.count = 0

    def key(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count}"

    async def program(self, **changes) -> None:  # noqa: ANN003
        await wiring.program(self.database, self.clock).update(changes)

    async def order(self, amount: str, customer: str = "c-1") -> tuple[int, str]:
        external_id = self.key("o")
        result = await wiring.orders(self.database, self.clock).record(
            RecordOrder(
                external_id=external_id,
                customer=CustomerRef(external_id=customer, profile=ProfileInput(name="Ann")),
                amount=Decimal(amount),
                currency="CNY",
                placed_at=self.clock.now(),
            )
        )
        return result.customer.id, external_id

    async def refund(self, external_id: str, amount: str) -> int:
        result = await wiring.orders(self.database, self.clock).refund(
            RefundOrder(external_id, Decimal(amount), self.key("r"))
        )
        return result.refund.points_reversed

    async def reward(self, cost: int) -> int:
        reward = await wiring.rewards(self.database, self.clock).create(
            RewardFields(name=self.key("reward"), points_cost=cost, kind=RewardKind.CUSTOM)
        )
        return reward.id

    async def redeem(self, customer_id: int, reward_id: int) -> int:
        result = await wiring.redemptions(self.database, self.clock).redeem(
            RedeemReward(customer_id, reward_id, self.key("redeem"))
        )
        return result.redemption.id

    async def cancel(self, redemption_id: int):  # noqa: ANN201
        return await wiring.redemptions(self.database, self.clock).cancel(
            CancelRedemption(redemption_id, self.key("cancel"))
        )

    async def account(self, customer_id: int):  # noqa: ANN201
        async with wiring.unit_of_work(self.database) as uow:
            await uow.repo(CUSTOMERS).get(customer_id, for_update=True)
            return await uow.repo(POINTS).load_account(customer_id)

    async def figures(self, customer_id: int) -> tuple[int, int]:
        account = await self.account(customer_id)
        return account.balance, account.debt

    async def entries(self, customer_id: int) -> list[tuple[EntryKind, int, int]]:
        from sqlalchemy import select

        from persistence.points import LedgerEntryRow

        async with self.database.sessions() as session:
            rows = await session.execute(
                select(LedgerEntryRow)
                .where(LedgerEntryRow.customer_id == customer_id)
                .order_by(LedgerEntryRow.id)
            )
            return [(EntryKind(r.kind), r.points, r.balance_after) for r in rows.scalars()]

    async def lot_states(self, customer_id: int) -> list[tuple[str, int]]:
        from sqlalchemy import select

        from persistence.points import LotRow

        async with self.database.sessions() as session:
            rows = await session.execute(
                select(LotRow).where(LotRow.customer_id == customer_id).order_by(LotRow.id)
            )
            return [(r.state, r.remaining) for r in rows.scalars()]


# ---- cancel while in debt ------------------------------------------------------------------


async def test_cancel_in_debt_pays_the_debt_first_and_the_audit_holds_throughout(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, order = await shop.order("100")
    reward = await shop.reward(80)
    redemption = await shop.redeem(customer, reward)
    assert await shop.figures(customer) == (20, 0)

    assert await shop.refund(order, "100") == 100  # 20 left to take back, 80 become debt
    assert await shop.figures(customer) == (-80, 80)
    await assert_ledger_clean(database)  # audited while the debt is outstanding

    result = await shop.cancel(redemption)
    assert result.redemption.status is RedemptionStatus.CANCELLED
    assert await shop.figures(customer) == (0, 0)
    assert await shop.lot_states(customer) == [(LotState.AVAILABLE.value, 0)]
    assert (await shop.entries(customer))[-1] == (EntryKind.REDEEM_CANCEL, 80, 0)
    await assert_ledger_clean(database)


async def test_cancel_larger_than_the_debt_keeps_the_rest(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, order = await shop.order("100")
    redemption = await shop.redeem(customer, await shop.reward(100))
    assert await shop.refund(order, "30") == 30
    assert await shop.figures(customer) == (-30, 30)
    await assert_ledger_clean(database)

    await shop.cancel(redemption)
    assert await shop.figures(customer) == (70, 0)
    assert await shop.lot_states(customer) == [(LotState.AVAILABLE.value, 70)]
    await assert_ledger_clean(database)


async def test_the_audit_catches_a_debt_left_beside_points(database):
    """The audit itself, on the database, while in debt: a hand-broken row is reported."""
    from sqlalchemy import update

    from persistence.customers import CustomerRow

    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=None)
    customer, order = await shop.order("10")
    await shop.redeem(customer, await shop.reward(10))
    await shop.refund(order, "10")
    assert await shop.figures(customer) == (-10, 10)
    await assert_ledger_clean(database)
    async with database.sessions() as session:
        await session.execute(
            update(CustomerRow).where(CustomerRow.id == customer).values(points_debt=9)
        )
        await session.commit()
    problems = [v.problem for v in await ledger_violations(database)]
    assert problems == ["balance -10 ≠ Σ available lots 0 − debt 9"]


# ---- cancel after the lot expired ---------------------------------------------------------


async def test_cancel_after_the_daily_job_expired_the_lot(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=10)
    customer, _ = await shop.order("150")
    redemption = await shop.redeem(customer, await shop.reward(100))
    shop.clock.at += timedelta(days=11)
    await run_daily(wiring.uow_factory(database), shop.clock.now())
    assert await shop.figures(customer) == (0, 0)
    assert await shop.lot_states(customer) == [(LotState.EXPIRED.value, 0)]

    await shop.cancel(redemption)
    assert await shop.figures(customer) == (0, 0)
    assert await shop.lot_states(customer) == [(LotState.EXPIRED.value, 0)]
    assert (await shop.entries(customer))[-2:] == [
        (EntryKind.REDEEM_CANCEL, 100, 100),
        (EntryKind.EXPIRE, -100, 0),
    ]
    await assert_ledger_clean(database)


async def test_cancel_at_exactly_the_expiry_before_the_daily_job(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=10)
    customer, _ = await shop.order("150")
    redemption = await shop.redeem(customer, await shop.reward(100))
    shop.clock.at = START + timedelta(days=10)  # the lot's expires_at, to the microsecond

    await shop.cancel(redemption)
    assert await shop.figures(customer) == (0, 0)
    assert await shop.lot_states(customer) == [(LotState.EXPIRED.value, 0)]
    assert (await shop.entries(customer))[-2:] == [
        (EntryKind.REDEEM_CANCEL, 100, 150),
        (EntryKind.EXPIRE, -150, 0),
    ]
    await assert_ledger_clean(database)
    report = await run_daily(wiring.uow_factory(database), shop.clock.now())
    assert report.expired_points == 0
    await assert_ledger_clean(database)


async def test_cancel_just_before_the_expiry_gives_the_points_back(database):
    shop = Shop(database)
    await shop.program(pending_days=0, expiry_days=10)
    customer, _ = await shop.order("150")
    redemption = await shop.redeem(customer, await shop.reward(100))
    shop.clock.at = START + timedelta(days=10) - timedelta(microseconds=1)

    await shop.cancel(redemption)
    assert await shop.figures(customer) == (150, 0)
    assert await shop.lot_states(customer) == [(LotState.AVAILABLE.value, 150)]
    await assert_ledger_clean(database)


# ---- referrals ---------------------------------------------------------------------------


async def test_a_referral_order_of_exactly_the_minimum_qualifies(database):
    shop = Shop(database)
    await shop.program(pending_days=0, referral_min_order_amount=Decimal("50.00"))
    referrer, _ = await shop.order("1", customer="referrer")
    service = wiring.referrals(database, shop.clock)
    code = await service.code_of(referrer)
    short = await service.record(
        RecordReferral(code, CustomerRef(external_id="short", profile=ProfileInput()), "k1")
    )
    exact = await service.record(
        RecordReferral(code, CustomerRef(external_id="exact", profile=ProfileInput()), "k2")
    )

    await shop.order("49.99", customer="short")
    await shop.order("50.00", customer="exact")

    async with wiring.unit_of_work(database) as uow:
        assert (await uow.repo(REFERRALS).get(short.referral.id)).status is ReferralStatus.PENDING
        assert (await uow.repo(REFERRALS).get(exact.referral.id)).status is ReferralStatus.QUALIFIED
    assert (await shop.figures(exact.referral.referee_id))[0] == 50 + 100
    assert (await shop.figures(referrer))[0] == 1 + 100
    await assert_ledger_clean(database)


# ---- lots come back in id order ------------------------------------------------------------


async def test_load_account_returns_lots_in_id_order_after_updates(database):
    """Without ORDER BY a database returns rows in whatever order its plan gives (heap
    order on a PostgreSQL sequential scan, where an UPDATE can move a row to the end).
    The query's plan keeps id order here today, so this guards the ORDER BY rather
    than proving the need for it."""
    shop = Shop(database)
    await shop.program(pending_days=3, expiry_days=None)
    customer, first = await shop.order("10")
    await shop.order("20")
    await shop.order("30")
    await shop.refund(first, "5")  # shrinks the first (pending) lot: its row is rewritten
    account = await shop.account(customer)
    ids = [lot.id for lot in account.lots]
    assert ids == sorted(ids) and len(ids) == 3
    assert [lot.remaining for lot in account.lots] == [5, 20, 30]
