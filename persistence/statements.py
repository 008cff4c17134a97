"""The one place the two databases' spellings part: which database a session talks
to, and the statements spelled differently on each.

Every dialect switch in persistence/ goes through `is_postgresql` (or a helper
below built on it), so a third database would be added here, not in each area.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Insert,
    Result,
    Table,
    TableValuedAlias,
    Update,
    any_,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import TypeEngine

from domain.errors import present

POSTGRESQL = "postgresql"


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def is_postgresql(session: AsyncSession) -> bool:
    return dialect_name(session) == POSTGRESQL


async def insert_ignoring_duplicates(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> int:
    """INSERT … ON CONFLICT DO NOTHING; returns how many rows were new.

    For rows whose existence is the point (a tag already on a customer), not for
    unique-key races, which fail and are retried (persistence/unit_of_work.py).
    Counted with RETURNING rather than the cursor's rowcount: a many-row insert is
    an executemany, and asyncpg reports no rowcount for those (it read 0 on
    PostgreSQL). SQLAlchemy batches the rows into multi-VALUES statements.
    """
    if not rows:
        return 0
    if is_postgresql(session):
        statement = (
            postgresql.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        )
    else:
        statement = (
            sqlite.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
        )
    result = await session.execute(statement, list(rows))
    return len(result.all())


def unnest_rows(
    columns: Sequence[tuple[str, TypeEngine[Any]]],
    rows: Sequence[dict[str, Any]] | None,
    *,
    alias: str = "u",
) -> TableValuedAlias:
    """PostgreSQL: `rows` as a relation built from one array parameter per column,
    `unnest($1::T1[], $2::T2[], …) WITH ORDINALITY AS u(name…, u_ordinal)`.

    Why: a thousand rows as one multi-VALUES INSERT is a statement of twelve
    thousand parameters whose text changes with the row count (compiled, planned and
    prepared again each time); as arrays it is a handful of parameters and one
    statement text for any number of rows, which asyncpg encodes in binary.
    `columns`: (name, type) of each; an array is typed by its column's type, so that
    type's own bind processing (UTC instants, JSON) applies to each element.
    `rows` None: the arrays are left to be given at execution (`arrays_of`), so a
    statement built once serves every batch (`_unnest_insert`)."""
    arrays = [
        bindparam(
            f"u_{name}",
            None if rows is None else [row[name] for row in rows],
            type_=postgresql.ARRAY(type_),
        )
        for name, type_ in columns
    ]
    return (
        func.unnest(*arrays)
        .table_valued(*(name for name, _ in columns), with_ordinality="u_ordinal")
        .render_derived(name=alias)
    )


def typed(table: Table, names: Sequence[str]) -> list[tuple[str, TypeEngine[Any]]]:
    return [(name, table.c[name].type) for name in names]


def arrays_of(names: Sequence[str], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The execution parameters of an `unnest_rows` relation built without rows."""
    return {f"u_{name}": [row[name] for row in rows] for name in names}


@functools.lru_cache(maxsize=256)
def _unnest_insert(
    table: Table, names: tuple[str, ...], computed: tuple[str, ...], returning: bool
) -> Insert:
    """`INSERT INTO table (names…, computed…) SELECT … FROM unnest(…) ORDER BY
    ordinality [RETURNING key]`, built once per table and columns: SQLAlchemy then
    finds its compiled form by the statement's memoized cache key instead of
    building and hashing a new statement for every batch (a few milliseconds per
    `orderRecord`). In the rows' order, so a serial key numbers them as given (events
    in the order they were raised), as `insert_returning_ids` relies on. `computed`:
    the names of `COMPUTED` columns."""
    u = unnest_rows(typed(table, names), None)
    source = select(*(u.c[name] for name in names), *(COMPUTED[name] for name in computed))
    statement = insert(table).from_select([*names, *computed], source.order_by(u.c.u_ordinal))
    if returning:
        (key,) = table.primary_key.columns
        statement = statement.returning(key)
    return statement


@functools.lru_cache(maxsize=256)
def _unnest_update(table: Table, key: str, names: tuple[str, ...]) -> Update:
    """`UPDATE table SET names… FROM unnest(…) WHERE key = the row's key`, built once
    per table and columns for the reason `_unnest_insert` gives; `update_rows` hands
    it the arrays."""
    u = unnest_rows(typed(table, [key, *names]), None)
    return (
        table.update().where(table.c[key] == u.c[key]).values({name: u.c[name] for name in names})
    )


# Columns an insert may compute in SQL, by name: the writing transaction's id
# (persistence/events.py), named so that statements built once can name it.
COMPUTED: dict[str, ColumnElement[Any]] = {}


def with_row_defaults(table: Table, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each column that has a Python-side default and is missing from
    them filled in, row by row: a callable one (a customer's referral code) because
    an INSERT … SELECT would evaluate it once for the whole statement, a constant
    because the driver-level insert (`_sqlite_insert`) does not apply it."""
    missing = [
        column
        for column in table.columns
        if column.name not in rows[0] and column.default is not None
    ]
    if not missing:
        return list(rows)
    constants = {
        column.name: column.default.arg  # type: ignore[union-attr]
        for column in missing
        if not getattr(column.default, "is_callable", False)
    }
    made = [column for column in missing if column.name not in constants]
    return [
        {**row, **constants, **{column.name: column.default.arg(None) for column in made}}  # type: ignore[union-attr]
        for row in rows
    ]


def _driver_rows(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows' values as the driver takes them, through each column type's own
    bind processing (the same as SQLAlchemy's, without its per-statement work)."""
    dialect = session.get_bind().dialect
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    return [
        tuple(
            value if process is None else process(value)
            for value, process in zip((row[name] for name in names), processors, strict=True)
        )
        for row in rows
    ]


async def _sqlite_insert(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], *, numbered: bool
) -> int | None:
    """SQLite: the rows in one driver-level executemany (sqlite3 runs it in C, and
    SQLAlchemy's compilation and parameter handling, most of a thousand-row insert's
    time, are skipped); with `numbered`, returns the last new rowid (one more
    statement: sqlite3 does not report it after an executemany)."""
    rows = with_row_defaults(table, rows)
    names = list(rows[0])
    quote = session.get_bind().dialect.identifier_preparer
    sql = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.format_column(table.c[name]) for name in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    connection = await session.connection()
    await connection.exec_driver_sql(sql, _driver_rows(session, table, names, rows))
    if not numbered:
        return None
    result = await connection.exec_driver_sql("SELECT last_insert_rowid()")
    return int(result.scalar_one())


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    computed: Sequence[str] = (),
) -> None:
    """Inserts the rows, all with the same keys, in one statement on PostgreSQL (see
    `unnest_rows`) and an executemany on SQLite (in-process: no round trips to save).
    `computed`: columns given by an SQL expression of `COMPUTED`, the same for every
    row (PostgreSQL only: the writing transaction's id)."""
    if not rows:
        return
    if not is_postgresql(session):
        await _sqlite_insert(session, table, rows, numbered=False)
        return
    rows = with_row_defaults(table, rows)
    names = tuple(rows[0])
    statement = _unnest_insert(table, names, tuple(computed), False)
    await session.execute(statement, arrays_of(names, rows))


async def insert_returning_ids(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Inserts the rows (all with the same keys) and returns their new ids in the
    rows' order.

    PostgreSQL: one INSERT … SELECT from `unnest_rows` ordered by each row's
    position; the key's sequence numbers the rows in that order, so the returned
    ids, sorted, are the rows' ids in order (SQLAlchemy's own batched
    `sort_by_parameter_order` rests on the same property of INSERT … SELECT …
    ORDER BY). SQLite: one executemany (`_sqlite_insert`); the writer holds the
    database's write lock (BEGIN IMMEDIATE), and SQLite gives a new row the largest
    rowid in the table plus one, so the rows' ids are the run of numbers that ends
    at the last one inserted.
    """
    if not rows:
        return []
    if is_postgresql(session):
        rows = with_row_defaults(table, rows)
        names = tuple(rows[0])
        statement = _unnest_insert(table, names, (), True)
        result = await session.execute(statement, arrays_of(names, rows))
        ids = sorted(row[0] for row in result.all())
        if len(ids) != len(rows):
            raise AssertionError("a batch of rows was not numbered")
        return ids
    last = present(await _sqlite_insert(session, table, rows, numbered=True), "rowid")
    return list(range(last - len(rows) + 1, last + 1))


async def update_rows(
    session: AsyncSession, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> None:
    """`UPDATE table SET column = row's value … WHERE key = row's key` for each row
    (all rows with the same keys, `key` among them): one UPDATE … FROM `unnest_rows`
    on PostgreSQL, a driver-level executemany on SQLite (see `_sqlite_insert`)."""
    if not rows:
        return
    names = tuple(name for name in rows[0] if name != key)
    if is_postgresql(session):
        statement = _unnest_update(table, key, names)
        await session.execute(statement, arrays_of([key, *names], rows))
        return
    quote = session.get_bind().dialect.identifier_preparer
    sql = (
        f"UPDATE {quote.format_table(table)} SET "
        + ", ".join(f"{quote.format_column(table.c[name])} = ?" for name in names)
        + f" WHERE {quote.format_column(table.c[key])} = ?"
    )
    connection = await session.connection()
    await connection.exec_driver_sql(sql, _driver_rows(session, table, [*names, key], rows))


async def next_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """PostgreSQL: `count` new ids from the sequence of `table`'s key, ascending, in
    one statement; rows inserted with them later keep the key unique and increasing
    as if the sequence had numbered them on insert."""
    (key,) = table.primary_key.columns
    result = await session.execute(
        text(
            "SELECT nextval(pg_get_serial_sequence(:table, :column)) "
            "FROM generate_series(1, :count) ORDER BY 1"
        ),
        {"table": table.name, "column": key.name, "count": count},
    )
    return [int(value) for value in result.scalars()]


def one_of(
    session: AsyncSession,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: Sequence[Any],
) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL spelled `column = ANY($1)` with one array
    parameter of the column's type.

    An IN list renders one parameter per value, so each length is another statement
    for SQLAlchemy to render and for asyncpg to prepare (a 5,000-row import chunk
    spent more time rendering its IN lists than PostgreSQL spent answering them). And
    after five runs of a prepared statement PostgreSQL may switch to a generic plan;
    for an IN list of hundreds of parameters that plan scanned the whole orders table
    (the daily job's batches took 0.4 s each instead of 5 ms), while the generic plan
    of `= ANY(array)` keeps using the index.
    """
    values = list(values)
    if is_postgresql(session):
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (its cursor's rowcount)."""
    if not isinstance(result, CursorResult):
        raise TypeError("rows_matched needs the result of an UPDATE or DELETE")
    return result.rowcount
