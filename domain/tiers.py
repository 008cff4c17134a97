"""Tiers (interim: the order flow's two hooks; the tiers area replaces this module)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domain.program import ProgramSettings


async def earn_multiplier(uow, customer_id: int) -> Decimal:  # noqa: ANN001
    return Decimal(1)


async def upgrade_after_order(uow, customer_id: int, program: ProgramSettings, now: datetime):  # noqa: ANN001, ANN201
    return None


async def run_downgrades(uow_factory, program: ProgramSettings, now: datetime) -> int:  # noqa: ANN001
    return 0
