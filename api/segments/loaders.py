"""The segments each customer is in, batched per request."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from api.loaders import LoaderKey, request_loader
from domain.customers import Customer
from domain.segments import Segment
from persistence import segments as reads
from persistence.pagination import Page

# Keys are (customer id, as-of instant): one query per distinct instant.
SEGMENTS_OF_CUSTOMER: LoaderKey[tuple[int, datetime], list[Segment]] = request_loader(
    "segments_of_customer",
    lambda context: partial(reads.segments_of_customers, defaults=context.program_defaults()),
    missing=[],
)
# Keyed by (rule text, as of): the counts of a list of segments, one query per instant.
SEGMENT_COUNT: LoaderKey[tuple[str, datetime], int] = request_loader(
    "segment_count",
    lambda context: partial(reads.segment_counts, defaults=context.program_defaults()),
    missing=0,
)
# Keyed by (rule text, as of, after, first): a segment under every customer of a page is
# the same segment, read once.
SEGMENT_MEMBERS: LoaderKey[tuple[str, datetime, tuple[Any, ...] | None, int], Page[Customer]] = (
    request_loader(
        "segment_members",
        lambda context: partial(reads.members_of_rules, defaults=context.program_defaults()),
        missing=Page([], [], False),
    )
)
