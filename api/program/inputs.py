"""`programUpdate` input."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from api.program.types import RfmCut, TierBasis


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
    coupon_expiring_soon_days: int | None = strawberry.UNSET
    coupon_restore_on_refund: bool | None = strawberry.UNSET
    unique_contact_keys: bool | None = strawberry.UNSET
    message_cap: int | None = strawberry.UNSET
    message_cap_days: int | None = strawberry.UNSET
    sms_quiet_hours: str | None = strawberry.UNSET
    email_quiet_hours: str | None = strawberry.UNSET
    wechat_quiet_hours: str | None = strawberry.UNSET
    webhook_quiet_hours: str | None = strawberry.UNSET
    sms_rate_per_minute: int | None = strawberry.UNSET
    email_rate_per_minute: int | None = strawberry.UNSET
    wechat_rate_per_minute: int | None = strawberry.UNSET
    webhook_rate_per_minute: int | None = strawberry.UNSET
