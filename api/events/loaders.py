"""Events by id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import events as reads

EVENT = loader("event", reads.events_by_ids, missing=None)
