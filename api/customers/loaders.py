"""Customers by id and by external id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import customers as reads

CUSTOMER = loader("customer", reads.customers_by_ids, missing=None)
CUSTOMER_BY_EXTERNAL_ID = loader(
    "customer_by_external_id", reads.customers_by_external_ids, missing=None
)
