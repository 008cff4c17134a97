"""Messaging reads, batched per request."""

from __future__ import annotations

from api.loaders import LoaderKey, loader
from domain.messaging.consent import Consent
from domain.messaging.messages import MessageOutcome
from persistence.messaging import reads

TEMPLATE = loader("message_template", reads.templates_by_ids, missing=None)
CONSENTS_OF_CUSTOMER: LoaderKey[int, list[Consent]] = loader(
    "consents_of_customer", reads.consents_of_customers, missing=[]
)
# Keyed by (customer id, after, first): `Customer.messages` pages, and their totalCount.
MESSAGE_PAGES = loader("customer_message_pages", reads.message_pages, missing=None)
MESSAGE_COUNTS = loader("customer_message_counts", reads.message_counts, missing=0)
OUTCOMES_OF_MESSAGE: LoaderKey[int, list[MessageOutcome]] = loader(
    "message_outcomes", reads.outcomes_of_messages, missing=[]
)
