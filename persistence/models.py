"""Every table, imported in one place so Alembic sees the whole metadata."""

import persistence.metrics  # noqa: F401  (declares the metrics indexes on orders and ledger)
from persistence.api_keys import ApiKeyRow
from persistence.base import Base
from persistence.customers import CustomerRow
from persistence.events import EventRow
from persistence.feedback import FeedbackRow
from persistence.idempotency import IdempotencyRow
from persistence.orders import OrderItemRow, OrderRow, RefundRow
from persistence.points import LedgerEntryRow, LotDrawRow, LotRow
from persistence.program import ProgramRow
from persistence.referrals import ReferralRow
from persistence.rewards import RedemptionRow, RewardRow
from persistence.segments import SegmentRow
from persistence.tags import CustomerTagRow, TagRow
from persistence.tiers import TierChangeRow, TierRow

metadata = Base.metadata

__all__ = [
    "ApiKeyRow",
    "CustomerRow",
    "CustomerTagRow",
    "EventRow",
    "FeedbackRow",
    "IdempotencyRow",
    "LedgerEntryRow",
    "LotDrawRow",
    "LotRow",
    "OrderItemRow",
    "OrderRow",
    "ProgramRow",
    "ReferralRow",
    "RedemptionRow",
    "RefundRow",
    "RewardRow",
    "SegmentRow",
    "TagRow",
    "TierChangeRow",
    "TierRow",
    "metadata",
]
