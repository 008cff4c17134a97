"""Fitting the models over the program's history and storing the result.

`fit_and_store` reads every buyer's sufficient statistics as of an instant (computed
in SQL: persistence/predictions.py), fits BG/NBD over all of them and Gamma-Gamma
over the repeat buyers, scores every buyer and stores the fit with the scores in one
transaction. A fit that cannot be made or does not converge is stored as a failed
attempt, and the predictions of the last good fit stay in use.

`calibrate` fits on the history up to a cutoff and compares each buyer's expected
purchases in the holdout that follows with the purchase days the buyer really had.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from domain.daily_triggers import DAILY, local_day
from domain.errors import DomainError, ErrorCode
from domain.predictions.model import (
    WEEK_DAYS,
    BgNbdParams,
    FitResult,
    GammaGammaParams,
    NotFittable,
    clv,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    p_alive,
)
from domain.program import PROGRAM
from domain.unit_of_work import Port, UnitOfWorkFactory

STORED_DAYS = 365
"""The horizon of the stored expected purchases and CLV (what segments compare)."""
STORED_DISCOUNT_RATE = 0.1
"""The annual discount rate of the stored CLV."""
MAX_HOLDOUT_DAYS = 3660
FREQUENCY_BUCKETS = 7
"""The calibration table has a row for 0 … 6 repeat purchase days, then one for 7+."""


@dataclass(frozen=True)
class Statistics:
    """Every buyer's sufficient statistics as of an instant, column by column: counted
    orders grouped by program-local purchase day; `frequency` repeat purchase days,
    `recency_days` from the first to the last purchase day, `age_days` from the first
    purchase day to the as-of day, `repeat_cents` the net amount of the repeat days."""

    customer_ids: NDArray[np.int64]
    frequency: NDArray[np.float64]
    recency_days: NDArray[np.float64]
    age_days: NDArray[np.float64]
    repeat_cents: NDArray[np.float64]

    @property
    def monetary(self) -> NDArray[np.float64]:
        """Mean net amount of the repeat purchase days (0 without repeat purchases)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.repeat_cents / 100.0 / self.frequency
        return np.asarray(np.where(self.frequency > 0, mean, 0.0), dtype=np.float64)

    @property
    def recency(self) -> NDArray[np.float64]:
        return self.recency_days / WEEK_DAYS

    @property
    def age(self) -> NDArray[np.float64]:
        return self.age_days / WEEK_DAYS


@dataclass(frozen=True)
class Scores:
    """Each buyer's stored prediction over `STORED_DAYS` (same order as the statistics)."""

    p_alive: NDArray[np.float64]
    expected_purchases: NDArray[np.float64]
    predicted_clv: NDArray[np.float64] | None  # None without a spend model


@dataclass(frozen=True)
class StoredFit:
    """A fit attempt as stored: `converged` ones are the ones in use (the latest)."""

    id: int
    fitted_at: datetime
    as_of: datetime
    customers: int
    repeat_buyers: int
    duration_ms: int
    converged: bool
    message: str
    bgnbd: BgNbdParams | None
    log_likelihood: float | None
    gamma_gamma: GammaGammaParams | None
    gamma_gamma_log_likelihood: float | None
    spend_message: str


@dataclass(frozen=True)
class CustomerPrediction:
    """One buyer's stored statistics (model units: weeks) and scores."""

    customer_id: int
    frequency: int
    recency: float
    age: float
    monetary: Decimal
    p_alive: float
    expected_purchases: float
    predicted_clv: Decimal | None


class PredictionRepository(Protocol):
    async def statistics(self, as_of: datetime, zone: ZoneInfo) -> Statistics:
        """Every (not erased) buyer's statistics over counted orders placed at or before
        `as_of`, purchase days read in `zone`."""
        ...

    async def purchase_days(
        self, after_day: date, through: datetime, zone: ZoneInfo
    ) -> dict[int, int]:
        """Per customer, the local purchase days of counted orders placed at or before
        `through` on a day after `after_day`."""
        ...

    async def save_fit(
        self, fit: StoredFit, statistics: Statistics | None, scores: Scores | None
    ) -> int:
        """Stores the attempt; with scores (a converged fit) replaces every stored
        prediction with these. Returns the fit's id."""
        ...

    async def current_fit(self) -> StoredFit | None:
        """The latest converged fit (the one the predictions come from)."""
        ...

    async def latest_attempt(self) -> StoredFit | None: ...

    async def predictions_of(
        self, customer_ids: Sequence[int]
    ) -> dict[int, CustomerPrediction]: ...


PREDICTIONS: Port[PredictionRepository] = Port("predictions")


@dataclass(frozen=True)
class Fitted:
    """What one fit found, before it is stored."""

    customers: int
    repeat_buyers: int
    bgnbd: FitResult | None
    gamma_gamma: FitResult | None
    message: str
    spend_message: str

    @property
    def converged(self) -> bool:
        return self.bgnbd is not None and self.bgnbd.converged


def fit(statistics: Statistics) -> Fitted:
    """Both models over the statistics (CPU only; no database)."""
    customers = int(statistics.frequency.size)
    repeat_buyers = int(np.count_nonzero(statistics.frequency > 0))
    try:
        bgnbd = fit_bgnbd(statistics.frequency, statistics.recency, statistics.age)
    except NotFittable as refusal:
        return Fitted(customers, repeat_buyers, None, None, str(refusal), "")
    spend: FitResult | None
    try:
        spend = fit_gamma_gamma(statistics.frequency, statistics.monetary)
        spend_message = spend.message
    except NotFittable as refusal:
        spend, spend_message = None, str(refusal)
    return Fitted(customers, repeat_buyers, bgnbd, spend, bgnbd.message, spend_message)


def score(
    bgnbd: BgNbdParams, gamma_gamma: GammaGammaParams | None, statistics: Statistics
) -> Scores:
    x, t_x, T = statistics.frequency, statistics.recency, statistics.age
    value = None
    if gamma_gamma is not None:
        value = clv(
            bgnbd, gamma_gamma, STORED_DAYS, STORED_DISCOUNT_RATE, x, t_x, T, statistics.monetary
        )
    return Scores(
        p_alive=p_alive(bgnbd, x, t_x, T),
        expected_purchases=expected_purchases(bgnbd, STORED_DAYS / WEEK_DAYS, x, t_x, T),
        predicted_clv=value,
    )


def _fit_and_score(statistics: Statistics) -> tuple[Fitted, Scores | None]:
    fitted = fit(statistics)
    if not fitted.converged or fitted.bgnbd is None:
        return fitted, None
    bgnbd = fitted.bgnbd.params
    assert isinstance(bgnbd, BgNbdParams)
    scores = score(bgnbd, usable_spend(fitted.gamma_gamma), statistics)
    columns = [scores.p_alive, scores.expected_purchases]
    if scores.predicted_clv is not None:
        columns.append(scores.predicted_clv)
    broken = int(np.count_nonzero(~np.all(np.isfinite(np.vstack(columns)), axis=0)))
    if broken:
        failed = replace(fitted.bgnbd, converged=False)
        message = f"the fitted model gives no finite prediction for {broken} buyers"
        return replace(fitted, bgnbd=failed, message=message), None
    return fitted, scores


def usable_spend(result: FitResult | None) -> GammaGammaParams | None:
    if result is None or not result.converged:
        return None
    assert isinstance(result.params, GammaGammaParams)
    return result.params


async def fit_and_store(
    uow_factory: UnitOfWorkFactory, as_of: datetime, now: datetime
) -> StoredFit:
    """Fits as of `as_of` and stores the attempt (and, when it converged, the
    predictions); returns the stored attempt. The fitting runs in a thread so that
    the worker's loop keeps serving while it does."""
    started = time.perf_counter()
    async with uow_factory() as uow:
        program = await uow.repo(PROGRAM).get()
        statistics = await uow.repo(PREDICTIONS).statistics(as_of, program.zone)
    fitted, scores = await asyncio.to_thread(_fit_and_score, statistics)
    bgnbd = fitted.bgnbd
    spend = usable_spend(fitted.gamma_gamma)
    stored = StoredFit(
        id=0,
        fitted_at=now,
        as_of=as_of,
        customers=fitted.customers,
        repeat_buyers=fitted.repeat_buyers,
        duration_ms=0,
        converged=fitted.converged,
        message=fitted.message,
        bgnbd=bgnbd.params if bgnbd is not None else None,  # type: ignore[arg-type]
        log_likelihood=bgnbd.log_likelihood if bgnbd is not None else None,
        gamma_gamma=spend,
        gamma_gamma_log_likelihood=(
            fitted.gamma_gamma.log_likelihood if spend is not None and fitted.gamma_gamma else None
        ),
        spend_message=fitted.spend_message,
    )
    async with uow_factory() as uow:
        duration_ms = round((time.perf_counter() - started) * 1000)
        stored = replace(stored, duration_ms=duration_ms)
        fit_id = await uow.repo(PREDICTIONS).save_fit(
            stored, statistics if scores is not None else None, scores
        )
        await uow.commit()
    return replace(stored, id=fit_id)


DAILY_FIT = "prediction_fit"


async def daily_fit(uow_factory: UnitOfWorkFactory, as_of: datetime) -> StoredFit | None:
    """The daily pass's fit: once per program-local day (claimed like the daily
    triggers, domain/daily_triggers.py), None when it already ran that day. The claim
    is its own transaction: a fit that crashes is not retried until the next day, and
    the last good fit stays in use meanwhile."""
    async with uow_factory() as uow:
        program = await uow.repo(PROGRAM).get()
        if not await uow.repo(DAILY).claim(DAILY_FIT, local_day(as_of, program), as_of):
            return None
        await uow.commit()
    return await fit_and_store(uow_factory, as_of, as_of)


# ---- calibration


@dataclass(frozen=True)
class FrequencyRow:
    frequency: int  # repeat purchase days in calibration; the last row is "this or more"
    or_more: bool
    customers: int
    predicted: float  # mean expected purchases in the holdout
    actual: float  # mean purchase days in the holdout


@dataclass(frozen=True)
class Calibration:
    cutoff: datetime
    holdout_days: int
    customers: int
    converged: bool
    message: str
    bgnbd: BgNbdParams | None
    log_likelihood: float | None
    predicted_total: float
    actual_total: int
    mean_absolute_error: float
    root_mean_squared_error: float
    by_frequency: list[FrequencyRow]


async def calibrate(
    uow_factory: UnitOfWorkFactory, cutoff: datetime, holdout_days: int, now: datetime
) -> Calibration:
    """Fits as of `cutoff`, then compares each buyer's expected purchases over the next
    `holdout_days` with the local purchase days the buyer had after the cutoff's day,
    through cutoff + holdout_days. Nothing is stored."""
    if not 1 <= holdout_days <= MAX_HOLDOUT_DAYS:
        raise DomainError(
            ErrorCode.INVALID, ("holdout_days",), f"holdoutDays must be 1 to {MAX_HOLDOUT_DAYS}."
        )
    end = cutoff + timedelta(days=holdout_days)
    if end > now:
        raise DomainError(
            ErrorCode.INVALID,
            ("holdout_days",),
            f"The holdout ends {end.isoformat()}, after now: choose an earlier cutoff or a "
            "shorter holdout.",
        )
    async with uow_factory() as uow:
        program = await uow.repo(PROGRAM).get()
        statistics = await uow.repo(PREDICTIONS).statistics(cutoff, program.zone)
        cutoff_day = cutoff.astimezone(program.zone).date()
        actual_days = await uow.repo(PREDICTIONS).purchase_days(cutoff_day, end, program.zone)
    return await asyncio.to_thread(_compare, statistics, actual_days, cutoff, holdout_days)


def _compare(
    statistics: Statistics, actual_days: dict[int, int], cutoff: datetime, holdout_days: int
) -> Calibration:
    fitted = fit(statistics)
    empty = Calibration(
        cutoff,
        holdout_days,
        fitted.customers,
        False,
        fitted.message,
        None,
        None,
        0.0,
        0,
        0.0,
        0.0,
        [],
    )
    if fitted.bgnbd is None or not fitted.converged:
        return empty
    params = fitted.bgnbd.params
    assert isinstance(params, BgNbdParams)
    x = statistics.frequency
    predicted = expected_purchases(
        params, holdout_days / WEEK_DAYS, x, statistics.recency, statistics.age
    )
    actual = np.array([actual_days.get(int(c), 0) for c in statistics.customer_ids], float)
    error = predicted - actual
    rows = []
    for k in range(FREQUENCY_BUCKETS + 1):
        or_more = k == FREQUENCY_BUCKETS
        mask = x >= k if or_more else x == k
        n = int(np.count_nonzero(mask))
        if n == 0:
            continue
        rows.append(
            FrequencyRow(k, or_more, n, float(predicted[mask].mean()), float(actual[mask].mean()))
        )
    return Calibration(
        cutoff=cutoff,
        holdout_days=holdout_days,
        customers=fitted.customers,
        converged=True,
        message=fitted.message,
        bgnbd=params,
        log_likelihood=fitted.bgnbd.log_likelihood,
        predicted_total=float(predicted.sum()),
        actual_total=int(actual.sum()),
        mean_absolute_error=float(np.abs(error).mean()),
        root_mean_squared_error=float(np.sqrt((error**2).mean())),
        by_frequency=rows,
    )


# ---- one customer's numbers for any horizon


def money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def customer_expected_purchases(fit: StoredFit, p: CustomerPrediction, days: int) -> float:
    assert fit.bgnbd is not None
    return float(expected_purchases(fit.bgnbd, days / WEEK_DAYS, p.frequency, p.recency, p.age))


def customer_clv(
    fit: StoredFit, p: CustomerPrediction, days: int, annual_discount_rate: float
) -> Decimal | None:
    if fit.bgnbd is None or fit.gamma_gamma is None:
        return None
    value = clv(
        fit.bgnbd,
        fit.gamma_gamma,
        days,
        annual_discount_rate,
        p.frequency,
        p.recency,
        p.age,
        float(p.monetary),
    )
    return money(float(value))


def describe_fit(fit: StoredFit) -> str:
    """One line for the CLI and the worker's log."""
    if not fit.converged or fit.bgnbd is None:
        return f"prediction fit failed ({fit.message}); the previous fit stays in use"
    p = fit.bgnbd
    line = (
        f"prediction fit over {fit.customers} buyers ({fit.repeat_buyers} repeat) in "
        f"{fit.duration_ms} ms: r={p.r:.4f} alpha={p.alpha:.4f} a={p.a:.4f} b={p.b:.4f} "
        f"log-likelihood {fit.log_likelihood:.3f}"
    )
    if fit.gamma_gamma is None:
        return f"{line}; no spend model ({fit.spend_message}), so no predicted CLV"
    g = fit.gamma_gamma
    return f"{line}; spend p={g.p:.4f} q={g.q:.4f} v={g.v:.4f}"
