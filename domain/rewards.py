"""The reward catalog: what points can buy, for whom, while it lasts.

A reward is redeemable when it is not archived and `now` is inside its active window
(`active_from` inclusive, `active_until` exclusive; either end may be open). Stock
null means unlimited. The lowest tier allowed compares tier *ranks*: a higher rank is
a higher tier, so a customer may redeem when their tier's rank is at least the
reward's tier's rank (a customer without a tier may redeem only rewards open to all).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from domain.clock import Clock
from domain.customers import UNSET
from domain.errors import DomainError, ErrorCode, ErrorCollector
from domain.fields import optional_text, required_text
from domain.money import parse_money
from domain.points import MAX_ADJUSTMENT
from domain.unit_of_work import Port, UnitOfWork, UnitOfWorkFactory

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_COST = MAX_ADJUSTMENT
MAX_STOCK = 100_000_000


class RewardKind(StrEnum):
    DISCOUNT_PERCENT = "DISCOUNT_PERCENT"
    DISCOUNT_AMOUNT = "DISCOUNT_AMOUNT"
    FREE_PRODUCT = "FREE_PRODUCT"
    CUSTOM = "CUSTOM"
    COUPON = "COUPON"  # issues a coupon of `coupon_template_id` (domain/coupons.py)


@dataclass
class Reward:
    id: int | None
    name: str
    points_cost: int
    kind: RewardKind
    value: Decimal | None = None
    description: str | None = None
    stock: int | None = None
    limit_per_customer: int | None = None
    lowest_tier_id: int | None = None
    active_from: datetime | None = None
    active_until: datetime | None = None
    archived_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    coupon_template_id: int | None = None

    def is_active(self, now: datetime) -> bool:
        if self.archived_at is not None:
            return False
        if self.active_from is not None and now < self.active_from:
            return False
        return self.active_until is None or now < self.active_until


@dataclass(frozen=True)
class RewardFields:
    """Reward fields as sent. UNSET leaves a field alone (updates); None clears it."""

    name: Any = UNSET
    description: Any = UNSET
    points_cost: Any = UNSET
    kind: Any = UNSET
    value: Any = UNSET
    stock: Any = UNSET
    limit_per_customer: Any = UNSET
    lowest_tier_id: Any = UNSET
    active_from: Any = UNSET
    active_until: Any = UNSET
    coupon_template_id: Any = UNSET


class RewardRepository(Protocol):
    async def get(self, reward_id: int, *, for_update: bool = False) -> Reward | None: ...
    async def add(self, reward: Reward) -> Reward: ...
    async def save(self, reward: Reward) -> None: ...
    async def tier_rank(self, tier_id: int) -> int | None:
        """The rank of a tier, or None when there is no such tier."""
        ...

    async def take_one(self, reward_id: int) -> bool:
        """Takes one from stock atomically (`stock = stock - 1 WHERE stock > 0`, or
        nothing when unlimited); False when none was left."""
        ...

    async def give_back_one(self, reward_id: int) -> None:
        """Puts one back into stock, if the reward counts stock."""
        ...


REWARDS: Port[RewardRepository] = Port("rewards")


def _whole(value: Any, field: tuple[str, ...], low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DomainError(
            ErrorCode.INVALID, field, f"{field[-1]} must be a whole number from {low} to {high}."
        )
    return value


def apply_fields(reward: Reward, fields: RewardFields, errors: ErrorCollector) -> Reward:
    """The reward with `fields` applied and checked; problems go to `errors`."""
    changes: dict[str, Any] = {}

    def check(name: str, fn: Callable[[Any], object]) -> None:
        value = getattr(fields, name)
        if value is UNSET:
            return
        try:
            changes[name] = fn(value)
        except DomainError as exc:
            errors.capture(exc)

    path: tuple[str, ...] = ()
    check("name", lambda v: required_text(v, (*path, "name"), max_length=MAX_NAME))
    check(
        "description",
        lambda v: optional_text(
            v, (*path, "description"), max_length=MAX_DESCRIPTION, multiline=True
        ),
    )
    check("points_cost", lambda v: _whole(v, (*path, "points_cost"), 1, MAX_COST))
    check("kind", lambda v: RewardKind(v))
    check("value", lambda v: None if v is None else parse_money(v, (*path, "value")))
    check("stock", lambda v: None if v is None else _whole(v, (*path, "stock"), 0, MAX_STOCK))
    check(
        "limit_per_customer",
        lambda v: None if v is None else _whole(v, (*path, "limit_per_customer"), 1, MAX_STOCK),
    )
    check("lowest_tier_id", lambda v: v)
    check("active_from", lambda v: v)
    check("active_until", lambda v: v)
    check("coupon_template_id", lambda v: v)
    result = replace(reward, **changes)
    _check_value(result, errors)
    _check_coupon(result, errors)
    if (
        result.active_from is not None
        and result.active_until is not None
        and result.active_until <= result.active_from
    ):
        errors.add(ErrorCode.INVALID, ("active_until",), "activeUntil is not after activeFrom.")
    return result


def _check_value(reward: Reward, errors: ErrorCollector) -> None:
    """The value means a percentage or an amount off for discounts; for a free product
    or a custom reward it is optional (e.g. the product's list price)."""
    field = ("value",)
    value = reward.value
    if reward.kind is RewardKind.DISCOUNT_PERCENT:
        if value is None or not Decimal(0) < value <= Decimal(100):
            errors.add(ErrorCode.INVALID, field, "A percent discount needs 0 < value ≤ 100.")
    elif reward.kind is RewardKind.DISCOUNT_AMOUNT:
        if value is None or value <= 0:
            errors.add(ErrorCode.INVALID, field, "An amount discount needs a value above 0.")
    elif value is not None and value < 0:
        errors.add(ErrorCode.INVALID, field, "value must not be negative.")


def _check_coupon(reward: Reward, errors: ErrorCollector) -> None:
    """A COUPON reward names the template it issues from; no other kind names one."""
    field = ("coupon_template_id",)
    if reward.kind is RewardKind.COUPON and reward.coupon_template_id is None:
        errors.add(ErrorCode.REQUIRED, field, "A COUPON reward needs a coupon template.")
    if reward.kind is not RewardKind.COUPON and reward.coupon_template_id is not None:
        errors.add(ErrorCode.INVALID, field, "Only a COUPON reward has a coupon template.")


class RewardService:
    """Catalog upkeep by an admin. Archiving keeps the row: issued codes stay usable
    and the history keeps its names."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    async def create(self, fields: RewardFields) -> Reward:
        now = self.clock.now()
        errors = ErrorCollector()
        for name in ("name", "points_cost", "kind"):
            if getattr(fields, name) in (UNSET, None):
                errors.add(ErrorCode.REQUIRED, (name,), f"{name} is required.")
        errors.raise_if_any()
        draft = Reward(id=None, name="", points_cost=1, kind=RewardKind.CUSTOM)
        reward = apply_fields(draft, fields, errors)
        errors.raise_if_any()
        async with self.uow_factory() as uow:
            await self._check_tier(uow, reward)
            reward.created_at = reward.updated_at = now
            reward = await uow.repo(REWARDS).add(reward)
            await uow.commit()
        return reward

    async def update(self, reward_id: int, fields: RewardFields) -> Reward:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            current = await uow.repo(REWARDS).get(reward_id, for_update=True)
            if current is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No reward has this id.")
            errors = ErrorCollector()
            if fields.name is None or fields.points_cost is None or fields.kind is None:
                errors.add(ErrorCode.REQUIRED, (), "name, pointsCost and kind cannot be null.")
                errors.raise_if_any()
            reward = apply_fields(current, fields, errors)
            errors.raise_if_any()
            await self._check_tier(uow, reward)
            reward.updated_at = now
            await uow.repo(REWARDS).save(reward)
            await uow.commit()
        return reward

    async def archive(self, reward_id: int) -> Reward:
        async with self.uow_factory() as uow:
            reward = await uow.repo(REWARDS).get(reward_id, for_update=True)
            if reward is None:
                raise DomainError(ErrorCode.NOT_FOUND, ("id",), "No reward has this id.")
            if reward.archived_at is None:
                reward.archived_at = reward.updated_at = self.clock.now()
                await uow.repo(REWARDS).save(reward)
            await uow.commit()
        return reward

    async def _check_tier(self, uow: UnitOfWork, reward: Reward) -> None:
        if (
            reward.lowest_tier_id is not None
            and await uow.repo(REWARDS).tier_rank(reward.lowest_tier_id) is None
        ):
            raise DomainError(ErrorCode.NOT_FOUND, ("lowest_tier_id",), "No tier has this id.")
        if reward.coupon_template_id is not None:
            from domain.coupons import COUPONS  # coupons → redemptions → rewards

            if await uow.repo(COUPONS).get_template(reward.coupon_template_id) is None:
                raise DomainError(
                    ErrorCode.NOT_FOUND, ("coupon_template_id",), "No coupon template has this id."
                )
