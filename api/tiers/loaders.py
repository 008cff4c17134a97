"""Tiers by id, per customer, and their counts, batched per request."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.loaders import LoaderKey, loader, request_loader
from domain.tiers import TierHistoryEntry
from persistence import tiers as reads

if TYPE_CHECKING:
    from api.context import Context

TIER = loader("tier", reads.tiers_by_ids, missing=None)
TIER_OF_CUSTOMER = loader("tier_of_customer", reads.tiers_of_customers, missing=None)
TIER_CUSTOMER_COUNT = loader("tier_customer_count", reads.holder_counts, missing=0)
# Keyed by (customer id, how many entries).
TIER_HISTORY: LoaderKey[tuple[int, int], list[TierHistoryEntry]] = loader(
    "tier_history", reads.tier_history_of_customers, missing=[]
)


def _progress(context: Context) -> Callable[[AsyncSession, Sequence[int]], Any]:
    async def fetch(session: AsyncSession, keys: Sequence[int]) -> Mapping[int, Any]:
        return await reads.tier_progress_of_customers(
            session, keys, context.program_defaults(), context.now()
        )

    return fetch


TIER_PROGRESS = request_loader("tier_progress", _progress, missing=None)
