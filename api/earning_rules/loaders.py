"""Earning rules by id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import earning_rules as reads

EARNING_RULE = loader("earning_rule", reads.rules_by_ids, missing=None)
