"""Tags by id, per customer, and their counts, batched per request."""

from __future__ import annotations

from api.loaders import LoaderKey, loader
from domain.tags import Tag
from persistence import customers as customer_reads
from persistence import tags as reads

TAG = loader("tag", reads.tags_by_ids, missing=None)
TAGS_OF_CUSTOMER: LoaderKey[int, list[Tag]] = loader(
    "tags_of_customer", reads.tags_of_customers, missing=[]
)
TAG_CUSTOMER_COUNT = loader("tag_customer_count", reads.customer_counts, missing=0)
# Keyed by (tag id, after, first): `Tag.customers` pages for a page of tags.
TAG_CUSTOMERS = loader("tag_customers", customer_reads.customer_pages_of_tags, missing=None)
