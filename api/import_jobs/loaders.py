"""Import jobs by id, batched per request."""

from __future__ import annotations

from api.loaders import loader
from persistence import import_jobs as reads

IMPORT_JOB = loader("import_job", reads.jobs_by_ids, missing=None)
