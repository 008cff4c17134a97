"""Rewards and redemptions by id and by code, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import rewards as reads

REWARD = loader("reward", reads.rewards_by_ids, missing=None)
REDEMPTION = loader("redemption", reads.redemptions_by_ids, missing=None)
REDEMPTION_BY_CODE = loader("redemption_by_code", reads.redemptions_by_codes, missing=None)
# Keyed by (customer id, after, first): `Customer.redemptions` pages, and their totalCount.
REDEMPTION_PAGES = loader("redemption_pages", reads.redemption_pages, missing=None)
REDEMPTION_COUNTS = loader("redemption_counts", reads.redemption_counts, missing=0)
