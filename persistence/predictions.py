"""Predicted value: the buyers' statistics in SQL, the stored fits and predictions.

Statistics (`statistics_query`): counted orders placed at or before t, of customers
not erased, grouped by customer and program-local purchase day. A local day is the
order's instant in milliseconds (persistence/sql_arithmetic.py) plus the zone's UTC
offset at that instant, divided by a day: the offsets are found in Python for the
span of the orders (`zone_offsets`) and written as one CASE over the transition
instants (a constant for a zone without daylight saving), so both databases count
the same days. Per customer then: frequency = days − 1, recency = last − first day,
the first day (age is counted from it to t's local day in Python) and the net cents
of the repeat days (the first day's taken off with a window minimum).

`prediction_fits` keeps every attempt; `customer_predictions` holds one row per
buyer of the latest converged fit, replaced whole (delete, bulk insert) in the
transaction that stores that fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Double,
    ForeignKey,
    Integer,
    Numeric,
    String,
    case,
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from domain.predictions.model import BgNbdParams, GammaGammaParams
from domain.predictions.service import (
    PREDICTIONS,
    CustomerPrediction,
    Scores,
    Statistics,
    StoredFit,
    money,
)
from persistence.base import Base
from persistence.customers import CustomerRow
from persistence.orders import OrderRow, counted
from persistence.repositories import register
from persistence.sql_arithmetic import MS_PER_DAY, cents, epoch_ms
from persistence.types import BigId, UtcDateTime

EPOCH_DAY = date(1970, 1, 1).toordinal()
INSERT_BATCH = 5000


class PredictionFitRow(Base):
    __tablename__ = "prediction_fits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    customers: Mapped[int] = mapped_column(Integer)
    repeat_buyers: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    converged: Mapped[bool] = mapped_column(Boolean, index=True)
    message: Mapped[str] = mapped_column(String(500))
    r: Mapped[float | None] = mapped_column(Double)
    alpha: Mapped[float | None] = mapped_column(Double)
    a: Mapped[float | None] = mapped_column(Double)
    b: Mapped[float | None] = mapped_column(Double)
    log_likelihood: Mapped[float | None] = mapped_column(Double)
    p: Mapped[float | None] = mapped_column(Double)
    q: Mapped[float | None] = mapped_column(Double)
    v: Mapped[float | None] = mapped_column(Double)
    spend_log_likelihood: Mapped[float | None] = mapped_column(Double)
    spend_message: Mapped[str] = mapped_column(String(500))


class CustomerPredictionRow(Base):
    __tablename__ = "customer_predictions"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    fit_id: Mapped[int] = mapped_column(BigId, ForeignKey("prediction_fits.id"))
    frequency: Mapped[int] = mapped_column(Integer)
    recency: Mapped[float] = mapped_column(Double)  # weeks
    age: Mapped[float] = mapped_column(Double)  # weeks
    monetary: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    p_alive: Mapped[float] = mapped_column(Double)
    expected_purchases: Mapped[float] = mapped_column(Double)  # next 365 days
    predicted_clv: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # 365 d, 10 %/year


# ---- local days


def zone_offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """[(from_ms, offset_ms)]: the zone's UTC offset from each instant on, for
    [start, end]; the first entry's from_ms is None-like (its offset holds before)."""

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset() or timedelta(0)
        return int(delta.total_seconds() * 1000)

    start, end = start.astimezone(UTC), end.astimezone(UTC)
    found = [(0, offset(start))]
    day = start
    while day < end:
        nxt = min(day + timedelta(days=1), end)
        if offset(nxt) != found[-1][1]:
            low, high = day, nxt  # offset(low) is the old one, offset(high) the new
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == found[-1][1]:
                    low = middle
                else:
                    high = middle
            at = high.replace(microsecond=0)
            if offset(at) == found[-1][1]:
                at += timedelta(seconds=1)
            found.append((int(at.timestamp() * 1000), offset(at)))
        day = nxt
    return found


def local_day(instant: Any, offsets: list[tuple[int, int]]) -> ColumnElement[int]:
    """Days since 1970-01-01 of the instant's program-local date."""
    ms = epoch_ms(instant)
    if len(offsets) == 1:
        shifted: ColumnElement[int] = ms + literal(offsets[0][1])
    else:
        whens = [
            (ms < literal(offsets[i + 1][0]), ms + literal(offsets[i][1]))
            for i in range(len(offsets) - 1)
        ]
        shifted = case(*whens, else_=ms + literal(offsets[-1][1]))
    # Instants after 1970 only: integer division truncates, which is the floor there.
    return (shifted // literal(MS_PER_DAY)).label("day")


def day_number(at: datetime, zone: ZoneInfo) -> int:
    return at.astimezone(zone).date().toordinal() - EPOCH_DAY


async def _first_order_at(session: AsyncSession, through: datetime) -> datetime | None:
    first = await session.scalar(
        select(func.min(OrderRow.placed_at)).where(counted(), OrderRow.placed_at <= through)
    )
    return first


def _purchase_days(
    offsets: list[tuple[int, int]], through: datetime, after_day: int | None = None
) -> Any:
    """One row per (customer, local purchase day) with the day's net cents."""
    orders = (
        select(
            OrderRow.customer_id.label("customer_id"),
            local_day(OrderRow.placed_at, offsets),
            (cents(OrderRow.amount) - cents(OrderRow.refunded_amount)).label("cents"),
        )
        .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
        .where(counted(), OrderRow.placed_at <= through, CustomerRow.erased_at.is_(None))
        .subquery("purchases")
    )
    statement = select(
        orders.c.customer_id, orders.c.day, func.sum(orders.c.cents).label("cents")
    ).group_by(orders.c.customer_id, orders.c.day)
    if after_day is not None:
        statement = statement.where(orders.c.day > after_day)
    return statement


class SqlPredictionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def statistics(self, as_of: datetime, zone: ZoneInfo) -> Statistics:
        first = await _first_order_at(self.session, as_of)
        empty = np.zeros(0)
        if first is None:
            return Statistics(np.zeros(0, np.int64), empty, empty, empty, empty)
        days = _purchase_days(zone_offsets(zone, first, as_of), as_of)
        d = days.add_columns(
            func.min(days.selected_columns.day)
            .over(partition_by=days.selected_columns.customer_id)
            .label("first_day")
        ).subquery("days")
        statement = (
            select(
                d.c.customer_id,
                (func.count() - 1).label("frequency"),
                func.min(d.c.day).label("first_day"),
                (func.max(d.c.day) - func.min(d.c.day)).label("recency_days"),
                func.sum(case((d.c.day == d.c.first_day, 0), else_=d.c.cents)).label(
                    "repeat_cents"
                ),
            )
            .group_by(d.c.customer_id)
            .order_by(d.c.customer_id)
        )
        rows = (await self.session.execute(statement)).all()
        today = day_number(as_of, zone)
        ids = np.array([r.customer_id for r in rows], dtype=np.int64)
        return Statistics(
            customer_ids=ids,
            frequency=np.array([r.frequency for r in rows], dtype=np.float64),
            recency_days=np.array([r.recency_days for r in rows], dtype=np.float64),
            age_days=np.array([today - r.first_day for r in rows], dtype=np.float64),
            repeat_cents=np.array([r.repeat_cents for r in rows], dtype=np.float64),
        )

    async def purchase_days(
        self, after_day: date, through: datetime, zone: ZoneInfo
    ) -> dict[int, int]:
        first = await _first_order_at(self.session, through)
        if first is None:
            return {}
        days = _purchase_days(
            zone_offsets(zone, first, through), through, after_day.toordinal() - EPOCH_DAY
        ).subquery("holdout")
        statement = select(days.c.customer_id, func.count()).group_by(days.c.customer_id)
        return {int(c): int(n) for c, n in (await self.session.execute(statement)).all()}

    async def save_fit(
        self, fit: StoredFit, statistics: Statistics | None, scores: Scores | None
    ) -> int:
        bgnbd, spend = fit.bgnbd, fit.gamma_gamma
        row = PredictionFitRow(
            fitted_at=fit.fitted_at,
            as_of=fit.as_of,
            customers=fit.customers,
            repeat_buyers=fit.repeat_buyers,
            duration_ms=fit.duration_ms,
            converged=fit.converged,
            message=fit.message[:500],
            r=bgnbd.r if bgnbd else None,
            alpha=bgnbd.alpha if bgnbd else None,
            a=bgnbd.a if bgnbd else None,
            b=bgnbd.b if bgnbd else None,
            log_likelihood=fit.log_likelihood,
            p=spend.p if spend else None,
            q=spend.q if spend else None,
            v=spend.v if spend else None,
            spend_log_likelihood=fit.gamma_gamma_log_likelihood,
            spend_message=fit.spend_message[:500],
        )
        self.session.add(row)
        await self.session.flush()
        if statistics is None or scores is None:
            return row.id
        await self.session.execute(delete(CustomerPredictionRow))
        # Plain Python values, column by column (the statistics' properties compute a
        # whole column each time they are read).
        ids = statistics.customer_ids.tolist()
        frequency = statistics.frequency.tolist()
        recency, age = statistics.recency.tolist(), statistics.age.tolist()
        monetary = statistics.monetary.tolist()
        alive, expected = scores.p_alive.tolist(), scores.expected_purchases.tolist()
        clv = scores.predicted_clv.tolist() if scores.predicted_clv is not None else None
        rows = [
            {
                "customer_id": ids[i],
                "fit_id": row.id,
                "frequency": int(frequency[i]),
                "recency": recency[i],
                "age": age[i],
                "monetary": money(monetary[i]),
                "p_alive": alive[i],
                "expected_purchases": expected[i],
                "predicted_clv": money(clv[i]) if clv is not None else None,
            }
            for i in range(len(ids))
        ]
        for start in range(0, len(rows), INSERT_BATCH):
            await self.session.execute(
                insert(CustomerPredictionRow), rows[start : start + INSERT_BATCH]
            )
        return row.id

    async def current_fit(self) -> StoredFit | None:
        return await _latest(self.session, converged_only=True)

    async def latest_attempt(self) -> StoredFit | None:
        return await _latest(self.session, converged_only=False)

    async def predictions_of(self, customer_ids: Sequence[int]) -> dict[int, CustomerPrediction]:
        return await predictions_of(self.session, customer_ids)


async def _latest(session: AsyncSession, *, converged_only: bool) -> StoredFit | None:
    statement = select(PredictionFitRow).order_by(PredictionFitRow.id.desc()).limit(1)
    if converged_only:
        statement = statement.where(PredictionFitRow.converged.is_(True))
    row = await session.scalar(statement)
    return _fit(row) if row is not None else None


async def current_fit(session: AsyncSession) -> StoredFit | None:
    """The fit in use: the latest converged one (for the API's reads)."""
    return await _latest(session, converged_only=True)


def _fit(row: PredictionFitRow) -> StoredFit:
    bgnbd = (
        BgNbdParams(row.r, row.alpha, row.a, row.b)
        if row.r is not None and row.alpha is not None and row.a is not None and row.b is not None
        else None
    )
    spend = (
        GammaGammaParams(row.p, row.q, row.v)
        if row.p is not None and row.q is not None and row.v is not None
        else None
    )
    return StoredFit(
        id=row.id,
        fitted_at=row.fitted_at,
        as_of=row.as_of,
        customers=row.customers,
        repeat_buyers=row.repeat_buyers,
        duration_ms=row.duration_ms,
        converged=row.converged,
        message=row.message,
        bgnbd=bgnbd,
        log_likelihood=row.log_likelihood,
        gamma_gamma=spend,
        gamma_gamma_log_likelihood=row.spend_log_likelihood,
        spend_message=row.spend_message,
    )


async def predictions_of(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, CustomerPrediction]:
    """The stored predictions of these customers (one statement; absent: no prediction,
    or erased since the fit)."""
    if not customer_ids:
        return {}
    rows = await session.scalars(
        select(CustomerPredictionRow)
        .join(CustomerRow, CustomerRow.id == CustomerPredictionRow.customer_id)
        .where(
            CustomerPredictionRow.customer_id.in_(list(customer_ids)),
            CustomerRow.erased_at.is_(None),  # erased since the fit: nothing to show
        )
    )
    return {
        row.customer_id: CustomerPrediction(
            customer_id=row.customer_id,
            frequency=row.frequency,
            recency=row.recency,
            age=row.age,
            monetary=row.monetary,
            p_alive=row.p_alive,
            expected_purchases=row.expected_purchases,
            predicted_clv=row.predicted_clv,
        )
        for row in rows
    }


register(PREDICTIONS, lambda tx: SqlPredictionRepository(tx.session))
