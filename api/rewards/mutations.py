"""Catalog upkeep, `rewardRedeem`, `redemptionUse`, `redemptionCancel`."""

from __future__ import annotations

import strawberry

from api.areas import mutation_fields
from api.auth import CustomerPrincipal, caller_of, require_customer, requires, requires_api_key
from api.customers.loaders import CUSTOMER
from api.customers.types import CustomerType
from api.errors import Forbidden, UserError, decode_input_id
from api.payloads import refusals_as_user_errors
from api.rewards.inputs import (
    RedemptionCancelInput,
    RedemptionUseInput,
    RewardArchiveInput,
    RewardCreateInput,
    RewardRedeemInput,
    RewardUpdateInput,
    reward_fields,
)
from api.rewards.loaders import REDEMPTION
from api.rewards.types import RedemptionType, RewardType
from domain import redemptions as redeeming
from domain import rewards as domain
from domain.access import Scope
from domain.errors import DomainError, ErrorCode
from persistence import customers as customer_reads


@strawberry.type
class RewardPayload:
    reward: RewardType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RewardRedeemPayload:
    redemption: RedemptionType | None = None
    customer: CustomerType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RedemptionUsePayload:
    redemption: RedemptionType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RedemptionCancelPayload:
    redemption: RedemptionType | None = None
    customer: CustomerType | None = None
    replayed: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _reward_service(info: strawberry.Info) -> domain.RewardService:
    return domain.RewardService(info.context.uow, info.context.clock)


def _redemption_service(info: strawberry.Info) -> redeeming.RedemptionService:
    return redeeming.RedemptionService(info.context.uow, info.context.clock)


async def _fresh_customer(info: strawberry.Info, customer_id: int) -> CustomerType | None:
    """The customer as the service just left it. The request's loader may hold it from
    before this mutation (an earlier field or mutation of the same document): that
    copy is replaced, so the payload never shows points from before the change."""
    found = await info.context.read(customer_reads.customers_by_ids, [customer_id])
    customer = found.get(customer_id)
    if customer is None:
        return None
    info.context.loader(CUSTOMER).prime(customer_id, customer, force=True)
    return CustomerType.from_domain(customer)


@mutation_fields(position=80)
@strawberry.type
class RewardMutation:
    @strawberry.mutation(
        description="Adds a reward to the catalog.",
        permission_classes=[requires_api_key(Scope.REWARDS_WRITE)],
    )
    @refusals_as_user_errors(RewardPayload)
    async def reward_create(self, info: strawberry.Info, input: RewardCreateInput) -> RewardPayload:
        reward = await _reward_service(info).create(reward_fields(input))
        return RewardPayload(reward=RewardType.from_domain(reward))

    @strawberry.mutation(
        description="Changes a reward; issued redemptions keep what they cost.",
        permission_classes=[requires_api_key(Scope.REWARDS_WRITE)],
    )
    @refusals_as_user_errors(RewardPayload)
    async def reward_update(self, info: strawberry.Info, input: RewardUpdateInput) -> RewardPayload:
        key = decode_input_id(input.id, "Reward", ("input", "id"))
        reward = await _reward_service(info).update(key, reward_fields(input))
        return RewardPayload(reward=RewardType.from_domain(reward))

    @strawberry.mutation(
        description="Takes a reward out of the catalog; codes already issued stay usable.",
        permission_classes=[requires_api_key(Scope.REWARDS_WRITE)],
    )
    @refusals_as_user_errors(RewardPayload)
    async def reward_archive(
        self, info: strawberry.Info, input: RewardArchiveInput
    ) -> RewardPayload:
        key = decode_input_id(input.id, "Reward", ("input", "id"))
        reward = await _reward_service(info).archive(key)
        return RewardPayload(reward=RewardType.from_domain(reward))

    @strawberry.mutation(
        description="Spends the customer's points (FIFO by expiry) on a reward and issues a "
        "code, taking one from stock, all in one transaction. Refusals: REWARD_INACTIVE, "
        "TIER_TOO_LOW, LIMIT_REACHED, OUT_OF_STOCK, INSUFFICIENT_POINTS, NOT_FOUND. "
        "Idempotent on idempotencyKey.",
        permission_classes=[requires(Scope.REWARDS_REDEEM)],
    )
    @refusals_as_user_errors(RewardRedeemPayload)
    async def reward_redeem(
        self, info: strawberry.Info, input: RewardRedeemInput
    ) -> RewardRedeemPayload:
        customer_id = decode_input_id(input.customer_id, "Customer", ("input", "customerId"))
        reward_id = decode_input_id(input.reward_id, "Reward", ("input", "rewardId"))
        caller = require_customer(info, Scope.REWARDS_REDEEM, customer_id)
        result = await _redemption_service(info).redeem(
            redeeming.RedeemReward(customer_id, reward_id, input.idempotency_key, caller.api_key.id)
        )
        return RewardRedeemPayload(
            redemption=RedemptionType.from_domain(result.redemption),
            customer=await _fresh_customer(info, customer_id),
            replayed=result.replayed,
        )

    @strawberry.mutation(
        description="Marks a code used at checkout. A code is used at most once: a second "
        "use is ALREADY_USED, a cancelled one ALREADY_CANCELLED.",
        permission_classes=[requires_api_key(Scope.REDEMPTIONS_USE)],
    )
    @refusals_as_user_errors(RedemptionUsePayload)
    async def redemption_use(
        self, info: strawberry.Info, input: RedemptionUseInput
    ) -> RedemptionUsePayload:
        redemption = await _redemption_service(info).use(input.code)
        return RedemptionUsePayload(redemption=RedemptionType.from_domain(redemption))

    @strawberry.mutation(
        description="Cancels an issued redemption: the points go back into the lots they "
        "came from, with their original expiry, and the stock gets one back. A used "
        "redemption cannot be cancelled. Idempotent on idempotencyKey.",
        permission_classes=[requires(Scope.REWARDS_REDEEM)],
    )
    @refusals_as_user_errors(RedemptionCancelPayload)
    async def redemption_cancel(
        self, info: strawberry.Info, input: RedemptionCancelInput
    ) -> RedemptionCancelPayload:
        key = decode_input_id(input.id, "Redemption", ("input", "id"))
        found = await info.context.loader(REDEMPTION).load(key)
        if found is None:
            if isinstance(caller_of(info), CustomerPrincipal):
                raise Forbidden("A customer token may only act on its own customer.")
            raise DomainError(ErrorCode.NOT_FOUND, ("input", "id"), "No redemption has this id.")
        require_customer(info, Scope.REWARDS_REDEEM, found.customer_id)
        result = await _redemption_service(info).cancel(
            redeeming.CancelRedemption(key, input.idempotency_key)
        )
        return RedemptionCancelPayload(
            redemption=RedemptionType.from_domain(result.redemption),
            customer=await _fresh_customer(info, found.customer_id),
            replayed=result.replayed,
        )
