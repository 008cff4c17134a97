"""Redeeming rewards for points, and the life of a redemption code.

`redeem` does everything in one transaction under the customer's row lock: checks
the reward (window, tier, per-customer limit, stock), debits the points FIFO, takes
one from stock with an atomic conditional UPDATE (so concurrent customers never
oversell), issues the code, and records the ledger entry and events. A refusal
leaves the block without commit, so nothing of it is written and the stock taken
comes back with the rollback.

A redemption is ISSUED, then either USED (once, at checkout) or CANCELLED (points
back into the very lots they came from, with their original expiry). Both moves are
conditional UPDATEs on `status = 'ISSUED'`, so a use and a cancel racing each other
cannot both win.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from domain.clock import Clock
from domain.customers import CUSTOMERS, Customer, check_not_merged, survivor_id
from domain.errors import DomainError, ErrorCode, present
from domain.event_payloads import (
    PointsRedeemedV1,
    RedemptionCancelledV1,
    RedemptionUsedV1,
    RewardRedeemedV1,
)
from domain.events import EVENTS, Event
from domain.fields import refuse_control_characters, required_text
from domain.idempotency import (
    IDEMPOTENCY,
    fingerprint,
    remembered_result,
    retrying,
)
from domain.points import POINTS, EntryKind
from domain.rewards import REWARDS, Reward
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

# 31 symbols: digits and capitals without 0/O, 1/I/L. 13 of them carry
# 13 × log2(31) ≈ 64.4 bits, drawn from `secrets`, so codes cannot be guessed.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 13
MAX_KEY = 100  # scoped by customer into the 128-character idempotency column


class RedemptionStatus(StrEnum):
    ISSUED = "ISSUED"
    USED = "USED"
    CANCELLED = "CANCELLED"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str | None:
    """What a person typed or scanned, as stored: upper-case, without the dashes and
    spaces of the grouped form. None when it cannot be a code at all."""
    code = "".join(ch for ch in text.upper() if ch not in "- \t")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def display_code(code: str) -> str:
    """Grouped for reading aloud and typing: `K7QX-M3RT-ABCDE`."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


@dataclass
class Redemption:
    id: int | None
    customer_id: int
    reward_id: int
    code: str
    status: RedemptionStatus
    points_spent: int
    issued_at: datetime
    used_at: datetime | None = None
    cancelled_at: datetime | None = None
    api_key_id: int | None = None


@dataclass(frozen=True)
class RedeemReward:
    customer_id: int
    reward_id: int
    idempotency_key: str
    api_key_id: int | None = None


@dataclass(frozen=True)
class CancelRedemption:
    redemption_id: int
    idempotency_key: str


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    replayed: bool


class RedemptionRepository(Protocol):
    async def get(self, redemption_id: int) -> Redemption | None: ...
    async def by_code(self, code: str) -> Redemption | None: ...
    async def add(self, redemption: Redemption) -> Redemption: ...
    async def count_held(self, customer_id: int, reward_id: int) -> int:
        """The customer's ISSUED and USED redemptions of the reward (cancelled ones
        give the right back)."""
        ...

    async def change_status(self, redemption_id: int, to: RedemptionStatus, at: datetime) -> bool:
        """ISSUED → `to`, only if still ISSUED; False when it no longer was."""
        ...

    async def redeem_entry_id(self, redemption_id: int) -> int | None:
        """The REDEEM ledger entry of the redemption."""
        ...


REDEMPTIONS: Port[RedemptionRepository] = Port("redemptions")


def check_redeemable(
    reward: Reward, now: datetime, customer_rank: int | None, lowest_rank: int | None, held: int
) -> None:
    """The reward's own refusals, in the order a shopper should hear them."""
    field = ("reward_id",)
    if not reward.is_active(now):
        raise DomainError(ErrorCode.REWARD_INACTIVE, field, "This reward cannot be redeemed now.")
    if lowest_rank is not None and (customer_rank is None or customer_rank < lowest_rank):
        raise DomainError(
            ErrorCode.TIER_TOO_LOW, field, "This reward needs a higher tier than the customer's."
        )
    if reward.limit_per_customer is not None and held >= reward.limit_per_customer:
        raise DomainError(
            ErrorCode.LIMIT_REACHED,
            field,
            f"The customer already has {held} of this reward (limit {reward.limit_per_customer}).",
        )
    if reward.stock is not None and reward.stock <= 0:
        raise DomainError(ErrorCode.OUT_OF_STOCK, field, "This reward is out of stock.")


def _idempotency_key(customer_id: int, key: str) -> str:
    """Keys are chosen by each shopper's app: scoped per customer, one app's
    "redeem-1" never meets another's."""
    return f"{_scope(customer_id)}{key}"


def _scope(customer_id: int) -> str:
    return f"{customer_id}:"


async def rescope_cancels(uow: UnitOfWork, merged_id: int, survivor_id: int) -> None:
    """For `customerMerge`: a cancel is scoped by the redemption's owner, which the
    merge changes from B to A, so B's remembered cancels are copied under A's scope,
    and a cancel whose answer was lost before the merge replays when retried after
    it. (Redeems are scoped by the id the caller sent, which still reads B's.)"""
    await uow.repo(IDEMPOTENCY).copy_scope(
        "redemptionCancel", _scope(merged_id), _scope(survivor_id)
    )


class RedemptionService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    # ---- redeem --------------------------------------------------------------------

    async def redeem(self, command: RedeemReward) -> RedemptionResult:
        key = required_text(command.idempotency_key, ("idempotency_key",), max_length=MAX_KEY)
        request_hash = fingerprint(command.customer_id, command.reward_id)
        return await retrying(lambda: self._redeem_once(command, key, request_hash))

    async def _redeem_once(
        self, command: RedeemReward, key: str, request_hash: str
    ) -> RedemptionResult:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            # Scoped by the id the caller sent: a retry naming a customer merged since
            # still finds its first redemption.
            scoped = _idempotency_key(command.customer_id, key)
            # A merged customer's id redeems for its survivor (docs/merging.md).
            command = replace(command, customer_id=await survivor_id(uow, command.customer_id))
            customer = await uow.repo(CUSTOMERS).get(command.customer_id, for_update=True)
            check_not_merged([customer])
            if customer is None or customer.erased_at is not None:
                raise DomainError(ErrorCode.NOT_FOUND, ("customer_id",), "No customer has this id.")
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "rewardRedeem", scoped, request_hash
            )
            if remembered is not None:
                redemption = await uow.repo(REDEMPTIONS).get(remembered["redemptionId"])
                return RedemptionResult(present(redemption, "redemption"), replayed=True)
            reward = await uow.repo(REWARDS).get(command.reward_id)
            if reward is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("reward_id",), "No reward has this id.")
            customer_id = present(customer.id, "customer id")
            reward_id = present(reward.id, "reward id")
            check_redeemable(
                reward,
                now,
                await self._customer_rank(uow, customer),
                await uow.repo(REWARDS).tier_rank(reward.lowest_tier_id)
                if reward.lowest_tier_id is not None
                else None,
                await uow.repo(REDEMPTIONS).count_held(customer_id, reward_id)
                if reward.limit_per_customer is not None
                else 0,
            )
            account = await uow.repo(POINTS).load_account(customer_id)
            entry = account.debit(
                EntryKind.REDEEM,
                reward.points_cost,
                now=now,
                reason=f"redeemed {reward.name}"[:500],
                field_path=("customer_id",),
            )
            # Last before writing: the reward row stays locked only for the writes.
            if not await uow.repo(REWARDS).take_one(reward_id):
                raise DomainError(
                    ErrorCode.OUT_OF_STOCK, ("reward_id",), "This reward is out of stock."
                )
            redemption = await uow.repo(REDEMPTIONS).add(
                Redemption(
                    id=None,
                    customer_id=customer_id,
                    reward_id=reward_id,
                    code=new_code(),
                    status=RedemptionStatus.ISSUED,
                    points_spent=reward.points_cost,
                    issued_at=now,
                    api_key_id=command.api_key_id,
                )
            )
            if reward.coupon_template_id is not None:  # a COUPON reward: points buy a coupon
                from domain.coupons import issue_in  # coupons → redemptions (codes)

                await issue_in(
                    uow,
                    reward.coupon_template_id,
                    customer_id,
                    now,
                    redemption_id=redemption.id,
                    field_path=("reward_id",),
                )
            entry.redemption_id = redemption.id
            entry.api_key_id = command.api_key_id
            entry.idempotency_key = key
            await uow.repo(POINTS).save_account(account, [entry])
            await uow.repo(IDEMPOTENCY).remember(
                "rewardRedeem", scoped, request_hash, {"redemptionId": redemption.id}, now
            )
            redemption_id = present(redemption.id, "redemption id")
            reward_id = present(reward.id, "reward id")
            await uow.repo(EVENTS).append(
                Event.of(
                    PointsRedeemedV1(
                        customer.id,
                        entry_id=entry.id,
                        points=reward.points_cost,
                        balance=entry.balance_after,
                        redemption_id=redemption_id,
                        reward_id=reward_id,
                    ),
                    now,
                )
            )
            await uow.repo(EVENTS).append(
                Event.of(
                    RewardRedeemedV1(
                        customer.id,
                        reward_id=reward_id,
                        redemption_id=redemption_id,
                        points_spent=reward.points_cost,
                    ),
                    now,
                )
            )
            await uow.commit()
        return RedemptionResult(redemption, replayed=False)

    async def _customer_rank(self, uow: UnitOfWork, customer: Customer) -> int | None:
        tier_id = customer.stats.tier_id if customer.stats else None
        return await uow.repo(REWARDS).tier_rank(tier_id) if tier_id is not None else None

    # ---- use -----------------------------------------------------------------------

    async def use(self, code_text: str) -> Redemption:
        """The storefront marks a code at checkout; a code is used at most once."""
        now = self.clock.now()
        field = ("code",)
        refuse_control_characters(code_text or "", field)
        code = normalize_code(code_text or "")
        async with self.uow_factory() as uow:
            found = await uow.repo(REDEMPTIONS).by_code(code) if code else None
            if found is None:
                raise DomainError(ErrorCode.NOT_FOUND, field, "No redemption has this code.")
            found_id = present(found.id, "redemption id")
            if not await uow.repo(REDEMPTIONS).change_status(found_id, RedemptionStatus.USED, now):
                current = present(await uow.repo(REDEMPTIONS).get(found_id), "redemption")
                _refuse_settled(current, field)
            used = present(await uow.repo(REDEMPTIONS).get(found_id), "redemption")
            await uow.repo(EVENTS).append(
                Event.of(RedemptionUsedV1(used.customer_id, found_id, used.reward_id), now)
            )
            await uow.commit()
        return used

    # ---- cancel --------------------------------------------------------------------

    async def cancel(self, command: CancelRedemption) -> RedemptionResult:
        key = required_text(command.idempotency_key, ("idempotency_key",), max_length=MAX_KEY)
        return await retrying(lambda: self._cancel_once(command, key))

    async def _cancel_once(self, command: CancelRedemption, key: str) -> RedemptionResult:
        now = self.clock.now()
        request_hash = fingerprint(command.redemption_id)
        async with self.uow_factory() as uow:
            found = await uow.repo(REDEMPTIONS).get(command.redemption_id)
            if found is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No redemption has this id.")
            customer_id = found.customer_id
            found_id = present(found.id, "redemption id")
            # A merge that moved this redemption while we waited: run again (on A).
            check_not_merged([await uow.repo(CUSTOMERS).get(customer_id, for_update=True)])
            scoped = _idempotency_key(customer_id, key)
            remembered = await remembered_result(
                uow.repo(IDEMPOTENCY), "redemptionCancel", scoped, request_hash
            )
            if remembered is not None:
                again = await uow.repo(REDEMPTIONS).get(found_id)
                return RedemptionResult(present(again, "redemption"), replayed=True)
            if not await uow.repo(REDEMPTIONS).change_status(
                found_id, RedemptionStatus.CANCELLED, now
            ):
                current = present(await uow.repo(REDEMPTIONS).get(found_id), "redemption")
                _refuse_settled(current, ("id",))
            from domain.coupons import revoke_with_redemption  # coupons → redemptions

            await revoke_with_redemption(uow, found_id)  # a COUPON reward's coupon goes too
            entry_id = present(
                await uow.repo(REDEMPTIONS).redeem_entry_id(found_id), "redeem entry id"
            )
            account = await uow.repo(POINTS).load_account(customer_id)
            draws = await uow.repo(POINTS).draws_of_entry(entry_id)
            entries = account.restore(draws, now, "redemption cancelled")
            for entry in entries:
                entry.redemption_id = found.id
                entry.idempotency_key = key
            await uow.repo(POINTS).save_account(account, entries)
            await uow.repo(REWARDS).give_back_one(found.reward_id)
            await uow.repo(IDEMPOTENCY).remember(
                "redemptionCancel", scoped, request_hash, {"redemptionId": found.id}, now
            )
            await uow.repo(EVENTS).append(
                Event.of(
                    RedemptionCancelledV1(
                        customer_id,
                        redemption_id=found_id,
                        reward_id=found.reward_id,
                        points=found.points_spent,
                        balance=account.balance,
                    ),
                    now,
                )
            )
            cancelled = present(await uow.repo(REDEMPTIONS).get(found_id), "redemption")
            await uow.commit()
        return RedemptionResult(cancelled, replayed=False)


def _refuse_settled(redemption: Redemption, field: tuple[str, ...]) -> None:
    if redemption.status is RedemptionStatus.USED:
        raise DomainError(ErrorCode.ALREADY_USED, field, "This redemption was already used.")
    raise DomainError(ErrorCode.ALREADY_CANCELLED, field, "This redemption was cancelled.")
