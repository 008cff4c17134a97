"""The tier repository's port key, kept outside domain/tiers.py while that file is
being split; it moves beside `TierRepository` when the tiers area is a package."""

from __future__ import annotations

from domain.tiers import TierRepository
from domain.unit_of_work import Port

TIERS: Port[TierRepository] = Port("tiers")
