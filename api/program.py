"""The program's settings over GraphQL: `program` and `programUpdate` (admin)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

import strawberry

from api.auth import require
from api.errors import UserError, user_errors
from domain import program as domain
from domain.access import Scope
from domain.errors import DomainError, InvalidInput

TierBasis = strawberry.enum(domain.TierBasis, name="TierBasis")
RfmCut = strawberry.enum(domain.RfmCut, name="RfmCut")


@strawberry.type(name="Program", description="Settings that apply to what happens next.")
class ProgramType:
    currency: str = strawberry.field(description="Orders in another currency are refused.")
    timezone: str = strawberry.field(description="Calendar buckets are cut in this zone.")
    earn_rate: Decimal = strawberry.field(description="Points per unit of currency spent.")
    point_value: Decimal = strawberry.field(description="Money value of one point.")
    pending_days: int = strawberry.field(description="Days order points stay pending.")
    expiry_days: int | None = strawberry.field(
        description="Days after becoming available that points expire; null = never."
    )
    expiring_soon_days: int
    tier_basis: TierBasis  # type: ignore[valid-type]
    tier_window_days: int
    tier_retention_days: int
    referrer_bonus: int
    referee_bonus: int
    referral_min_order_amount: Decimal
    referral_monthly_limit: int
    lifecycle_new_days: int
    lifecycle_loyal_days: int
    lifecycle_active_days: int
    lifecycle_silent_days: int
    rfm_cut: RfmCut  # type: ignore[valid-type]
    attribution_days: int
    repurchase_reminder_days: int
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, settings: domain.ProgramSettings) -> ProgramType:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(domain.ProgramSettings)})


@strawberry.input(description="Only the settings given change.")
class ProgramUpdateInput:
    currency: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    earn_rate: Decimal | None = strawberry.UNSET
    point_value: Decimal | None = strawberry.UNSET
    pending_days: int | None = strawberry.UNSET
    expiry_days: int | None = strawberry.UNSET
    expiring_soon_days: int | None = strawberry.UNSET
    tier_basis: TierBasis | None = strawberry.UNSET  # type: ignore[valid-type]
    tier_window_days: int | None = strawberry.UNSET
    tier_retention_days: int | None = strawberry.UNSET
    referrer_bonus: int | None = strawberry.UNSET
    referee_bonus: int | None = strawberry.UNSET
    referral_min_order_amount: Decimal | None = strawberry.UNSET
    referral_monthly_limit: int | None = strawberry.UNSET
    lifecycle_new_days: int | None = strawberry.UNSET
    lifecycle_loyal_days: int | None = strawberry.UNSET
    lifecycle_active_days: int | None = strawberry.UNSET
    lifecycle_silent_days: int | None = strawberry.UNSET
    rfm_cut: RfmCut | None = strawberry.UNSET  # type: ignore[valid-type]
    attribution_days: int | None = strawberry.UNSET
    repurchase_reminder_days: int | None = strawberry.UNSET


@strawberry.type
class ProgramUpdatePayload:
    program: ProgramType | None
    user_errors: list[UserError]


@strawberry.type
class ProgramQuery:
    @strawberry.field(description="The program's current settings.")
    async def program(self, info: strawberry.Info) -> ProgramType:
        require(info, Scope.PROGRAM_READ)
        return ProgramType.from_domain(await info.context.program())


@strawberry.type
class ProgramMutation:
    @strawberry.mutation(description="Changes settings; old ledger entries are never rewritten.")
    async def program_update(
        self, info: strawberry.Info, input: ProgramUpdateInput
    ) -> ProgramUpdatePayload:
        require(info, Scope.PROGRAM_WRITE)
        changes = {
            f.name: getattr(input, f.name)
            for f in fields(ProgramUpdateInput)
            if getattr(input, f.name) is not strawberry.UNSET
        }
        service = domain.ProgramService(info.context.uow, info.context.clock)
        try:
            settings = await service.update(changes)
        except (DomainError, InvalidInput) as exc:
            return ProgramUpdatePayload(program=None, user_errors=user_errors(exc))
        return ProgramUpdatePayload(program=ProgramType.from_domain(settings), user_errors=[])
