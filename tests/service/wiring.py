"""How the mutation-killing service tests build units of work and services: in one
place, so a change to a constructor (how a service gets its unit of work) is one edit
here rather than one per test."""

from __future__ import annotations

from collections.abc import Callable

from domain.adjustments import AdjustmentService
from domain.clock import Clock
from domain.orders import OrderService
from domain.program import ProgramService
from domain.redemptions import RedemptionService
from domain.referrals import ReferralService
from domain.rewards import RewardService
from domain.tiers import TierService
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork


def unit_of_work(database: Database) -> SqlUnitOfWork:
    return SqlUnitOfWork(database)


def uow_factory(database: Database) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(database)


def orders(database: Database, clock: Clock) -> OrderService:
    return OrderService(uow_factory(database), clock, phone_region=None)


def adjustments(database: Database, clock: Clock) -> AdjustmentService:
    return AdjustmentService(uow_factory(database), clock)


def redemptions(database: Database, clock: Clock) -> RedemptionService:
    return RedemptionService(uow_factory(database), clock)


def referrals(database: Database, clock: Clock) -> ReferralService:
    return ReferralService(uow_factory(database), clock, phone_region=None)


def rewards(database: Database, clock: Clock) -> RewardService:
    return RewardService(uow_factory(database), clock)


def program(database: Database, clock: Clock) -> ProgramService:
    return ProgramService(uow_factory(database), clock)


def tiers(database: Database, clock: Clock) -> TierService:
    return TierService(uow_factory(database), clock)
