"""The whole metadata, for Alembic and the migrations test.

Every module of persistence/ is imported once (`import_areas`), so a new area's
tables are seen without being listed here: adding an area edits no hub file.
"""

from persistence.base import Base
from persistence.repositories import import_areas

import_areas()

metadata = Base.metadata

__all__ = ["metadata"]
