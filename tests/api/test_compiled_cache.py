"""SQLAlchemy's compiled cache holds: a repeated request compiles no SQL again (no
statement text built per request), so the database and asyncpg's per-connection
prepared statements see the same texts every time."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine.default import CACHE_HIT

from tests.api.ledger_calls import order_input
from tests.api.test_customer_page_statements import PAGE, seed

PLACED = "2026-05-09T00:00:00+00:00"
ORDER = """
mutation($input: OrderRecordInput!) { orderRecord(input: $input) { userErrors { code } } }"""


class CacheMisses:
    """The statements a block compiled instead of taking from the compiled cache."""

    def __init__(self, database) -> None:  # noqa: ANN001
        self.engine = database.engine.sync_engine
        self.compiled: list[str] = []
        self.executed = 0

    def __enter__(self):  # noqa: ANN204
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        self.executed += 1
        compiled = context is not None and context.compiled is not None
        if compiled and context.cache_hit is not CACHE_HIT:
            self.compiled.append(f"{context.cache_hit}: {statement}")


async def test_a_repeated_page_and_order_compile_nothing_again(gql, database):
    await seed(gql, customers=3)
    for n in range(2):  # warm the cache: the first of each compiles
        await gql(PAGE, {"first": 3})
        await gql(ORDER, {"input": order_input(f"w-{n}", "5.00", customer="c-0", placed_at=PLACED)})
    with CacheMisses(database) as misses:
        await gql(PAGE, {"first": 3})
        await gql(ORDER, {"input": order_input("x-1", "7.00", customer="c-1", placed_at=PLACED)})
    assert misses.executed > 5
    assert misses.compiled == []
