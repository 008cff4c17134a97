"""BG/NBD and Gamma-Gamma (domain/predictions/model.py) on the CDNOW sample: the fits
match the published estimates, and P(alive), expected purchases and CLV match the
closed forms computed here independently with mpmath (50 digits, the ₂F₁ taken
as written in the paper, without the Euler transformation the code uses)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest

from domain.predictions.model import (
    BgNbdParams,
    GammaGammaParams,
    NotFittable,
    bgnbd_log_likelihood,
    clv,
    expected_average_spend,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    p_alive,
)

CDNOW = Path(__file__).parent.parent / "data" / "cdnow_customers_summary_with_transactions.csv"
mp.mp.dps = 50


@cache
def cdnow() -> tuple[np.ndarray, ...]:
    with CDNOW.open() as f:
        rows = list(csv.DictReader(f))
    return tuple(np.array([float(r[c]) for r in rows]) for c in ("x", "t_x", "T", "zbar"))


@cache
def bgnbd() -> BgNbdParams:
    x, t_x, T, _ = cdnow()
    result = fit_bgnbd(x, t_x, T)
    assert result.converged, result.message
    assert isinstance(result.params, BgNbdParams)
    return result.params


def test_cdnow_has_the_papers_2357_customers():
    x, _, T, _ = cdnow()
    assert x.size == 2357
    assert int(x.sum()) == 2457  # repeat purchases in the 39-week calibration period


def test_bgnbd_fit_matches_the_published_estimates():
    x, t_x, T, _ = cdnow()
    result = fit_bgnbd(x, t_x, T)
    p = result.params
    assert result.converged
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert round(result.log_likelihood, 1) == -9582.4


def test_gamma_gamma_fit_matches_the_published_estimates():
    x, _, _, m = cdnow()
    result = fit_gamma_gamma(x, m)
    p = result.params
    assert result.converged
    assert (round(p.p, 2), round(p.q, 2), round(p.v, 2)) == (6.25, 3.74, 15.45)


def _mp_p_alive(p: BgNbdParams, x: float, t_x: float, T: float) -> mp.mpf:
    if x == 0:
        return mp.mpf(1)
    r, al, a, b = (mp.mpf(v) for v in (p.r, p.alpha, p.a, p.b))
    return 1 / (1 + a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x))


def _mp_expected(p: BgNbdParams, t: float, x: float, t_x: float, T: float) -> mp.mpf:
    """[FHL05] eq. 10 as printed."""
    r, al, a, b = (mp.mpf(v) for v in (p.r, p.alpha, p.a, p.b))
    x, t_x, T, t = (mp.mpf(v) for v in (x, t_x, T, t))
    hyp = mp.hyp2f1(r + x, b + x, a + b + x - 1, t / (al + T + t))
    head = (a + b + x - 1) / (a - 1) * (1 - ((al + T) / (al + T + t)) ** (r + x) * hyp)
    return head * _mp_p_alive(p, float(x), float(t_x), float(T))


# (x, t_x, T): CDNOW customers 1, 3 and 18, then heavier buyers than the sample has.
CUSTOMERS = [
    (2, 30.43, 38.86),
    (0, 0.0, 38.86),
    (7, 35.14, 38.86),
    (1, 2.0, 32.0),
    (20, 38.0, 39.0),
    (60, 38.5, 39.0),
    (5, 5.0, 39.0),
]


@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_p_alive_and_expected_purchases_match_the_closed_forms(x, t_x, T):
    p = bgnbd()
    assert float(p_alive(p, x, t_x, T)) == pytest.approx(
        float(_mp_p_alive(p, x, t_x, T)), rel=1e-12
    )
    for t in (1.0, 10.0, 52.0, 520.0):
        ours = float(expected_purchases(p, t, x, t_x, T))
        assert ours == pytest.approx(float(_mp_expected(p, t, x, t_x, T)), rel=1e-9)


def test_a_customer_who_bought_often_and_stopped_is_probably_gone():
    p = bgnbd()
    stopped = float(p_alive(p, 10, 5.0, 39.0))
    steady = float(p_alive(p, 10, 38.0, 39.0))
    assert stopped < 0.01 < 0.9 < steady


def test_published_conditional_expectation_for_the_papers_example_customer():
    # [FHL05] section 4: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the
    # next 39 weeks (the paper's worked example, Figure 4's first customer is this one).
    p = bgnbd()
    assert round(float(expected_purchases(p, 39, 2, 30.43, 38.86)), 3) == 1.226


def test_expected_average_spend_is_the_closed_form():
    g = GammaGammaParams(p=6.25, q=3.74, v=15.44)
    assert float(expected_average_spend(g, 3, 40.0)) == pytest.approx(
        6.25 * (15.44 + 3 * 40.0) / (6.25 * 3 + 3.74 - 1)
    )
    # without repeat purchases: the population mean p v / (q - 1)
    assert float(expected_average_spend(g, 0, 0.0)) == pytest.approx(6.25 * 15.44 / 2.74)


def test_clv_discounts_each_30_day_step_from_its_end():
    p = bgnbd()
    g = GammaGammaParams(p=6.25, q=3.74, v=15.44)
    x, t_x, T, m = 4, 30.0, 38.86, 35.0
    spend = float(expected_average_spend(g, x, m))
    ends = [30, 60, 90, 100]
    expected = 0.0
    before = mp.mpf(0)
    for end in ends:
        now = _mp_expected(p, end / 7, x, t_x, T)
        expected += float(now - before) / 1.1 ** (end / 365)
        before = now
    ours = float(clv(p, g, 100, 0.1, x, t_x, T, m))
    assert ours == pytest.approx(spend * expected, rel=1e-9)
    undiscounted = float(clv(p, g, 100, 0.0, x, t_x, T, m))
    assert undiscounted == pytest.approx(
        spend * float(_mp_expected(p, 100 / 7, x, t_x, T)), rel=1e-9
    )
    assert ours < undiscounted


def test_no_customers_a_handful_and_no_repeat_buyers_are_refused_with_a_reason():
    with pytest.raises(NotFittable, match="no customers"):
        fit_bgnbd([], [], [])
    with pytest.raises(NotFittable, match="at least 10"):
        fit_bgnbd([1, 0, 2], [3.0, 0.0, 4.0], [5.0, 5.0, 5.0])
    with pytest.raises(NotFittable, match="no customer has bought again"):
        fit_bgnbd([0] * 20, [0.0] * 20, [10.0] * 20)
    with pytest.raises(NotFittable, match="repeat buyers"):
        fit_gamma_gamma([0, 0, 1], [0.0, 0.0, 12.0])


def test_a_fit_that_does_not_converge_says_so():
    x, t_x, T, _ = cdnow()
    result = fit_bgnbd(x, t_x, T, max_iterations=2)
    assert not result.converged
    assert "without converging" in result.message


def test_the_fits_log_likelihoods_are_the_per_customer_sums():
    # The fits evaluate the likelihood over distinct values; the per-customer
    # functions are the definition.
    x, t_x, T, m = cdnow()
    fitted = fit_bgnbd(x, t_x, T)
    assert fitted.log_likelihood == pytest.approx(
        float(bgnbd_log_likelihood(fitted.params, x, t_x, T).sum()), rel=1e-12
    )
    spend = fit_gamma_gamma(x, m)
    keep = x > 0
    assert spend.log_likelihood == pytest.approx(
        float(gamma_gamma_log_likelihood(spend.params, x[keep], m[keep]).sum()), rel=1e-12
    )


def test_a_maximum_at_the_edge_of_the_parameter_space_is_not_a_fit():
    # Every repeat buyer bought once more at the same point and is still buying: the
    # data cannot separate the purchase rates from the dropout, and the likelihood
    # keeps rising as parameters run off towards 0 or infinity.
    x = np.array([1.0] * 30 + [0.0] * 10)
    t_x = np.array([10.0] * 30 + [0.0] * 10)
    T = np.array([20.0] * 40)
    result = fit_bgnbd(x, t_x, T)
    assert not result.converged
    assert result.message.startswith("no maximum inside the parameter space: ")


def test_without_a_spend_model_the_purchase_model_is_used_and_clv_is_unknown():
    from domain.predictions.service import Statistics, fit, score

    x, t_x, T, _ = cdnow()
    # Every repeat purchase day worth exactly 25.00: no spread of spend to fit.
    statistics = Statistics(
        customer_ids=np.arange(x.size, dtype=np.int64),
        frequency=x,
        recency_days=t_x * 7,
        age_days=T * 7,
        repeat_cents=x * 2500,
    )
    fitted = fit(statistics)
    assert fitted.converged and not fitted.gamma_gamma.converged
    scores = score(fitted.bgnbd.params, None, statistics)
    assert scores.predicted_clv is None and scores.p_alive.size == x.size


@pytest.mark.parametrize(
    "point", [(0.243, 4.414, 0.793, 2.426), (1.0, 1.0, 1.0, 1.0), (0.5, 9.0, 3.0, 0.7)]
)
def test_the_bgnbd_gradient_is_the_derivative_of_the_likelihood(point):
    from scipy.optimize import approx_fprime

    from domain.predictions.model import bgnbd_objective

    x, t_x, T, _ = cdnow()
    negative, _ = bgnbd_objective(x, t_x, T)
    at = np.log(np.array(point))
    value, gradient = negative(at)
    assert value == pytest.approx(
        -float(bgnbd_log_likelihood(BgNbdParams(*point), x, t_x, T).mean())
    )
    numeric = approx_fprime(at, lambda p: negative(p)[0], 1e-7)
    assert gradient == pytest.approx(numeric, rel=1e-4, abs=1e-6)
