"""The program's settings: one row, created on the first `programUpdate`.

Until then the defaults apply, with the currency and time zone an operator set in
the environment (LOYALTY_CURRENCY, LOYALTY_TIMEZONE).

One way to read them: `load_program(session, defaults)`. A service asks its unit of
work (``uow.repo(PROGRAM).get()``, which is this function in the transaction's
session); a read model calls it in the session of its own statement, so the
settings and the figures come from one snapshot; the API reads them once per
request through ``Context.program()``.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Integer, Numeric, String, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.program import PROGRAM, ProgramSettings, RfmCut, TierBasis
from persistence.base import Base
from persistence.orders import ensure_order_months_zone
from persistence.repositories import register
from persistence.types import UtcDateTime

PROGRAM_ROW_ID = 1


class ProgramRow(Base):
    __tablename__ = "program_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    earn_rate: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    point_value: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    pending_days: Mapped[int] = mapped_column(Integer)
    expiry_days: Mapped[int | None] = mapped_column(Integer)
    expiring_soon_days: Mapped[int] = mapped_column(Integer)
    tier_basis: Mapped[str] = mapped_column(String(16))
    tier_window_days: Mapped[int] = mapped_column(Integer)
    tier_retention_days: Mapped[int] = mapped_column(Integer)
    referrer_bonus: Mapped[int] = mapped_column(Integer)
    referee_bonus: Mapped[int] = mapped_column(Integer)
    referral_min_order_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    referral_monthly_limit: Mapped[int] = mapped_column(Integer)
    lifecycle_new_days: Mapped[int] = mapped_column(Integer)
    lifecycle_loyal_days: Mapped[int] = mapped_column(Integer)
    lifecycle_active_days: Mapped[int] = mapped_column(Integer)
    lifecycle_silent_days: Mapped[int] = mapped_column(Integer)
    rfm_cut: Mapped[str] = mapped_column(String(8))
    attribution_days: Mapped[int] = mapped_column(Integer)
    repurchase_reminder_days: Mapped[int] = mapped_column(Integer)
    coupon_expiring_soon_days: Mapped[int] = mapped_column(Integer, server_default="3")
    coupon_restore_on_refund: Mapped[bool] = mapped_column(Boolean, server_default=false())
    unique_contact_keys: Mapped[bool] = mapped_column(Boolean, server_default=false())
    message_cap: Mapped[int | None] = mapped_column(Integer)
    message_cap_days: Mapped[int] = mapped_column(Integer, server_default="7")
    sms_quiet_hours: Mapped[str | None] = mapped_column(String(11))
    email_quiet_hours: Mapped[str | None] = mapped_column(String(11))
    wechat_quiet_hours: Mapped[str | None] = mapped_column(String(11))
    webhook_quiet_hours: Mapped[str | None] = mapped_column(String(11))
    sms_rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    email_rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    wechat_rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    webhook_rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


SETTING_NAMES = [f.name for f in fields(ProgramSettings)]


def to_domain(row: ProgramRow) -> ProgramSettings:
    values = {name: getattr(row, name) for name in SETTING_NAMES}
    values["tier_basis"] = TierBasis(row.tier_basis)
    values["rfm_cut"] = RfmCut(row.rfm_cut)
    values["earn_rate"] = Decimal(row.earn_rate)
    values["point_value"] = Decimal(row.point_value)
    values["referral_min_order_amount"] = Decimal(row.referral_min_order_amount)
    return ProgramSettings(**values)


async def load_program(session: AsyncSession, defaults: ProgramSettings) -> ProgramSettings:
    row = await session.get(ProgramRow, PROGRAM_ROW_ID)
    return to_domain(row) if row else defaults


class SqlProgramRepository:
    def __init__(self, session: AsyncSession, defaults: ProgramSettings) -> None:
        self.session = session
        self.defaults = defaults

    async def get(self) -> ProgramSettings:
        return await load_program(self.session, self.defaults)

    async def save(self, settings: ProgramSettings) -> None:
        values = {name: getattr(settings, name) for name in SETTING_NAMES}
        values["tier_basis"] = settings.tier_basis.value
        values["rfm_cut"] = settings.rfm_cut.value
        existing = (
            await self.session.execute(
                select(ProgramRow).where(ProgramRow.id == PROGRAM_ROW_ID).with_for_update()
            )
        ).scalar_one_or_none()
        if existing is None:
            self.session.add(ProgramRow(id=PROGRAM_ROW_ID, **values))
        else:
            for name, value in values.items():
                setattr(existing, name, value)
        await self.session.flush()
        # The monthly read model is cut in the program's local months: a new time
        # zone rebuilds it, in this same transaction.
        await ensure_order_months_zone(self.session, settings.timezone)


register(PROGRAM, lambda tx: SqlProgramRepository(tx.session, tx.program_defaults))
