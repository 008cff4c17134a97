"""The `Member` type and the `Member…` types reachable from it.

Each is a small view over the same domain objects and loaders as the admin types
(`Tier`, `Order`, `LedgerEntry`, `Redemption`, `Reward`, `Referral`), without the
fields that reach other customers: `customer` links back to `Customer` (whose
internal fields refuse tokens), `Tier.customerCount` counts everyone, and a
referral's `referrer`/`referee`/`code` name the other side. IDs are the same
global IDs as the admin types, so a shopper's app can hand them to `node`,
`rewardRedeem` or `redemptionCancel`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from api import ids
from api.conversion import from_domain
from api.coupons.loaders import (
    COUPON_COUNTS,
    COUPON_OF_REDEMPTION,
    COUPON_PAGES,
    STATUS_COUNTS,
    STATUS_PAGES,
)
from api.coupons.types import CouponStatus
from api.customers.types import Gender
from api.earning_rules.loaders import EARNING_RULE
from api.errors import BadUserInput
from api.member.coupons import MemberCoupon
from api.money import Money, money
from api.orders.loaders import (
    ORDER,
    ORDER_COUNTS,
    ORDER_ITEMS,
    ORDER_PAGES,
    ORDER_POINTS_BREAKDOWN,
    ORDER_REFUNDS,
)
from api.orders.types import OrderItemType, RefundType
from api.pagination import Connection, paginate_per_parent
from api.points.loaders import LEDGER_COUNTS, LEDGER_PAGES
from api.points.types import CustomerPoints, LedgerEntryKind
from api.referrals.loaders import (
    REFERRAL,
    REFERRAL_CODE,
    REFERRAL_COUNTS,
    REFERRAL_OF_REFEREE,
    REFERRAL_PAGES,
)
from api.referrals.types import ReferralStatus
from api.rewards.loaders import REDEMPTION, REDEMPTION_COUNTS, REDEMPTION_PAGES, REWARD
from api.rewards.types import RedemptionStatus, RewardKind
from api.tiers.loaders import TIER, TIER_HISTORY, TIER_OF_CUSTOMER, TIER_PROGRESS
from domain import coupons as domain_coupons
from domain import customers as domain_customers
from domain import orders as domain_orders
from domain import redemptions as redeeming
from domain import referrals as domain_referrals
from domain import rewards as domain_rewards
from domain import tiers as domain_tiers
from domain.points import LedgerEntry

MAX_HISTORY = 100


@strawberry.type(description="A tier of the program, as a member sees it.")
class MemberTier:
    id: strawberry.ID
    name: str
    rank: int = strawberry.field(description="Higher ranks are better tiers.")
    threshold: Decimal = strawberry.field(
        description="The qualifying value (points or spend) that reaches it."
    )
    earn_multiplier: Decimal = strawberry.field(
        description="Points of an order are multiplied by this while the tier is held."
    )
    benefits: str | None

    @classmethod
    def from_domain(cls, tier: domain_tiers.Tier) -> MemberTier:
        return from_domain(cls, tier, id=strawberry.ID(ids.encode("Tier", tier.id)))


def member_tier(tier: domain_tiers.Tier | None) -> MemberTier | None:
    return MemberTier.from_domain(tier) if tier is not None else None


async def _load_tier(info: strawberry.Info, key: int | None) -> MemberTier | None:
    return None if key is None else member_tier(await info.context.loader(TIER).load(key))


@strawberry.type(description="Where the member stands in the tier ladder.")
class MemberTierProgress:
    current: MemberTier | None = strawberry.field(description="The tier held now.")
    next: MemberTier | None = strawberry.field(
        description="The tier ranked just above the one held; null at the top."
    )
    qualifying_value: Decimal = strawberry.field(
        description="Net points earned (or net spend) over the tier window, as of now."
    )
    remaining_to_next: Decimal | None = strawberry.field(
        description="How much more qualifying value reaches `next`; null when there is none."
    )


@strawberry.type(description="One move in the member's tier history.")
class MemberTierChange:
    reason: str
    at: datetime
    from_tier_id: strawberry.Private[int | None]
    to_tier_id: strawberry.Private[int | None]

    @strawberry.field(name="from", description="The tier left; null when none was held.")
    async def from_(self, info: strawberry.Info) -> MemberTier | None:
        return await _load_tier(info, self.from_tier_id)

    @strawberry.field(description="The tier reached; null when the member now holds none.")
    async def to(self, info: strawberry.Info) -> MemberTier | None:
        return await _load_tier(info, self.to_tier_id)


@strawberry.type(description="Something points can buy, as a member sees it.")
class MemberReward:
    id: strawberry.ID
    name: str
    description: str | None
    points_cost: int
    kind: RewardKind  # type: ignore[valid-type]
    value: Decimal | None
    active_from: datetime | None
    active_until: datetime | None
    model: strawberry.Private[domain_rewards.Reward]

    @classmethod
    def from_domain(cls, reward: domain_rewards.Reward) -> MemberReward:
        return from_domain(
            cls, reward, id=strawberry.ID(ids.encode("Reward", reward.id)), model=reward
        )

    @strawberry.field(description="The lowest tier that may redeem it; null = every member.")
    async def lowest_tier(self, info: strawberry.Info) -> MemberTier | None:
        return await _load_tier(info, self.model.lowest_tier_id)

    @strawberry.field(description="Inside its active window and not archived, right now.")
    def active(self, info: strawberry.Info) -> bool:
        return self.model.is_active(info.context.clock.now())


@strawberry.type(description="A reward the member bought with points.")
class MemberRedemption:
    id: strawberry.ID
    code: str = strawberry.field(description="Shown at checkout, grouped as XXXX-XXXX-XXXXX.")
    status: RedemptionStatus  # type: ignore[valid-type]
    points_spent: int
    issued_at: datetime
    used_at: datetime | None
    cancelled_at: datetime | None
    reward_key: strawberry.Private[int]
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, redemption: redeeming.Redemption) -> MemberRedemption:
        return from_domain(
            cls,
            redemption,
            id=strawberry.ID(ids.encode("Redemption", redemption.id)),
            code=redeeming.display_code(redemption.code),
            reward_key=redemption.reward_id,
            db_id=redemption.id,
        )

    @strawberry.field
    async def reward(self, info: strawberry.Info) -> MemberReward:
        found = await info.context.loader(REWARD).load(self.reward_key)
        assert found is not None, "a redeemed reward is archived, never deleted"
        return MemberReward.from_domain(found)

    @strawberry.field(description="COUPON rewards: the coupon this redemption bought.")
    async def coupon(self, info: strawberry.Info) -> MemberCoupon | None:
        found = await info.context.loader(COUPON_OF_REDEMPTION).load(self.db_id)
        return MemberCoupon.from_domain(found) if found else None


@strawberry.type(
    description="One part of what the member's order earned: the base points (ruleName "
    "null) or a promotion's."
)
class MemberPointsBreakdownLine:
    points: int
    eligible_amount: Money
    rule_key: strawberry.Private[int | None]

    @strawberry.field(description="The promotion's name; null for the base points.")
    async def rule_name(self, info: strawberry.Info) -> str | None:
        if self.rule_key is None:
            return None
        rule = await info.context.loader(EARNING_RULE).load(self.rule_key)
        return rule.name if rule else None


@strawberry.type(description="One of the member's orders.")
class MemberOrder:
    id: strawberry.ID
    external_id: str
    amount: Money
    refunded_amount: Money
    net_amount: Money
    counted: bool = strawberry.field(description="False once refunded in full.")
    placed_at: datetime
    channel: str | None
    points_earned: int
    points_reversed: int
    db_id: strawberry.Private[int]

    @classmethod
    def from_domain(cls, order: domain_orders.Order) -> MemberOrder:
        return from_domain(
            cls,
            order,
            id=strawberry.ID(ids.encode("Order", order.id)),
            amount=money(order.amount, order.currency),
            refunded_amount=money(order.refunded_amount, order.currency),
            net_amount=money(order.net_amount, order.currency),
            db_id=order.id,
        )

    @strawberry.field
    async def items(self, info: strawberry.Info) -> list[OrderItemType]:
        items = await info.context.loader(ORDER_ITEMS).load(self.db_id)
        return [from_domain(OrderItemType, i) for i in items]

    @strawberry.field
    async def refunds(self, info: strawberry.Info) -> list[RefundType]:
        refunds = await info.context.loader(ORDER_REFUNDS).load(self.db_id)
        return [RefundType.from_domain(r, self.amount.currency) for r in refunds]

    @strawberry.field(description="What the order earned, part by part: base points first.")
    async def points_breakdown(self, info: strawberry.Info) -> list[MemberPointsBreakdownLine]:
        lines = await info.context.loader(ORDER_POINTS_BREAKDOWN).load(self.db_id)
        return [
            MemberPointsBreakdownLine(
                points=line.points,
                eligible_amount=money(line.eligible_amount, self.amount.currency),
                rule_key=line.rule_id,
            )
            for line in lines
        ]


@strawberry.type(description="A referral the member is part of, without the other side's identity.")
class MemberReferral:
    status: ReferralStatus  # type: ignore[valid-type]
    recorded_at: datetime
    qualified_at: datetime | None
    reversed_at: datetime | None
    bonus: int = strawberry.field(description="Points this member got from it (0 until qualified).")

    @classmethod
    def of(cls, referral: domain_referrals.Referral, member_id: int) -> MemberReferral:
        mine = (
            referral.referrer_bonus if referral.referrer_id == member_id else referral.referee_bonus
        )
        return from_domain(cls, referral, bonus=mine)


@strawberry.type(description="One line of the member's points ledger.")
class MemberLedgerEntry:
    id: strawberry.ID
    kind: LedgerEntryKind  # type: ignore[valid-type]
    points: int = strawberry.field(description="Signed: credits positive, debits negative.")
    balance_after: int
    reason: str | None
    created_at: datetime
    member_id: strawberry.Private[int]
    order_key: strawberry.Private[int | None]
    redemption_key: strawberry.Private[int | None]
    referral_key: strawberry.Private[int | None]

    @classmethod
    def from_domain(cls, entry: LedgerEntry) -> MemberLedgerEntry:
        return from_domain(
            cls,
            entry,
            id=strawberry.ID(ids.encode("LedgerEntry", entry.id)),
            member_id=entry.customer_id,
            order_key=entry.order_id,
            redemption_key=entry.redemption_id,
            referral_key=entry.referral_id,
        )

    @strawberry.field(description="The order this entry belongs to, if any.")
    async def order(self, info: strawberry.Info) -> MemberOrder | None:
        if self.order_key is None:
            return None
        found = await info.context.loader(ORDER).load(self.order_key)
        return MemberOrder.from_domain(found) if found else None

    @strawberry.field(description="The redemption this entry belongs to, if any.")
    async def redemption(self, info: strawberry.Info) -> MemberRedemption | None:
        if self.redemption_key is None:
            return None
        found = await info.context.loader(REDEMPTION).load(self.redemption_key)
        return MemberRedemption.from_domain(found) if found else None

    @strawberry.field(description="The referral whose bonus this entry is, if any.")
    async def referral(self, info: strawberry.Info) -> MemberReferral | None:
        if self.referral_key is None:
            return None
        found = await info.context.loader(REFERRAL).load(self.referral_key)
        return MemberReferral.of(found, self.member_id) if found else None


@strawberry.type(
    name="Member",
    description="The shopper a customer token acts for: everything here answers the token.",
)
class Member:
    id: strawberry.ID
    external_id: str = strawberry.field(description="The storefront's own id for this member.")
    email: str | None
    phone: str | None
    name: str | None
    birthday: date | None
    gender: Gender | None  # type: ignore[valid-type]
    city: str | None
    created_at: datetime
    db_id: strawberry.Private[int]
    stats: strawberry.Private[domain_customers.CustomerStats]

    @classmethod
    def from_domain(cls, customer: domain_customers.Customer) -> Member:
        return from_domain(
            cls,
            customer,
            id=strawberry.ID(ids.encode("Customer", customer.id)),
            db_id=customer.id,
            stats=customer.stats or domain_customers.CustomerStats(),
        )

    @strawberry.field(description="Orders not refunded in full.")
    def orders_count(self) -> int:
        return self.stats.orders_count

    @strawberry.field(description="Net of refunds, over counted orders.")
    async def total_spent(self, info: strawberry.Info) -> Money:
        return money(self.stats.total_spent, (await info.context.program()).currency)

    @strawberry.field(description="totalSpent / ordersCount; null before the first order.")
    async def average_order_value(self, info: strawberry.Info) -> Money | None:
        value = self.stats.average_order_value
        if value is None:
            return None
        return money(value, (await info.context.program()).currency)

    @strawberry.field
    def first_order_at(self) -> datetime | None:
        return self.stats.first_order_at

    @strawberry.field
    def last_order_at(self) -> datetime | None:
        return self.stats.last_order_at

    @strawberry.field(description="Balances: available, pending, debt, lifetime, expiring.")
    def points(self) -> CustomerPoints:
        return CustomerPoints(
            available=self.stats.points_balance,
            debt=self.stats.points_debt,
            lifetime_earned=self.stats.lifetime_earned,
            customer_key=self.db_id,
        )

    @strawberry.field(description="The points ledger, newest entry first.")
    async def ledger(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberLedgerEntry]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="LEDGER",
            first=first,
            after=after,
            pages=LEDGER_PAGES,
            counts=LEDGER_COUNTS,
            to_node=MemberLedgerEntry.from_domain,
        )

    @strawberry.field(description="The member's orders, most recently placed first.")
    async def orders(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberOrder]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="PLACED_AT_DESC",
            first=first,
            after=after,
            pages=ORDER_PAGES,
            counts=ORDER_COUNTS,
            to_node=MemberOrder.from_domain,
        )

    @strawberry.field(description="The tier the member holds; null when none.")
    async def tier(self, info: strawberry.Info) -> MemberTier | None:
        return member_tier(await info.context.loader(TIER_OF_CUSTOMER).load(self.db_id))

    @strawberry.field(description="Tier held, the next one, and the qualifying value as of now.")
    async def tier_progress(self, info: strawberry.Info) -> MemberTierProgress:
        found = await info.context.loader(TIER_PROGRESS).load(self.db_id)
        if found is None:  # the customer row vanished between `me` and this batch
            found = domain_tiers.TierProgress(None, None, Decimal(0), None)
        return MemberTierProgress(
            current=member_tier(found.current),
            next=member_tier(found.next),
            qualifying_value=found.qualifying_value,
            remaining_to_next=found.remaining_to_next,
        )

    @strawberry.field(description="The member's tier moves, newest first (first ≤ 100).")
    async def tier_history(self, info: strawberry.Info, first: int = 20) -> list[MemberTierChange]:
        if not 0 <= first <= MAX_HISTORY:
            raise BadUserInput(f"first must be between 0 and {MAX_HISTORY}.")
        entries = await info.context.loader(TIER_HISTORY).load((self.db_id, first))
        return [from_domain(MemberTierChange, e) for e in entries]

    @strawberry.field(description="Rewards the member redeemed, newest first.")
    async def redemptions(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberRedemption]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="NEWEST",
            first=first,
            after=after,
            pages=REDEMPTION_PAGES,
            counts=REDEMPTION_COUNTS,
            to_node=MemberRedemption.from_domain,
        )

    @strawberry.field(
        description="The member's coupons, newest first; `status` keeps those with that "
        "status as of now (ISSUED: usable now or later, EXPIRED, USED)."
    )
    async def coupons(
        self,
        info: strawberry.Info,
        status: CouponStatus | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[MemberCoupon]:
        chosen = domain_coupons.CouponStatus(status) if status is not None else None
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="NEWEST",
            first=first,
            after=after,
            pages=STATUS_PAGES[chosen] if chosen else COUPON_PAGES,
            counts=STATUS_COUNTS[chosen] if chosen else COUPON_COUNTS,
            to_node=MemberCoupon.from_domain,
        )

    @strawberry.field(description="The member's own referral code, to share with friends.")
    async def referral_code(self, info: strawberry.Info) -> str:
        from domain.referrals import ReferralService

        context = info.context
        code = await context.loader(REFERRAL_CODE).load(self.db_id)
        if code is not None:
            return code
        service = ReferralService(
            context.uow, context.clock, phone_region=context.settings.phone_region
        )
        return await service.code_of(self.db_id)

    @strawberry.field(description="The friends this member referred, newest first (no names).")
    async def referrals(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberReferral]:
        return await paginate_per_parent(
            info,
            self.db_id,
            sort="REFERRALS",
            first=first,
            after=after,
            pages=REFERRAL_PAGES,
            counts=REFERRAL_COUNTS,
            to_node=lambda referral: MemberReferral.of(referral, self.db_id),
        )

    @strawberry.field(description="The referral that brought this member, if any (no referrer).")
    async def referred_by(self, info: strawberry.Info) -> MemberReferral | None:
        referral = await info.context.loader(REFERRAL_OF_REFEREE).load(self.db_id)
        return MemberReferral.of(referral, self.db_id) if referral else None
