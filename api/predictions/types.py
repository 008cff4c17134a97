"""The prediction types."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.errors import BadUserInput
from api.money import Money, money
from domain.predictions import service as domain

MAX_DAYS = 3660


@strawberry.type(description="BG/NBD parameters (purchase and dropout) and Gamma-Gamma (spend).")
class PredictionParams:
    r: float = strawberry.field(description="BG/NBD: shape of the purchase-rate distribution.")
    alpha: float = strawberry.field(
        description="BG/NBD: scale of the purchase-rate distribution (weeks)."
    )
    a: float = strawberry.field(description="BG/NBD: dropout probability distribution, a.")
    b: float = strawberry.field(description="BG/NBD: dropout probability distribution, b.")
    p: float | None = strawberry.field(
        description="Gamma-Gamma: shape of spend per purchase; null without a spend model."
    )
    q: float | None = strawberry.field(
        description="Gamma-Gamma: shape of the customers' spend levels."
    )
    v: float | None = strawberry.field(
        description="Gamma-Gamma: scale of the customers' spend levels."
    )


@strawberry.type(description="The fit in use: the latest one that converged.")
class PredictionModel:
    fitted_at: datetime = strawberry.field(description="When the fit was made.")
    as_of: datetime = strawberry.field(description="The history it was fitted on ends here.")
    params: PredictionParams
    log_likelihood: float = strawberry.field(description="BG/NBD log-likelihood at the fit.")
    customers: int = strawberry.field(description="Buyers it was fitted on.")
    repeat_buyers: int = strawberry.field(description="Of them, buyers with a repeat purchase day.")
    converged: bool = strawberry.field(
        description="Whether the maximisation converged: always true here, as attempts "
        "that failed are never put in use."
    )
    duration_ms: int = strawberry.field(description="How long fitting and scoring took.")
    spend_model_message: str = strawberry.field(
        description="'converged', or why there is no spend model (then CLV is null)."
    )

    @classmethod
    def from_domain(cls, fit: domain.StoredFit) -> PredictionModel:
        assert fit.bgnbd is not None and fit.log_likelihood is not None
        g = fit.gamma_gamma
        return cls(
            fitted_at=fit.fitted_at,
            as_of=fit.as_of,
            params=PredictionParams(
                r=fit.bgnbd.r,
                alpha=fit.bgnbd.alpha,
                a=fit.bgnbd.a,
                b=fit.bgnbd.b,
                p=g.p if g else None,
                q=g.q if g else None,
                v=g.v if g else None,
            ),
            log_likelihood=fit.log_likelihood,
            customers=fit.customers,
            repeat_buyers=fit.repeat_buyers,
            converged=fit.converged,
            duration_ms=fit.duration_ms,
            spend_model_message=fit.spend_message,
        )


def check_days(days: int, field: str) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise BadUserInput(f"{field} must be 1 to {MAX_DAYS}.")


@strawberry.type(description="A customer's predicted future, from the fit in use.")
class CustomerPrediction:
    fit: strawberry.Private[domain.StoredFit]
    stored: strawberry.Private[domain.CustomerPrediction]
    currency: strawberry.Private[str]

    @strawberry.field(
        description="Probability that the customer is still active (has not lapsed for good), 0-1."
    )
    def p_alive(self) -> float:
        return self.stored.p_alive

    @strawberry.field(
        description="Repeat purchase days the customer is expected to make in the next `days` days."
    )
    def expected_purchases(self, days: int = 365) -> float:
        check_days(days, "days")
        if days == domain.STORED_DAYS:
            return self.stored.expected_purchases
        return domain.customer_expected_purchases(self.fit, self.stored, days)

    @strawberry.field(
        description="Net spend expected over the next `days` days, discounted at "
        "`annualDiscountRate`; null when the fit has no spend model."
    )
    def predicted_clv(self, days: int = 365, annual_discount_rate: float = 0.1) -> Money | None:
        check_days(days, "days")
        if not 0 <= annual_discount_rate <= 10:
            raise BadUserInput("annualDiscountRate must be 0 to 10 (0.1 is 10 % a year).")
        value: Decimal | None
        if days == domain.STORED_DAYS and annual_discount_rate == domain.STORED_DISCOUNT_RATE:
            value = self.stored.predicted_clv
        else:
            value = domain.customer_clv(self.fit, self.stored, days, annual_discount_rate)
        return None if value is None else money(value, self.currency)

    @strawberry.field(description="Repeat purchase days up to the fit's as-of (the model's x).")
    def frequency(self) -> int:
        return self.stored.frequency


@strawberry.type(
    description="One row of the calibration table: buyers by their repeat purchase days "
    "before the cutoff."
)
class CalibrationRow:
    frequency: int = strawberry.field(description="Repeat purchase days before the cutoff.")
    or_more: bool = strawberry.field(description="True on the last row: this many or more.")
    customers: int
    predicted: float = strawberry.field(description="Mean expected purchases in the holdout.")
    actual: float = strawberry.field(description="Mean purchase days in the holdout.")


@strawberry.type(description="A fit up to `cutoff` checked against the holdout that follows it.")
class PredictionCalibration:
    cutoff: datetime
    holdout_days: int
    customers: int = strawberry.field(description="Buyers up to the cutoff.")
    converged: bool
    message: str
    params: PredictionParams | None
    log_likelihood: float | None
    predicted_purchases: float = strawberry.field(
        description="Σ expected purchases in the holdout."
    )
    actual_purchases: int = strawberry.field(description="Σ purchase days in the holdout.")
    mean_absolute_error: float = strawberry.field(
        description="Mean |predicted − actual| per buyer."
    )
    root_mean_squared_error: float
    by_frequency: list[CalibrationRow]

    @classmethod
    def from_domain(cls, c: domain.Calibration) -> PredictionCalibration:
        p = c.bgnbd
        return cls(
            cutoff=c.cutoff,
            holdout_days=c.holdout_days,
            customers=c.customers,
            converged=c.converged,
            message=c.message,
            params=(
                PredictionParams(r=p.r, alpha=p.alpha, a=p.a, b=p.b, p=None, q=None, v=None)
                if p
                else None
            ),
            log_likelihood=c.log_likelihood,
            predicted_purchases=c.predicted_total,
            actual_purchases=c.actual_total,
            mean_absolute_error=c.mean_absolute_error,
            root_mean_squared_error=c.root_mean_squared_error,
            by_frequency=[
                CalibrationRow(
                    frequency=r.frequency,
                    or_more=r.or_more,
                    customers=r.customers,
                    predicted=r.predicted,
                    actual=r.actual,
                )
                for r in c.by_frequency
            ],
        )
