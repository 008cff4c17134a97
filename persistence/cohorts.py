"""The monthly cohort retention table, in one statement.

A customer's cohort is the local month of their first counted order ever; the cell
(cohort c, offset k) counts c's customers with a counted order in month c + k.
Month boundaries come from domain/metrics.py as UTC instants (program time zone,
DST-correct) and are joined by range, the same single code path as the metrics.

From the monthly read model (customer_order_months, when it is cut in the program's
zone; checked inside the statement): a customer's row for month m says they bought
in m, and its `prev_at` is null exactly when m is their first month ever; the last
month of the table may stop early, at `to`, which the row's first order instant
decides. Otherwise, from the orders: only orders placed in the table's months are
read; a customer with a counted order in the range belongs to a cohort of the range
iff they have no counted order before its first month (one index probe each), and
their earliest order in the range then is their first ever.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CTE, Select, and_, exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from domain.metrics import CohortRow, Period, cohort_months
from domain.program import ProgramSettings
from persistence.base import table_of
from persistence.metrics import analytical_read, orders, windows_cte
from persistence.orders import (
    MONTH_ZONE_ROW_ID,
    CustomerMonthRow,
    CustomerMonthZoneRow,
    counted,
)


def _cells_from_read_model(m: CTE, first_start: datetime, last_end: datetime) -> Select[Any]:
    rows = table_of(CustomerMonthRow)
    first = rows.alias("first_month")
    later = rows.alias("active_month")
    cohort = m.alias("cohort")
    month = m.alias("month")
    return (
        select(
            cohort.c.wid.label("cohort"),
            month.c.wid.label("month"),
            func.count().label("customers"),
        )
        .select_from(
            first.join(
                cohort,
                and_(first.c.month_start == cohort.c.start_at, first.c.first_at < cohort.c.end_at),
            )
            .join(later, later.c.customer_id == first.c.customer_id)
            .join(
                month,
                and_(later.c.month_start == month.c.start_at, later.c.first_at < month.c.end_at),
            )
        )
        .where(
            first.c.months == 1,
            first.c.prev_at.is_(None),
            first.c.month_start >= first_start,
            first.c.month_start < last_end,
            later.c.months == 1,
            later.c.month_start >= first_start,
            later.c.month_start < last_end,
        )
        .group_by(cohort.c.wid, month.c.wid)
    )


async def cohort_table(
    session: AsyncSession, program: ProgramSettings, period: Period
) -> list[CohortRow]:
    await analytical_read(session)
    months = cohort_months(period, program.zone)
    first_start, last_end = months[0][1].start, months[-1][1].end
    m = windows_cte([p for _, p in months], name="months")
    zones = table_of(CustomerMonthZoneRow)
    same_zone = exists().where(
        zones.c.id == MONTH_ZONE_ROW_ID, zones.c.timezone == literal(program.zone.key)
    )
    o = orders.alias("o")
    in_range = and_(o.c.placed_at >= first_start, o.c.placed_at < last_end, counted(o))

    firsts = (
        select(o.c.customer_id, func.min(o.c.placed_at).label("first_at"))
        .where(in_range)
        .group_by(o.c.customer_id)
        .cte("firsts")
    )
    earlier = orders.alias("earlier")
    members = (
        select(firsts.c.customer_id, m.c.wid.label("cohort"))
        .select_from(
            firsts.join(m, and_(firsts.c.first_at >= m.c.start_at, firsts.c.first_at < m.c.end_at))
        )
        .where(
            ~exists().where(
                earlier.c.customer_id == firsts.c.customer_id,
                earlier.c.placed_at < first_start,
                counted(earlier),
            )
        )
        .cte("members")
    )
    active = (
        select(o.c.customer_id, m.c.wid.label("month"))
        .select_from(m.join(o, and_(o.c.placed_at >= m.c.start_at, o.c.placed_at < m.c.end_at)))
        .where(counted(o))
        .distinct()
        .cte("active")
    )
    statement = (
        select(members.c.cohort, active.c.month, func.count().label("customers"))
        .select_from(members.join(active, active.c.customer_id == members.c.customer_id))
        .where(~same_zone)
        .group_by(members.c.cohort, active.c.month)
    )
    both = union_all(_cells_from_read_model(m, first_start, last_end).where(same_zone), statement)
    cells = {(row.cohort, row.month): row.customers for row in await session.execute(both)}
    table = []
    for c, (label, month) in enumerate(months):
        active_counts = [int(cells.get((c, c + k), 0)) for k in range(len(months) - c)]
        table.append(
            CohortRow(month=label, period=month, size=active_counts[0], active=active_counts)
        )
    return table
