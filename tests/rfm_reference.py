"""`Customer.rfm` as it was computed before score cuts: the whole population ranked
with RANK() in classification_query and the requested customers picked from it
(persistence/classification.py's previous `customer_rfms`, kept verbatim here as the
tests' reference). tests/service/test_rfm_cuts_random.py proves the cut-based read
returns exactly this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.classification import CustomerRfm, RfmClass
from domain.program import ProgramSettings
from persistence.classification import RfmKey, analytical_read, classification_query
from persistence.program import load_program


async def ranked_customer_rfms(
    session: AsyncSession,
    keys: Sequence[RfmKey],
    defaults: ProgramSettings,
    *,
    stored_stats: bool = True,
) -> dict[RfmKey, CustomerRfm]:
    """DataLoader fetch: (customer id, as of, look-back) -> RFM, absent outside the
    population; one statement per distinct (as of, look-back). Even for one customer
    the whole population is ranked (a score counts the customers strictly worse), in
    sorts that spill to disk with PostgreSQL's default work_mem, hence analytical_read."""
    await analytical_read(session)
    program = await load_program(session, defaults)
    groups: dict[tuple[datetime, int | None], list[int]] = defaultdict(list)
    for customer_id, as_of, lookback in keys:
        groups[(as_of, lookback)].append(customer_id)
    found = {}
    for (as_of, lookback), ids in groups.items():
        query = classification_query(
            as_of, program, lookback_days=lookback, customer_ids=ids, stored_stats=stored_stats
        ).subquery()
        rows = await session.execute(
            select(
                query.c.customer_id,
                query.c.recency_days,
                query.c.rfm_frequency,
                query.c.rfm_monetary,
                query.c.r_score,
                query.c.f_score,
                query.c.m_score,
                query.c.rfm_class,
            ).where(query.c.rfm_class.is_not(None))
        )
        for row in rows:
            found[(row.customer_id, as_of, lookback)] = CustomerRfm(
                recency_days=row.recency_days,
                frequency=row.rfm_frequency,
                monetary=row.rfm_monetary,
                currency=program.currency,
                r_score=row.r_score,
                f_score=row.f_score,
                m_score=row.m_score,
                rfm_class=RfmClass(row.rfm_class),
            )
    return found
