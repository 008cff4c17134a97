"""The Program type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.conversion import from_domain
from domain import program as domain

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
    coupon_expiring_soon_days: int = strawberry.field(
        description="Days before its end that a coupon raises coupon.expiring_soon."
    )
    coupon_restore_on_refund: bool = strawberry.field(
        description="Whether a full refund of an order gives back the coupons used on it."
    )
    unique_contact_keys: bool = strawberry.field(
        description="Whether customerUpsert and customerUpdate refuse a phone or email that "
        "another customer (not erased) has, so both are dependable lookup keys."
    )
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, settings: domain.ProgramSettings) -> ProgramType:
        return from_domain(cls, settings)
