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
    message_cap: int | None = strawberry.field(
        description="At most this many marketing messages per customer in any "
        "messageCapDays days, over every channel; null: no cap."
    )
    message_cap_days: int = strawberry.field(description="The frequency cap's window.")
    sms_quiet_hours: str | None = strawberry.field(
        description="HH:MM-HH:MM in the program time zone (may cross midnight): a "
        "marketing SMS due inside waits for the end. Null: none."
    )
    email_quiet_hours: str | None
    wechat_quiet_hours: str | None
    webhook_quiet_hours: str | None
    sms_rate_per_minute: int | None = strawberry.field(
        description="At most this many SMS sent per minute, all customers; null: no limit."
    )
    email_rate_per_minute: int | None
    wechat_rate_per_minute: int | None
    webhook_rate_per_minute: int | None
    updated_at: datetime | None

    @classmethod
    def from_domain(cls, settings: domain.ProgramSettings) -> ProgramType:
        return from_domain(cls, settings)
