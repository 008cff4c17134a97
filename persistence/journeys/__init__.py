"""Journeys: rows, the repository the domain acts through, and the API's reads.

The package, by job: `rows` (the tables), `mapping` (rows ↔ domain), `repository`
(the unit of work's door: upkeep, fan-out cursor, runs and claims), `reads` (the
API's lists and batched loads). Importing the package registers the repository.
"""

from persistence.journeys import reads, repository, rows

__all__ = ["reads", "repository", "rows"]
