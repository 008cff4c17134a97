"""Every table, imported in one place so Alembic sees the whole metadata."""

from persistence.api_keys import ApiKeyRow
from persistence.base import Base
from persistence.customers import CustomerRow
from persistence.tags import CustomerTagRow, TagRow

metadata = Base.metadata

__all__ = ["ApiKeyRow", "CustomerRow", "CustomerTagRow", "TagRow", "metadata"]
