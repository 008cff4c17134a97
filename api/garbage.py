"""The garbage collector's settings for the processes that run long and allocate
fast: the server's workers and `loyalty import`.

CPython's cyclic collector runs a young-generation pass every 700 new container
objects and, every so often, a full pass over every tracked object. A request or an
import row allocates a few hundred short-lived objects (strawberry's execution,
SQLAlchemy rows, dataclasses), almost none of them in cycles: refcounting frees
them, and the collector's passes mostly walk the process's long-lived objects (the
modules, the schema, the mapped tables) again and again. So, once the process is
set up:

- `gc.freeze()` moves everything alive to a permanent generation that no pass
  walks (the technique Instagram described for its Django workers);
- a young pass waits for `young` new objects instead of 700.

Cyclic garbage is still collected, only less often. Measured in docs/performance.md.
"""

from __future__ import annotations

import gc

IMPORT_YOUNG = 100_000  # an import: no memory to spare for, one chunk at a time
SERVER_YOUNG = 50_000


def collect_less_garbage(young: int) -> None:
    gc.freeze()
    gc.set_threshold(young, 50, 100)
