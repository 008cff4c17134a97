"""The cohort table as it was computed before the monthly read model: from the orders
(persistence/cohorts.py's previous statement, kept verbatim here as the tests'
reference). tests/service/test_order_months_random.py proves the read-model path
returns exactly this.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.metrics import CohortRow, Period, cohort_months
from domain.program import ProgramSettings
from persistence.metrics import analytical_read, orders, windows_cte
from persistence.orders import counted


async def reference_cohort_table(
    session: AsyncSession, program: ProgramSettings, period: Period
) -> list[CohortRow]:
    await analytical_read(session)
    months = cohort_months(period, program.zone)
    first_start, last_end = months[0][1].start, months[-1][1].end
    m = windows_cte([p for _, p in months], name="months")
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
        .group_by(members.c.cohort, active.c.month)
    )
    cells = {(row.cohort, row.month): row.customers for row in await session.execute(statement)}
    table = []
    for c, (label, month) in enumerate(months):
        active_counts = [int(cells.get((c, c + k), 0)) for k in range(len(months) - c)]
        table.append(
            CohortRow(month=label, period=month, size=active_counts[0], active=active_counts)
        )
    return table
