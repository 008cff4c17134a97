"""The LedgerEntry and CustomerPoints types."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import strawberry

from api import ids
from api.auth import requires
from api.conversion import from_domain
from api.customers.nodes import load_customer
from api.errors import BadUserInput
from api.node import Node, register
from api.pagination import Connection, paginate_per_parent
from api.points.loaders import (
    EXPIRING_POINTS,
    LEDGER_ENTRY,
    LOT_COUNTS,
    LOT_PAGES,
    PENDING_POINTS,
)
from domain.access import Scope
from domain.errors import present
from domain.points import EntryKind, LedgerEntry, Lot, LotState

if TYPE_CHECKING:
    from api.customers.types import CustomerType
    from api.earning_rules.types import EarningRuleType
    from api.orders.types import OrderType
    from api.referrals.types import ReferralType
    from api.rewards.types import RedemptionType

LedgerEntryKind = strawberry.enum(EntryKind, name="LedgerEntryKind")
PointLotState = strawberry.enum(
    LotState,
    name="PointLotState",
    description="PENDING until availableAt, then AVAILABLE until spent or expiresAt, then EXPIRED.",
)


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
    rule_key: strawberry.Private[int | None]
    customer_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, entry: LedgerEntry) -> LedgerEntryType:
        return from_domain(
            cls,
            entry,
            id=strawberry.ID(ids.encode("LedgerEntry", entry.id)),
            order_key=entry.order_id,
            redemption_key=entry.redemption_id,
            referral_key=entry.referral_id,
            rule_key=entry.rule_id,
            customer_key=entry.customer_id,
        )

    @strawberry.field(description="The order this entry belongs to, if any.")
    async def order(
        self, info: strawberry.Info
    ) -> Annotated[OrderType, strawberry.lazy("api.orders.types")] | None:
        from api.orders.types import load_order

        return None if self.order_key is None else await load_order(info, self.order_key)

    @strawberry.field(description="The redemption this entry belongs to, if any.")
    async def redemption(
        self, info: strawberry.Info
    ) -> Annotated[RedemptionType, strawberry.lazy("api.rewards.types")] | None:
        from api.rewards.types import load_redemption

        if self.redemption_key is None:
            return None
        return await load_redemption(info, self.redemption_key)

    @strawberry.field(description="The referral whose bonus this entry is, if any.")
    async def referral(
        self, info: strawberry.Info
    ) -> Annotated[ReferralType, strawberry.lazy("api.referrals.types")] | None:
        from api.referrals.types import load_referral

        return None if self.referral_key is None else await load_referral(info, self.referral_key)

    @strawberry.field(
        description="The earning rule whose points these are (null: an order's base points, "
        "and every entry not made by a rule). Needs promotions:read.",
        permission_classes=[requires(Scope.PROMOTIONS_READ)],
    )
    async def rule(
        self, info: strawberry.Info
    ) -> Annotated[EarningRuleType, strawberry.lazy("api.earning_rules.types")] | None:
        from api.earning_rules.types import load_earning_rule

        return None if self.rule_key is None else await load_earning_rule(info, self.rule_key)

    @strawberry.field
    async def customer(
        self, info: strawberry.Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.customers.types")]:
        found = await load_customer(info, self.customer_key)
        assert found is not None, "a ledger entry's customer is never deleted"
        return found


@register("LedgerEntry", Scope.CUSTOMERS_READ, owner=lambda node: node.customer_key)
async def fetch_entry(info: strawberry.Info, key: int) -> LedgerEntryType | None:
    entry = await info.context.loader(LEDGER_ENTRY).load(key)
    return LedgerEntryType.from_domain(entry) if entry else None


@strawberry.type(description="Available points that expire at one instant.")
class ExpiringPoints:
    points: int
    at: datetime


@strawberry.type(
    name="PointLot",
    description="Points credited together, spent first-in first-out and expiring together.",
)
class PointLotType:
    kind: LedgerEntryKind = strawberry.field(  # type: ignore[valid-type]
        description="Where the points came from: EARN (an order), BONUS (an earning rule or "
        "a referral), ADJUST, REDEEM_CANCEL (a cancelled redemption put back), TRANSFER_IN "
        "(a merge)."
    )
    points: int = strawberry.field(description="Credited.")
    remaining: int = strawberry.field(description="Not yet spent (nor expired).")
    state: PointLotState  # type: ignore[valid-type]
    available_at: datetime = strawberry.field(description="When a PENDING lot can be spent.")
    expires_at: datetime | None = strawberry.field(description="Null: the points never expire.")
    created_at: datetime = strawberry.field(description="When the points were credited.")

    @classmethod
    def from_domain(cls, lot: Lot) -> PointLotType:
        return from_domain(cls, lot, created_at=present(lot.created_at, "lot created_at"))


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
        return await info.context.loader(PENDING_POINTS).load(self.customer_key)

    @strawberry.field(description="Available points expiring within `days`, soonest first.")
    async def expiring_soon(self, info: strawberry.Info, days: int = 30) -> list[ExpiringPoints]:
        if not 1 <= days <= 3650:
            raise BadUserInput("days must be between 1 and 3650.")
        until = info.context.clock.now() + timedelta(days=days)
        found = await info.context.loader(EXPIRING_POINTS).load((self.customer_key, until))
        return [ExpiringPoints(points=points, at=at) for at, points in found]

    @strawberry.field(
        description="The lots the points live in, newest first, whatever their state: "
        "pending, available (spent or not) and expired."
    )
    async def lots(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[PointLotType]:
        return await paginate_per_parent(
            info,
            self.customer_key,
            sort="LOTS",
            first=first,
            after=after,
            pages=LOT_PAGES,
            counts=LOT_COUNTS,
            to_node=PointLotType.from_domain,
        )
