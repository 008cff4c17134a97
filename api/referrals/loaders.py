"""Referrals by id and by referee, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import referrals as reads

REFERRAL = loader("referral", reads.referrals_by_ids, missing=None)
REFERRAL_OF_REFEREE = loader("referral_of_referee", reads.referrals_by_referee, missing=None)
REFERRAL_CODE = loader("referral_code", reads.referral_codes, missing=None)
# Keyed by (referrer id, after, first): `Customer.referrals` pages, and their totalCount.
REFERRAL_PAGES = loader("referral_pages", reads.referral_pages, missing=None)
REFERRAL_COUNTS = loader("referral_counts", reads.referral_counts, missing=0)
