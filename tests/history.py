"""A customer history written straight into the tables, for the metrics tests.

Orders are recorded by another area's service; the metrics only read the rows, so
the tests write exactly the rows they reason about (refund state included), then
refresh each customer's stored order statistics as that service does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert

from domain.program import PROGRAM, ProgramSettings
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.feedback import FeedbackRow
from persistence.orders import OrderRow, SqlOrderRepository
from persistence.points import LedgerEntryRow
from persistence.referrals import ReferralRow
from persistence.unit_of_work import SqlUnitOfWork

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass
class History:
    customers: list[str] = field(default_factory=list)
    # (customer, placed_at, amount, refunded)
    orders: list[tuple[str, datetime, Decimal, Decimal]] = field(default_factory=list)
    # (customer, kind, points, created_at)
    entries: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    # (customer, kind, score, created_at)
    answers: list[tuple[str, str, int, datetime]] = field(default_factory=list)
    # (referee, referrer, recorded_at, status, qualified_at)
    referrals: list[tuple[str, str, datetime, str, datetime | None]] = field(default_factory=list)

    def order(self, who: str, at: datetime, amount: str, refunded: str = "0") -> None:
        self._known(who)
        self.orders.append((who, at, Decimal(amount), Decimal(refunded)))

    def entry(self, who: str, kind: str, points: int, at: datetime) -> None:
        self._known(who)
        self.entries.append((who, kind, points, at))

    def answer(self, who: str, kind: str, score: int, at: datetime) -> None:
        self._known(who)
        self.answers.append((who, kind, score, at))

    def referral(
        self,
        referee: str,
        referrer: str,
        at: datetime,
        status: str = "PENDING",
        qualified_at: datetime | None = None,
    ) -> None:
        """A referral as its row stands now: PENDING, QUALIFIED (at `qualified_at`) or
        REVERSED (it had qualified at `qualified_at`)."""
        self._known(referee)
        self._known(referrer)
        self.referrals.append((referee, referrer, at, status, qualified_at))

    def _known(self, who: str) -> None:
        if who not in self.customers:
            self.customers.append(who)

    async def write(self, database: Database) -> dict[str, int]:
        """Inserts everything; returns the database id of each customer."""
        async with database.sessions() as session, session.begin():
            ids = {}
            for name in self.customers:
                row = CustomerRow(external_id=name, created_at=EPOCH, updated_at=EPOCH)
                session.add(row)
                await session.flush()
                ids[name] = row.id
            if self.orders:
                await session.execute(
                    insert(OrderRow),
                    [
                        {
                            "customer_id": ids[who],
                            "external_id": f"order-{i}",
                            "amount": amount,
                            "refunded_amount": refunded,
                            "currency": "CNY",
                            "placed_at": at,
                            "award_points": True,
                            "request_hash": "-",
                            "created_at": at,
                        }
                        for i, (who, at, amount, refunded) in enumerate(self.orders)
                    ],
                )
                for who in {who for who, *_ in self.orders}:
                    await SqlOrderRepository(session).refresh_customer_stats(ids[who])
                await SqlOrderRepository(session).refresh_order_months(
                    [(ids[who], at) for who, at, *_ in self.orders]
                )
            if self.entries:
                await session.execute(
                    insert(LedgerEntryRow),
                    [
                        {
                            "customer_id": ids[who],
                            "kind": kind,
                            "points": points,
                            "balance_after": 0,
                            "created_at": at,
                        }
                        for who, kind, points, at in self.entries
                    ],
                )
            if self.answers:
                await session.execute(
                    insert(FeedbackRow),
                    [
                        {"customer_id": ids[who], "kind": kind, "score": score, "created_at": at}
                        for who, kind, score, at in self.answers
                    ],
                )
            if self.referrals:
                await session.execute(
                    insert(ReferralRow),
                    [
                        {
                            "customer_id": ids[referee],
                            "referrer_id": ids[referrer],
                            "code": f"CODE{i}",
                            "status": status,
                            "recorded_at": at,
                            "qualified_at": qualified_at,
                            "reversed_at": qualified_at if status == "REVERSED" else None,
                        }
                        for i, (referee, referrer, at, status, qualified_at) in enumerate(
                            self.referrals
                        )
                    ],
                )
        return ids


async def set_program(database: Database, **changes) -> None:  # noqa: ANN003
    async with SqlUnitOfWork(database) as uow:
        await uow.repo(PROGRAM).save(ProgramSettings(**changes))
        await uow.commit()


METRICS_FIELDS = """
  from to buyers orders revenue { amount currency } averageOrderValue { amount }
  newCustomers returningCustomers repeatCustomers repeatPurchaseRate returningCustomerRate
  repeatPurchaseFrequency repurchaseIntervalDays previousPeriodBuyers retainedCustomers
  retentionRate churnRate customerLifetimeValue { amount } npsResponses nps csatResponses csat
  pointsIssued pointsRedeemed pointsExpired pointsDeducted redemptionRate pointsLiability
  pointsLiabilityValue { amount currency } referralsRecorded referralsQualified
  referralConversion
"""
