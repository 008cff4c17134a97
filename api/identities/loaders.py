"""A customer's identities, batched per request."""

from __future__ import annotations

from api.loaders import LoaderKey, loader
from domain.identities import CustomerIdentity
from persistence import identities as reads

IDENTITIES_OF_CUSTOMER: LoaderKey[int, list[CustomerIdentity]] = loader(
    "identities_of_customer", reads.identities_of_customers, missing=[]
)
