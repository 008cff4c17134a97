"""Points over GraphQL: the ledger, a customer's balances, and `pointsAdjust`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import require
from api.customers import CustomerType
from api.errors import BadUserInput, UserError, decode_input_id, user_errors
from api.node import Node, register
from domain import adjustments
from domain.access import Scope
from domain.errors import DomainError, InvalidInput
from domain.points import EntryKind, LedgerEntry

if TYPE_CHECKING:
    from api.orders import OrderType
    from api.referrals import ReferralType
    from api.rewards import RedemptionType

LedgerEntryKind = strawberry.enum(EntryKind, name="LedgerEntryKind")


@strawberry.type(name="LedgerEntry", description="One append-only line of a customer's ledger.")
class LedgerEntryType(Node):
    id: strawberry.ID
    kind: LedgerEntryKind  # type: ignore[valid-type]
    points: int = strawberry.field(description="Signed: credits positive, debits negative.")
    balance_after: int
    reason: str | None
    idempotency_key: str | None
    created_at: datetime
    order_key: strawberry.Private[int | None]
    redemption_key: strawberry.Private[int | None]
    referral_key: strawberry.Private[int | None]
    customer_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, entry: LedgerEntry) -> LedgerEntryType:
        return cls(
            id=strawberry.ID(ids.encode("LedgerEntry", entry.id)),
            kind=entry.kind,
            points=entry.points,
            balance_after=entry.balance_after,
            reason=entry.reason,
            idempotency_key=entry.idempotency_key,
            created_at=entry.created_at,
            order_key=entry.order_id,
            redemption_key=entry.redemption_id,
            referral_key=entry.referral_id,
            customer_key=entry.customer_id,
        )

    @strawberry.field(description="The order this entry belongs to, if any.")
    async def order(
        self, info: strawberry.Info
    ) -> Annotated[OrderType, strawberry.lazy("api.orders")] | None:
        from api.orders import OrderType

        if self.order_key is None:
            return None
        order = await info.context.loaders.order.load(self.order_key)
        return OrderType.from_domain(order) if order else None

    @strawberry.field(description="The redemption this entry belongs to, if any.")
    async def redemption(
        self, info: strawberry.Info
    ) -> Annotated[RedemptionType, strawberry.lazy("api.rewards")] | None:
        from api.rewards import RedemptionType

        if self.redemption_key is None:
            return None
        redemption = await info.context.loaders.redemption.load(self.redemption_key)
        return RedemptionType.from_domain(redemption) if redemption else None

    @strawberry.field(description="The referral whose bonus this entry is, if any.")
    async def referral(
        self, info: strawberry.Info
    ) -> Annotated[ReferralType, strawberry.lazy("api.referrals")] | None:
        from api.referrals import ReferralType

        if self.referral_key is None:
            return None
        referral = await info.context.loaders.referral.load(self.referral_key)
        return ReferralType.from_domain(referral) if referral else None

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> CustomerType:
        return CustomerType.from_domain(await info.context.loaders.customer.load(self.customer_key))


@register("LedgerEntry", Scope.CUSTOMERS_READ, owner=lambda node: node.customer_key)
async def fetch_entry(info: strawberry.Info, key: int) -> LedgerEntryType | None:
    entry = await info.context.loaders.ledger_entry.load(key)
    return LedgerEntryType.from_domain(entry) if entry else None


@strawberry.type(description="Available points that expire at one instant.")
class ExpiringPoints:
    points: int
    at: datetime


@strawberry.type(description="A customer's points: what they can spend and what is coming.")
class CustomerPoints:
    available: int = strawberry.field(
        description="Spendable now. Negative when a refund reversed points already spent."
    )
    debt: int = strawberry.field(description="Points owed after such a reversal; paid first.")
    lifetime_earned: int = strawberry.field(
        description="Points earned from orders and bonuses, net of refund reversals."
    )
    customer_key: strawberry.Private[int]

    @strawberry.field(description="Points from orders still in their pending period.")
    async def pending(self, info: strawberry.Info) -> int:
        return await info.context.loaders.pending_points.load(self.customer_key)

    @strawberry.field(description="Available points expiring within `days`, soonest first.")
    async def expiring_soon(self, info: strawberry.Info, days: int = 30) -> list[ExpiringPoints]:
        if not 1 <= days <= 3650:
            raise BadUserInput("days must be between 1 and 3650.")
        until = info.context.clock.now() + timedelta(days=days)
        found = await info.context.loaders.expiring_points.load((self.customer_key, until))
        return [ExpiringPoints(points=points, at=at) for at, points in found]


@strawberry.input
class PointsAdjustInput:
    customer_id: strawberry.ID
    points: int = strawberry.field(description="Positive to credit, negative to debit.")
    reason: str
    idempotency_key: str


@strawberry.type
class PointsAdjustPayload:
    customer: CustomerType | None
    entry: LedgerEntryType | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.type
class PointsMutation:
    @strawberry.mutation(
        description="Credits or debits points by hand. A debit can never make the balance "
        "negative. Idempotent on idempotencyKey."
    )
    async def points_adjust(
        self, info: strawberry.Info, input: PointsAdjustInput
    ) -> PointsAdjustPayload:
        caller = require(info, Scope.POINTS_ADJUST)
        service = adjustments.AdjustmentService(info.context.uow, info.context.clock)
        try:
            customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
            result = await service.adjust(
                adjustments.AdjustPoints(
                    customer_id,
                    input.points,
                    input.reason,
                    input.idempotency_key,
                    caller.api_key.id,
                )
            )
        except (DomainError, InvalidInput) as exc:
            return PointsAdjustPayload(
                customer=None, entry=None, replayed=False, user_errors=user_errors(exc)
            )
        entry = await info.context.loaders.ledger_entry.load(result.entry_id)
        return PointsAdjustPayload(
            customer=CustomerType.from_domain(result.customer),
            entry=LedgerEntryType.from_domain(entry),
            replayed=result.replayed,
            user_errors=[],
        )
