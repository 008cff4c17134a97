"""Customers by id and by external id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import customers as reads
from persistence import identities as identity_reads

CUSTOMER = loader("customer", reads.customers_by_ids, missing=None)
CUSTOMER_BY_EXTERNAL_ID = loader(
    "customer_by_external_id", reads.customers_by_external_ids, missing=None
)
# Keyed by a checked domain Identity: `customer(identity:)` for many at once.
CUSTOMER_BY_IDENTITY = loader(
    "customer_by_identity", identity_reads.customers_by_identities, missing=None
)
