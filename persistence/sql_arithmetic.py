"""Exact arithmetic on instants and money, spelled per database.

Read models compare means, medians and durations; done in floating point, a tie at
the mean becomes a coin toss that SQLite and PostgreSQL toss differently. So the
read models work in integers: instants as milliseconds since 1970, money as cents.

- PostgreSQL: ``EXTRACT(EPOCH FROM timestamptz)`` is an exact numeric (PG 14+), and
  ``numeric(18,2) * 100`` is an exact integer.
- SQLite: instants are stored by ``UtcDateTime`` as naive UTC text
  ``YYYY-MM-DD HH:MM:SS.ffffff``; whole seconds come from ``strftime('%s')`` of the
  first 19 characters (``strftime`` of the full text would round .9995 s up into the
  next second) and milliseconds from the fraction's first three digits. Money with
  NUMERIC affinity is stored as a double, which ``ROUND(x * 100)`` turns back into its
  exact number of cents.

Both spellings truncate to the millisecond, so both databases see the same integers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS_PER_DAY = 86_400_000
MONEY = Numeric(18, 2)


class epoch_ms(FunctionElement[int]):  # noqa: N801 (reads as the SQL function it stands for)
    """Milliseconds since 1970-01-01 UTC of a UtcDateTime expression (truncated)."""

    type = BigInteger()
    name = "epoch_ms"
    inherit_cache = True


class cents(FunctionElement[int]):  # noqa: N801
    """An amount of money (Numeric(18,2)) as an exact integer number of cents."""

    type = BigInteger()
    name = "cents"
    inherit_cache = True


class money_of_cents(FunctionElement[Decimal]):  # noqa: N801
    """An integer number of cents as a Numeric(18,2) amount (a Decimal in Python)."""

    type = MONEY
    name = "money_of_cents"
    inherit_cache = True


@compiles(epoch_ms)
def _epoch_ms_postgresql(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {value}) * 1000) AS BIGINT)"


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%s', substr({value}, 1, 19)) AS INTEGER) * 1000"
        f" + CAST(substr({value}, 21, 3) AS INTEGER))"
    )


@compiles(cents)
def _cents_postgresql(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} * 100 AS BIGINT)"


@compiles(cents, "sqlite")
def _cents_sqlite(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(ROUND({compiler.process(element.clauses, **kw)} * 100) AS INTEGER)"


@compiles(money_of_cents)
def _money_of_cents(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} / 100.0 AS NUMERIC(18, 2))"


def instant_ms(instant: datetime) -> int:
    """The Python twin of epoch_ms, for bound parameters."""
    return (instant.astimezone(UTC) - EPOCH) // timedelta(milliseconds=1)
