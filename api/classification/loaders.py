"""Lifecycle stages and RFM per customer, batched per request.

Keyed by (customer id, as of[, look-back days]).
"""

from __future__ import annotations

from functools import partial

from api.loaders import request_loader
from persistence import classification as reads

LIFECYCLE_STAGE = request_loader(
    "lifecycle_stage",
    lambda context: partial(reads.lifecycle_stages, defaults=context.program_defaults()),
    missing=None,
)
CUSTOMER_RFM = request_loader(
    "customer_rfm",
    lambda context: partial(reads.customer_rfms, defaults=context.program_defaults()),
    missing=None,
)
