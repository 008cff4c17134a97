"""`Customer.feedback` pages and counts, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import feedback as reads

# Keyed by (customer id, after, first): `Customer.feedback` pages, and their totalCount.
FEEDBACK_PAGES = loader("feedback_pages", reads.feedback_pages, missing=None)
FEEDBACK_COUNTS = loader("feedback_counts", reads.feedback_counts, missing=0)
