"""The segments each customer is in, batched per request."""

from __future__ import annotations

from functools import partial

from api.loaders import request_loader
from persistence import segments as reads

# Keys are (customer id, as-of instant): one query per distinct instant.
SEGMENTS_OF_CUSTOMER = request_loader(
    "segments_of_customer",
    lambda context: partial(reads.segments_of_customers, defaults=context.program_defaults()),
    missing=[],
)
