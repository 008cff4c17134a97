"""Tiers by id, per customer, and their counts, batched per request.

A program has a handful of tiers, so a request reads them all once (`ALL_TIERS`) and
the per-customer fields pick from that list; the customer's held tier comes from the
request's customer loader, which `me`, `node` and `customer(...)` have already filled.
The shopper's read (`me { tier tierProgress }`) thus adds two statements, the tiers and
the qualifying values, to the customer it had read anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.customers.loaders import CUSTOMER
from api.loaders import LoaderKey, loader, request_loader
from domain.tiers import Tier, TierHistoryEntry, progress, qualifying_window
from persistence import tiers as reads

if TYPE_CHECKING:
    from api.context import Context

EVERY_TIER = "every tier"
"""The one key of `ALL_TIERS`."""


async def _all_tiers(session: AsyncSession, keys: Sequence[str]) -> dict[str, list[Tier]]:
    tiers = await reads.list_tiers(session)
    return dict.fromkeys(keys, tiers)


ALL_TIERS: LoaderKey[str, list[Tier]] = loader("all_tiers", _all_tiers, missing=[])
TIER = loader("tier", reads.tiers_by_ids, missing=None)
TIER_CUSTOMER_COUNT = loader("tier_customer_count", reads.holder_counts, missing=0)
# Keyed by (customer id, how many entries).
TIER_HISTORY: LoaderKey[tuple[int, int], list[TierHistoryEntry]] = loader(
    "tier_history", reads.tier_history_of_customers, missing=[]
)


async def _held(context: Context, customer_ids: Sequence[int]) -> dict[int, int | None]:
    """The tier each customer (still there) holds, from the request's customers."""
    customers = await context.loader(CUSTOMER).load_many(list(customer_ids))
    return {
        c.id: (c.stats.tier_id if c.stats else None)
        for c in customers
        if c is not None and c.id is not None
    }


def _tier_of(context: Context) -> Callable[[AsyncSession, Sequence[int]], Any]:
    async def fetch(_session: AsyncSession, keys: Sequence[int]) -> Mapping[int, Tier]:
        held = await _held(context, keys)
        by_id = {t.id: t for t in await context.loader(ALL_TIERS).load(EVERY_TIER)}
        return {cid: by_id[tier_id] for cid, tier_id in held.items() if tier_id in by_id}

    return fetch


def _progress(context: Context) -> Callable[[AsyncSession, Sequence[int]], Any]:
    async def fetch(session: AsyncSession, keys: Sequence[int]) -> Mapping[int, Any]:
        held = await _held(context, keys)
        tiers = await context.loader(ALL_TIERS).load(EVERY_TIER)
        program = await context.program()
        window = qualifying_window(program, context.now())
        values = await reads.qualifying_values(session, list(held), program.tier_basis, window)
        return {cid: progress(tiers, tier_id, values[cid]) for cid, tier_id in held.items()}

    return fetch


TIER_OF_CUSTOMER = request_loader("tier_of_customer", _tier_of, missing=None)
TIER_PROGRESS = request_loader("tier_progress", _progress, missing=None)
