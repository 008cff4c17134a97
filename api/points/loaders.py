"""Ledger entries, pending points, expiring lots and the lots themselves, batched per
request."""

from __future__ import annotations

from datetime import datetime

from api.loaders import LoaderKey, loader
from persistence import points as reads

LEDGER_ENTRY = loader("ledger_entry", reads.entries_by_ids, missing=None)
PENDING_POINTS = loader("pending_points", reads.pending_points, missing=0)
# Keyed by (customer id, until).
EXPIRING_POINTS: LoaderKey[tuple[int, datetime], list[tuple[datetime, int]]] = loader(
    "expiring_points", reads.expiring_lots, missing=[]
)
# Keyed by (customer id, after, first): `Customer.ledger` pages, and their totalCount.
LEDGER_PAGES = loader("ledger_pages", reads.ledger_pages, missing=None)
LEDGER_COUNTS = loader("ledger_counts", reads.entry_counts, missing=0)
# Keyed by (customer id, after, first): `CustomerPoints.lots` pages, and their totalCount.
LOT_PAGES = loader("lot_pages", reads.lot_pages, missing=None)
LOT_COUNTS = loader("lot_counts", reads.lot_counts, missing=0)
