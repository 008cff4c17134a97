"""The segments each customer is in, batched per request."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from api.loaders import LoaderKey, request_loader
from domain.segments import Segment
from persistence import segments as reads

# Keys are (customer id, as-of instant): one query per distinct instant.
SEGMENTS_OF_CUSTOMER: LoaderKey[tuple[int, datetime], list[Segment]] = request_loader(
    "segments_of_customer",
    lambda context: partial(reads.segments_of_customers, defaults=context.program_defaults()),
    missing=[],
)
