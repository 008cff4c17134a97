"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

from persistence.base import BigId, UtcDateTime

JsonDocument = JSON().with_variant(JSONB(), "postgresql")

__all__ = ["BigId", "JsonDocument", "UtcDateTime"]
