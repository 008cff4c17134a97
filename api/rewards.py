"""Rewards over GraphQL: the catalog, redeeming, and codes at checkout.

Who may do what:
- the catalog (`rewards`, `reward`): any caller with rewards:read, customer tokens
  included; `affordableFor` with a token must name its own customer;
- catalog upkeep (`rewardCreate`/`rewardUpdate`/`rewardArchive`): API keys with
  rewards:write only;
- `rewardRedeem`, `redemptionCancel`: rewards:redeem, and a token only for itself;
- `redemptionUse` (the storefront at checkout): API keys with redemptions:use only;
- `redemption(code)`: API keys with redemptions:use, or the owning customer's token.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api import ids
from api.auth import CustomerPrincipal, api_key_only, require, require_customer
from api.customers import CustomerType, unset_to_domain
from api.errors import BadUserInput, Forbidden, UserError, decode_input_id, user_errors
from api.node import Node, register
from api.pagination import Connection, connection, decode_cursor, page_size
from api.tiers import TierType
from domain import redemptions as redeeming
from domain import rewards as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode, InvalidInput
from persistence import rewards as reads

RewardKind = strawberry.enum(domain.RewardKind, name="RewardKind")
RedemptionStatus = strawberry.enum(redeeming.RedemptionStatus, name="RedemptionStatus")

CATALOG_SORT = "POINTS_COST_ASC"
REDEMPTIONS_SORT = "NEWEST"


@strawberry.type(name="Reward", description="Something points can buy.")
class RewardType(Node):
    id: strawberry.ID
    name: str
    description: str | None
    points_cost: int
    kind: RewardKind  # type: ignore[valid-type]
    value: Decimal | None = strawberry.field(
        description="Percent off (DISCOUNT_PERCENT), amount off in the program currency "
        "(DISCOUNT_AMOUNT); optional for FREE_PRODUCT and CUSTOM."
    )
    stock: int | None = strawberry.field(description="Left to redeem; null = unlimited.")
    limit_per_customer: int | None = strawberry.field(
        description="Issued and used redemptions a customer may hold; null = no limit."
    )
    active_from: datetime | None
    active_until: datetime | None = strawberry.field(description="Exclusive; null = open-ended.")
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    db_id: strawberry.Private[int]
    model: strawberry.Private[domain.Reward]

    @classmethod
    def from_domain(cls, reward: domain.Reward) -> RewardType:
        return cls(
            id=strawberry.ID(ids.encode("Reward", reward.id)),
            name=reward.name,
            description=reward.description,
            points_cost=reward.points_cost,
            kind=reward.kind,
            value=reward.value,
            stock=reward.stock,
            limit_per_customer=reward.limit_per_customer,
            active_from=reward.active_from,
            active_until=reward.active_until,
            archived_at=reward.archived_at,
            created_at=reward.created_at,
            updated_at=reward.updated_at,
            db_id=reward.id,
            model=reward,
        )

    @strawberry.field(description="The lowest tier that may redeem it; null = every customer.")
    async def lowest_tier(self, info: strawberry.Info) -> TierType | None:
        if self.model.lowest_tier_id is None:
            return None
        tier = await info.context.loaders.tier.load(self.model.lowest_tier_id)
        return TierType.from_domain(tier) if tier else None

    @strawberry.field(description="Inside its active window and not archived, right now.")
    def active(self, info: strawberry.Info) -> bool:
        return self.model.is_active(info.context.clock.now())


@register("Reward", Scope.REWARDS_READ)
async def fetch_reward(info: strawberry.Info, key: int) -> RewardType | None:
    reward = await info.context.loaders.reward.load(key)
    return RewardType.from_domain(reward) if reward else None


@strawberry.type(name="Redemption", description="A reward a customer bought with points.")
class RedemptionType(Node):
    id: strawberry.ID
    code: str = strawberry.field(
        description="Shown to the shopper and typed or scanned at checkout, grouped as "
        "XXXX-XXXX-XXXXX; case, dashes and spaces do not matter when it is looked up."
    )
    status: RedemptionStatus  # type: ignore[valid-type]
    points_spent: int
    issued_at: datetime
    used_at: datetime | None
    cancelled_at: datetime | None
    db_id: strawberry.Private[int]
    customer_key: strawberry.Private[int]
    reward_key: strawberry.Private[int]

    @classmethod
    def from_domain(cls, redemption: redeeming.Redemption) -> RedemptionType:
        return cls(
            id=strawberry.ID(ids.encode("Redemption", redemption.id)),
            code=redeeming.display_code(redemption.code),
            status=redemption.status,
            points_spent=redemption.points_spent,
            issued_at=redemption.issued_at,
            used_at=redemption.used_at,
            cancelled_at=redemption.cancelled_at,
            db_id=redemption.id,
            customer_key=redemption.customer_id,
            reward_key=redemption.reward_id,
        )

    @strawberry.field
    async def reward(self, info: strawberry.Info) -> RewardType:
        return RewardType.from_domain(await info.context.loaders.reward.load(self.reward_key))

    @strawberry.field
    async def customer(self, info: strawberry.Info) -> CustomerType:
        return CustomerType.from_domain(await info.context.loaders.customer.load(self.customer_key))


@register("Redemption", Scope.REWARDS_READ, owner=lambda node: node.customer_key)
async def fetch_redemption(info: strawberry.Info, key: int) -> RedemptionType | None:
    redemption = await info.context.loaders.redemption.load(key)
    return RedemptionType.from_domain(redemption) if redemption else None


async def redemptions_of(
    info: strawberry.Info, customer_id: int, first: int | None, after: str | None
) -> Connection[RedemptionType]:
    """`Customer.redemptions`, newest first (api/customers.py delegates here)."""
    require(info, Scope.REWARDS_READ)
    size = page_size(first)
    key = decode_cursor(after, REDEMPTIONS_SORT) if after else None
    page = await info.context.read(reads.redemptions_of_customer, customer_id, key, size)
    return connection(
        page,
        REDEMPTIONS_SORT,
        RedemptionType.from_domain,
        lambda: info.context.read(reads.count_redemptions_of_customer, customer_id),
        after=after,
    )


def _query_id(global_id: str, expected: str, name: str) -> int:
    try:
        return ids.decode(global_id, expected)
    except ValueError:
        raise BadUserInput(f"{name} is not a {expected} ID.") from None


@strawberry.input
class RewardFilter:
    active_only: bool = strawberry.field(
        default=False, description="Only rewards redeemable now (in their window, not archived)."
    )
    affordable_for: strawberry.ID | None = strawberry.field(
        default=None, description="Only rewards this customer's available points cover."
    )
    tier: strawberry.ID | None = strawberry.field(
        default=None, description="Only rewards open to this tier (its rank or lower)."
    )
    include_archived: bool = False


@strawberry.input
class RewardCreateInput:
    name: str
    points_cost: int
    kind: RewardKind  # type: ignore[valid-type]
    value: Decimal | None = None
    description: str | None = None
    stock: int | None = strawberry.field(default=None, description="null = unlimited.")
    limit_per_customer: int | None = None
    lowest_tier_id: strawberry.ID | None = None
    active_from: datetime | None = None
    active_until: datetime | None = None


@strawberry.input(description="Fields to change; an omitted field is left as it is.")
class RewardUpdateInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    points_cost: int | None = strawberry.UNSET
    kind: RewardKind | None = strawberry.UNSET  # type: ignore[valid-type]
    value: Decimal | None = strawberry.UNSET
    stock: int | None = strawberry.field(
        default=strawberry.UNSET, description="Sets the stock left; null = unlimited."
    )
    limit_per_customer: int | None = strawberry.UNSET
    lowest_tier_id: strawberry.ID | None = strawberry.UNSET
    active_from: datetime | None = strawberry.UNSET
    active_until: datetime | None = strawberry.UNSET


@strawberry.input
class RewardArchiveInput:
    id: strawberry.ID


@strawberry.input
class RewardRedeemInput:
    customer_id: strawberry.ID
    reward_id: strawberry.ID
    idempotency_key: str = strawberry.field(
        description="Retrying with the same key returns the first redemption (per customer)."
    )


@strawberry.input
class RedemptionUseInput:
    code: str


@strawberry.input
class RedemptionCancelInput:
    id: strawberry.ID
    idempotency_key: str


@strawberry.type
class RewardPayload:
    reward: RewardType | None
    user_errors: list[UserError]


@strawberry.type
class RewardRedeemPayload:
    redemption: RedemptionType | None
    customer: CustomerType | None
    replayed: bool
    user_errors: list[UserError]


@strawberry.type
class RedemptionUsePayload:
    redemption: RedemptionType | None
    user_errors: list[UserError]


@strawberry.type
class RedemptionCancelPayload:
    redemption: RedemptionType | None
    customer: CustomerType | None
    replayed: bool
    user_errors: list[UserError]


def _fields(data: RewardCreateInput | RewardUpdateInput) -> domain.RewardFields:
    tier = unset_to_domain(data.lowest_tier_id)
    if isinstance(tier, str):
        tier = decode_input_id(tier, "Tier", ("input", "lowestTierId"))
    return domain.RewardFields(
        name=unset_to_domain(data.name),
        description=unset_to_domain(data.description),
        points_cost=unset_to_domain(data.points_cost),
        kind=unset_to_domain(data.kind),
        value=unset_to_domain(data.value),
        stock=unset_to_domain(data.stock),
        limit_per_customer=unset_to_domain(data.limit_per_customer),
        lowest_tier_id=tier,
        active_from=unset_to_domain(data.active_from),
        active_until=unset_to_domain(data.active_until),
    )


def _reward_service(info: strawberry.Info) -> domain.RewardService:
    return domain.RewardService(info.context.uow, info.context.clock)


def _redemption_service(info: strawberry.Info) -> redeeming.RedemptionService:
    return redeeming.RedemptionService(info.context.uow, info.context.clock)


@strawberry.type
class RewardQuery:
    @strawberry.field(description="The reward catalog, cheapest first.")
    async def rewards(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: RewardFilter | None = None,
    ) -> Connection[RewardType]:
        require(info, Scope.REWARDS_READ)
        given = filter or RewardFilter()
        affordable_for = None
        if given.affordable_for is not None:
            affordable_for = _query_id(given.affordable_for, "Customer", "affordableFor")
            require_customer(info, Scope.REWARDS_READ, affordable_for)
        criteria = reads.RewardFilter(
            active_at=info.context.clock.now() if given.active_only else None,
            affordable_for=affordable_for,
            tier_id=_query_id(given.tier, "Tier", "tier") if given.tier is not None else None,
            include_archived=given.include_archived,
        )
        size = page_size(first)
        key = decode_cursor(after, CATALOG_SORT) if after else None
        page = await info.context.read(reads.list_rewards, criteria, key, size)
        return connection(
            page,
            CATALOG_SORT,
            RewardType.from_domain,
            lambda: info.context.read(reads.count_rewards, criteria),
            after=after,
        )

    @strawberry.field(description="One reward by global ID.")
    async def reward(self, info: strawberry.Info, id: strawberry.ID) -> RewardType | None:
        require(info, Scope.REWARDS_READ)
        try:
            key = ids.decode(id, "Reward")
        except ValueError:
            return None
        reward = await info.context.loaders.reward.load(key)
        return RewardType.from_domain(reward) if reward else None

    @strawberry.field(
        description="A redemption by its code, as typed at checkout (storefront keys), or "
        "the caller's own (customer tokens)."
    )
    async def redemption(self, info: strawberry.Info, code: str) -> RedemptionType | None:
        caller = require(info)
        normalized = redeeming.normalize_code(code)
        if isinstance(caller, CustomerPrincipal):
            require(info, Scope.REWARDS_READ)
            found = await info.context.loaders.redemption_by_code.load(normalized or "")
            # Another customer's code and a missing one look the same to a token.
            if found is None or found.customer_id != caller.customer_id:
                raise Forbidden("A customer token may only read its own redemptions.")
            return RedemptionType.from_domain(found)
        require(info, Scope.REDEMPTIONS_USE)
        if normalized is None:
            return None
        found = await info.context.loaders.redemption_by_code.load(normalized)
        return RedemptionType.from_domain(found) if found else None


@strawberry.type
class RewardMutation:
    @strawberry.mutation(description="Adds a reward to the catalog.")
    async def reward_create(self, info: strawberry.Info, input: RewardCreateInput) -> RewardPayload:
        api_key_only(info, Scope.REWARDS_WRITE)
        try:
            reward = await _reward_service(info).create(_fields(input))
        except (DomainError, InvalidInput) as exc:
            return RewardPayload(reward=None, user_errors=user_errors(exc))
        return RewardPayload(reward=RewardType.from_domain(reward), user_errors=[])

    @strawberry.mutation(description="Changes a reward; issued redemptions keep what they cost.")
    async def reward_update(self, info: strawberry.Info, input: RewardUpdateInput) -> RewardPayload:
        api_key_only(info, Scope.REWARDS_WRITE)
        try:
            key = decode_input_id(input.id, "Reward", ("input", "id"))
            reward = await _reward_service(info).update(key, _fields(input))
        except (DomainError, InvalidInput) as exc:
            return RewardPayload(reward=None, user_errors=user_errors(exc))
        return RewardPayload(reward=RewardType.from_domain(reward), user_errors=[])

    @strawberry.mutation(
        description="Takes a reward out of the catalog; codes already issued stay usable."
    )
    async def reward_archive(
        self, info: strawberry.Info, input: RewardArchiveInput
    ) -> RewardPayload:
        api_key_only(info, Scope.REWARDS_WRITE)
        try:
            key = decode_input_id(input.id, "Reward", ("input", "id"))
            reward = await _reward_service(info).archive(key)
        except (DomainError, InvalidInput) as exc:
            return RewardPayload(reward=None, user_errors=user_errors(exc))
        return RewardPayload(reward=RewardType.from_domain(reward), user_errors=[])

    @strawberry.mutation(
        description="Spends the customer's points (FIFO by expiry) on a reward and issues a "
        "code, taking one from stock, all in one transaction. Refusals: REWARD_INACTIVE, "
        "TIER_TOO_LOW, LIMIT_REACHED, OUT_OF_STOCK, INSUFFICIENT_POINTS, NOT_FOUND. "
        "Idempotent on idempotencyKey."
    )
    async def reward_redeem(
        self, info: strawberry.Info, input: RewardRedeemInput
    ) -> RewardRedeemPayload:
        require(info, Scope.REWARDS_REDEEM)
        try:
            customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
            reward_id = decode_input_id(input.reward_id, "Reward", ("input", "rewardId"))
        except DomainError as exc:
            return RewardRedeemPayload(
                redemption=None, customer=None, replayed=False, user_errors=user_errors(exc)
            )
        caller = require_customer(info, Scope.REWARDS_REDEEM, customer_id)
        try:
            result = await _redemption_service(info).redeem(
                redeeming.RedeemReward(
                    customer_id, reward_id, input.idempotency_key, caller.api_key.id
                )
            )
        except (DomainError, InvalidInput) as exc:
            return RewardRedeemPayload(
                redemption=None, customer=None, replayed=False, user_errors=user_errors(exc)
            )
        customer = await info.context.loaders.customer.load(customer_id)
        return RewardRedeemPayload(
            redemption=RedemptionType.from_domain(result.redemption),
            customer=CustomerType.from_domain(customer),
            replayed=result.replayed,
            user_errors=[],
        )

    @strawberry.mutation(
        description="Marks a code used at checkout. A code is used at most once: a second "
        "use is ALREADY_USED, a cancelled one ALREADY_CANCELLED."
    )
    async def redemption_use(
        self, info: strawberry.Info, input: RedemptionUseInput
    ) -> RedemptionUsePayload:
        api_key_only(info, Scope.REDEMPTIONS_USE)
        try:
            redemption = await _redemption_service(info).use(input.code)
        except (DomainError, InvalidInput) as exc:
            return RedemptionUsePayload(redemption=None, user_errors=user_errors(exc))
        return RedemptionUsePayload(
            redemption=RedemptionType.from_domain(redemption), user_errors=[]
        )

    @strawberry.mutation(
        description="Cancels an issued redemption: the points go back into the lots they "
        "came from, with their original expiry, and the stock gets one back. A used "
        "redemption cannot be cancelled. Idempotent on idempotencyKey."
    )
    async def redemption_cancel(
        self, info: strawberry.Info, input: RedemptionCancelInput
    ) -> RedemptionCancelPayload:
        caller = require(info, Scope.REWARDS_REDEEM)

        def refused(exc: DomainError | InvalidInput) -> RedemptionCancelPayload:
            return RedemptionCancelPayload(
                redemption=None, customer=None, replayed=False, user_errors=user_errors(exc)
            )

        try:
            key = decode_input_id(input.id, "Redemption", ("input", "id"))
        except DomainError as exc:
            return refused(exc)
        found = await info.context.loaders.redemption.load(key)
        if found is None:
            if isinstance(caller, CustomerPrincipal):
                raise Forbidden("A customer token may only act on its own customer.")
            return refused(
                DomainError(ErrorCode.NOT_FOUND, ("input", "id"), "No redemption has this id.")
            )
        require_customer(info, Scope.REWARDS_REDEEM, found.customer_id)
        try:
            result = await _redemption_service(info).cancel(
                redeeming.CancelRedemption(key, input.idempotency_key)
            )
        except (DomainError, InvalidInput) as exc:
            return refused(exc)
        customer = await info.context.loaders.customer.load(found.customer_id)
        return RedemptionCancelPayload(
            redemption=RedemptionType.from_domain(result.redemption),
            customer=CustomerType.from_domain(customer),
            replayed=result.replayed,
            user_errors=[],
        )
