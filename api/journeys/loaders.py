"""Journeys by id and customers' run pages, batched per request."""

from __future__ import annotations

from api.loaders import LoaderKey, loader
from persistence.journeys import reads

JOURNEY = loader("journey", reads.journeys_by_ids, missing=None)
# Keyed by (customer id, after, first): `Customer.journeyRuns` pages, and their totalCount.
RUN_PAGES = loader("journey_run_pages", reads.run_pages, missing=None)
RUN_COUNTS = loader("journey_run_counts", reads.run_counts, missing=0)
# Keyed by journey id: its runs counted per status and reason.
RUN_TALLIES: LoaderKey[int, list[reads.RunTally]] = loader(
    "journey_run_tallies", reads.run_tallies, missing=[]
)
