"""BG/NBD and Gamma-Gamma: likelihoods, fits and the closed forms (pure numpy/scipy).

References (the equation numbers below are theirs):
- [FHL05] P. S. Fader, B. G. S. Hardie, K. L. Lee, "'Counting Your Customers' the
  Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 2005,
  275-284; and B. G. S. Hardie's notes "Computing P(alive) Using the BG/NBD Model"
  (2008) and "Deriving the conditional expectation of the BG/NBD model" (2007).
- [FHL05b] P. S. Fader, B. G. S. Hardie, K. L. Lee, "RFM and CLV: Using Iso-Value
  Curves for Customer Base Analysis", Journal of Marketing Research 42(4), 2005,
  415-430; and Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013).

A customer is (x, t_x, T): x repeat purchases (purchase days after the first),
t_x the time of the last purchase and T the time of the end of observation, both
from the first purchase, in model time units (weeks here: `WEEK_DAYS`). m is the mean
value of the repeat purchases.

Every array function takes numpy arrays (or scalars) and works element-wise. scipy is
imported inside the functions that use it: only fits and forecasts need it, and every
`loyalty` command, worker and server start imports this module (0.25 s saved each).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

WEEK_DAYS = 7.0
"""The model's time unit in days: recency and T are in weeks, as in the papers."""

DAYS_PER_YEAR = 365.0
CLV_STEP_DAYS = 30.0
"""CLV sums the expected purchases of each 30-day step (the last one shorter)."""

MIN_CUSTOMERS = 10
"""Below this many customers no fit is attempted: four parameters need data."""

MIN_REPEAT_BUYERS = 2

EDGE = 11.5
"""|log parameter| at or past this (about 1e5 or 1e-5) counts as running off."""
"""Gamma-Gamma (three parameters) is fitted over repeat buyers only."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float


@dataclass(frozen=True)
class FitResult:
    """One maximum-likelihood fit. `converged` is the optimizer's own verdict and a
    finite log-likelihood; `message` says why not when it did not."""

    params: BgNbdParams | GammaGammaParams
    log_likelihood: float
    converged: bool
    message: str
    iterations: int


class NotFittable(ValueError):
    """The data cannot carry the model (no customers, too few, no repeat buyers)."""


def _arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in values]


# ---- BG/NBD


def bgnbd_log_likelihood(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Each customer's log-likelihood, [FHL05] eq. 6 taken in logs:

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    the two terms added with logaddexp so that neither underflows."""
    from scipy.special import betaln, gammaln

    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    stays = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    # b + x - 1 > 0 only matters where x > 0; elsewhere any finite value is discarded.
    drops = np.where(
        repeat,
        betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return np.asarray(head + np.logaddexp(stays, drops), dtype=np.float64)


def _grouped(*columns: Array) -> tuple[list[Array], Array]:
    """Identical customers once, with their count as weight: day-level data repeats
    (x, t_x, T) a lot, and the likelihood is evaluated per distinct row."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(np.float64)


def fit_bgnbd(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, *, max_iterations: int = 2000
) -> FitResult:
    """BG/NBD by maximum likelihood: the negative total log-likelihood minimised over
    log r, log α, log a, log b (so every parameter stays positive) with L-BFGS-B
    from r = α = a = b = 1 (`_minimise`)."""
    x, t_x, T = _arrays(x, t_x, T)
    if x.size == 0:
        raise NotFittable("no customers with a purchase: nothing to fit")
    if x.size < MIN_CUSTOMERS:
        raise NotFittable(
            f"{x.size} customers with a purchase; the model needs at least {MIN_CUSTOMERS}"
        )
    if not np.any(x > 0):
        raise NotFittable(
            "no customer has bought again: repeat purchases are what the model learns from"
        )
    negative, total = bgnbd_objective(x, t_x, T)
    return _minimise(negative, np.zeros(4), total, BgNbdParams, max_iterations, gradient=True)


def bgnbd_objective(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[Callable[[Array], tuple[float, Array]], float]:
    """The function `fit_bgnbd` minimises, with the number of customers: log
    parameters → (−mean log-likelihood, its gradient)."""
    from scipy.special import betaln, digamma, gammaln

    x, t_x, T = _arrays(x, t_x, T)
    (gx, gt, gT), weights = _grouped(x, t_x, T)
    total = float(weights.sum())
    # The special functions depend on x alone and the logarithms on T or t_x alone:
    # each is evaluated over the few distinct values, then spread to the rows. A
    # customer without repeat purchases has log L = r (log α − log(α+T)).
    once = gx == 0
    T0, w0 = gT[once], weights[once]
    x1, t1, T1, w1 = gx[~once], gt[~once], gT[~once], weights[~once]
    xs, at_x = np.unique(x1, return_inverse=True)
    Ts, at_T = np.unique(T1, return_inverse=True)
    txs, at_tx = np.unique(t1, return_inverse=True)

    def negative(log_params: Array) -> tuple[float, Array]:
        """−(mean log-likelihood) and its gradient in log r, log α, log a, log b.

        With S and D the logs of the two terms of L for a repeat buyer and
        s = e^(S − log L), d = e^(D − log L) their shares, each derivative of log L is
        s·∂S + d·∂D; digamma ψ differentiates the log-gamma and log-beta terms."""
        with np.errstate(all="ignore"):  # a trial step far out gives inf, refused below
            return _evaluate(log_params)

    def _evaluate(log_params: Array) -> tuple[float, Array]:
        r, alpha, a, b = np.exp(log_params)
        log_alpha = np.log(alpha)
        base = betaln(a, b)
        log_T0 = np.log(alpha + T0)
        ll0 = r * (log_alpha - log_T0)
        log_T1 = np.log(alpha + Ts)[at_T]
        log_t1 = np.log(alpha + txs)[at_tx]
        head = (gammaln(r + xs) - gammaln(r) + r * log_alpha)[at_x]
        stays = (betaln(a, b + xs) - base)[at_x] - (r + x1) * log_T1
        drops = (betaln(a + 1, b + xs - 1) - base)[at_x] - (r + x1) * log_t1
        log_l = np.logaddexp(stays, drops)
        value = -(float(np.dot(w0, ll0)) + float(np.dot(w1, head + log_l))) / total
        if not np.isfinite(value):
            return np.inf, np.zeros(4)
        share_s = np.exp(stays - log_l)
        share_d = 1.0 - share_s
        psi_ab, psi_a, psi_b = digamma(a + b), digamma(a), digamma(b)
        psi_abx = digamma(a + b + xs)
        d_r = float(np.dot(w0, log_alpha - log_T0)) + float(
            np.dot(
                w1,
                (digamma(r + xs) - digamma(r))[at_x]
                + log_alpha
                - share_s * log_T1
                - share_d * log_t1,
            )
        )
        d_alpha = float(np.dot(w0, r / alpha - r / (alpha + T0))) + float(
            np.dot(
                w1,
                r / alpha
                - share_s * (r + x1) / (alpha + Ts)[at_T]
                - share_d * (r + x1) / (alpha + txs)[at_tx],
            )
        )
        stays_a = (psi_ab - psi_abx)[at_x]
        drops_a = (digamma(a + 1) - psi_a + psi_ab - psi_abx)[at_x]
        stays_b = (digamma(b + xs) - psi_abx - psi_b + psi_ab)[at_x]
        drops_b = (digamma(b + xs - 1) - psi_abx - psi_b + psi_ab)[at_x]
        d_a = float(np.dot(w1, share_s * stays_a + share_d * drops_a))
        d_b = float(np.dot(w1, share_s * stays_b + share_d * drops_b))
        gradient = -np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b]) / total
        return value, gradient

    return negative, total


def _minimise(
    negative: object,
    start: Array,
    total: float,
    make: type[BgNbdParams] | type[GammaGammaParams],
    max_iterations: int,
    *,
    gradient: bool = False,  # `negative` returns (value, gradient)
) -> FitResult:
    from scipy.optimize import minimize

    assert callable(negative)
    options = {"maxiter": max_iterations, "gtol": 1e-10, "ftol": 1e-15}
    first = minimize(negative, start, method="L-BFGS-B", jac=gradient, options=options)
    # A second run from where the first stopped (a fresh curvature estimate) confirms
    # the maximum; if it cannot, Nelder-Mead (no gradients) gets the last word.
    second = minimize(negative, first.x, method="L-BFGS-B", jac=gradient, options=options)
    polished = second
    if not second.success:

        def value_only(log_params: Array) -> float:
            found = negative(log_params)
            return float(found[0] if gradient else found)

        polished = minimize(
            value_only,
            second.x,
            method="Nelder-Mead",
            options={"maxiter": max_iterations, "xatol": 1e-8, "fatol": 1e-12},
        )
    best = min((first, second, polished), key=lambda result: float(result.fun))
    log_likelihood = -float(best.fun) * total
    params = make(*(float(v) for v in np.exp(best.x)))
    finite = bool(np.isfinite(log_likelihood) and np.all(np.isfinite(np.exp(best.x))))
    # A parameter past e^±EDGE has run off towards 0 or infinity: the likelihood keeps
    # rising along a ridge, and the data does not pin the model down.
    inside = bool(np.all(np.abs(best.x) < EDGE))
    converged = bool(polished.success) and finite and inside
    if converged:
        message = "converged"
    elif not finite:
        message = "the likelihood has no finite maximum on this data"
    elif not inside:
        names = list(make.__dataclass_fields__)
        runaway = ", ".join(
            f"{name} = {np.exp(log):.3g}"
            for name, log in zip(names, best.x, strict=True)
            if abs(log) >= EDGE
        )
        message = f"no maximum inside the parameter space: {runaway} (more history is needed)"
    else:
        message = f"the optimiser stopped without converging: {polished.message}"
    return FitResult(
        params=params,
        log_likelihood=log_likelihood,
        converged=converged,
        message=message,
        iterations=int(first.nit)
        + int(second.nit)
        + (int(polished.nit) if polished is not second else 0),
    )


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """The probability that the customer has not dropped out by T (Hardie's 2008 note,
    eq. 2): 1 / (1 + [x > 0] · a / (b+x-1) · ((α+T)/(α+t_x))^(r+x)).

    1 for a customer without a repeat purchase: in BG/NBD a customer can only drop
    out right after a purchase, so one who has made none since the first is alive."""
    x, t_x, T = _arrays(x, t_x, T)
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, T))


def _dropout_odds(params: BgNbdParams, x: Array, t_x: Array, T: Array) -> Array:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    safe_x = np.where(repeat, x, 1.0)
    log_odds = (
        np.log(a)
        - np.log(b + safe_x - 1)
        + (r + safe_x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(repeat, np.exp(log_odds), 0.0)


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """Expected purchases in the next t time units, given (x, t_x, T): [FHL05] eq. 10,

    E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x)
                          · ₂F₁(r+x, b+x; a+b+x-1; t/(α+T+t))] / (1 + dropout odds)

    The ₂F₁ is evaluated after Euler's transformation ₂F₁(A, B; C; z) =
    (1-z)^(C-A-B) ₂F₁(C-A, C-B; C; z): with 1-z = (α+T)/(α+T+t) the bracket becomes
    1 - (1-z)^(a-1) ₂F₁(a+b-1-r, a-1; a+b+x-1; z), whose first two parameters do not
    grow with x. The untransformed series has C-A-B = a-1-r-x < 0 and terms that grow
    with x, so for a frequent buyer it is a huge number multiplied by a tiny one.
    At a = 1 the formula is 0/0; a is nudged by 1e-9 there (the limit is continuous)."""
    from scipy.special import hyp2f1

    t_arr, x, t_x, T = _arrays(t, x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-9
    z = t_arr / (alpha + T + t_arr)
    one_minus_z = (alpha + T) / (alpha + T + t_arr)
    bracket = 1.0 - one_minus_z ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    value = (a + b + x - 1.0) / (a - 1.0) * bracket / (1.0 + _dropout_odds(params, x, t_x, T))
    return np.asarray(np.where(t_arr > 0, value, 0.0), dtype=np.float64)


# ---- Gamma-Gamma


def gamma_gamma_log_likelihood(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> Array:
    """Each repeat buyer's log-likelihood of its mean spend m over x purchases
    (Fader & Hardie 2013, eq. 1, as the density of the mean):

    log f(m | x) = log Γ(px+q) - log Γ(px) - log Γ(q) + q log v + (px-1) log m
                   + px log x - (px+q) log(v + x m)"""
    from scipy.special import gammaln

    x, m = _arrays(x, m)
    p, q, v = params.p, params.q, params.v
    return np.asarray(
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m),
        dtype=np.float64,
    )


def fit_gamma_gamma(x: ArrayLike, m: ArrayLike, *, max_iterations: int = 2000) -> FitResult:
    """Gamma-Gamma by maximum likelihood over the repeat buyers with a positive mean
    (x > 0 and m > 0; the others are left out, as [FHL05b] does), log-space like
    `fit_bgnbd`."""
    from scipy.special import digamma, gammaln

    x, m = _arrays(x, m)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < MIN_REPEAT_BUYERS:
        raise NotFittable(
            f"{x.size} repeat buyers with a positive spend; the spend model needs at least "
            f"{MIN_REPEAT_BUYERS}"
        )
    (gx, gm), weights = _grouped(x, m)
    total = float(weights.sum())
    xs, at_x = np.unique(gx, return_inverse=True)
    log_m, log_x = np.log(gm), np.log(gx)

    def negative(log_params: Array) -> tuple[float, Array]:
        """−(mean log-likelihood) and its gradient in log p, log q, log v."""
        with np.errstate(all="ignore"):  # a trial step far out gives inf, refused below
            p, q, v = np.exp(log_params)
            px = p * gx
            log_spent = np.log(v + gx * gm)
            ll = (
                (gammaln(p * xs + q) - gammaln(p * xs))[at_x]
                - gammaln(q)
                + q * np.log(v)
                + (px - 1) * log_m
                + px * log_x
                - (px + q) * log_spent
            )
            value = -float(np.dot(weights, ll)) / total
            if not np.isfinite(value):
                return np.inf, np.zeros(3)
            psi_pxq = digamma(p * xs + q)[at_x]
            d_p = float(
                np.dot(
                    weights,
                    gx * (psi_pxq - digamma(p * xs)[at_x] + log_m + log_x - log_spent),
                )
            )
            d_q = float(np.dot(weights, psi_pxq - digamma(q) + np.log(v) - log_spent))
            d_v = float(np.dot(weights, q / v - (px + q) / (v + gx * gm)))
            return value, -np.array([p * d_p, q * d_q, v * d_v]) / total

    result = _minimise(
        negative, np.zeros(3), total, GammaGammaParams, max_iterations, gradient=True
    )
    params = result.params
    assert isinstance(params, GammaGammaParams)
    if result.converged and params.q <= 1:
        return FitResult(
            params,
            result.log_likelihood,
            False,
            f"q = {params.q:.3f} <= 1: the expected spend is infinite under this fit",
            result.iterations,
        )
    return result


def expected_average_spend(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> Array:
    """E[M | x, m] = p (v + x m) / (p x + q - 1) ([FHL05b] eq. 5): the mean spend of a
    customer's future purchases, a weighted mean of the population's p v / (q - 1) and
    the customer's own m. A customer without repeat purchases (x = 0) gets the
    population mean."""
    x, m = _arrays(x, m)
    m = np.where(x > 0, m, 0.0)
    p, q, v = params.p, params.q, params.v
    return np.asarray(p * (v + x * m) / (p * x + q - 1.0), dtype=np.float64)


# ---- CLV


def clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    days: float,
    annual_discount_rate: float,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m: ArrayLike,
) -> Array:
    """Predicted value over the next `days`, discounted: a discrete approximation of
    [FHL05b] eq. 2 (the value of the purchases in each 30-day step, discounted from the
    step's end) instead of its continuous-time DERT, which is for an infinite horizon:

    CLV = E[M] · Σ_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + annual rate)^(t_k / 365 days)

    with t_k = 30k days up to `days` (the last step ends at `days`). This is the sum
    the `lifetimes` package computes with monthly steps."""
    x, t_x, T, m = _arrays(x, t_x, T, m)
    spend = expected_average_spend(gamma_gamma, x, m)
    ends = list(np.arange(CLV_STEP_DAYS, days, CLV_STEP_DAYS)) + [float(days)]
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for end in ends:
        if end <= 0:
            continue
        cumulative = expected_purchases(bgnbd, end / WEEK_DAYS, x, t_x, T)
        total += (cumulative - previous) / (1.0 + annual_discount_rate) ** (end / DAYS_PER_YEAR)
        previous = cumulative
    return np.asarray(spend * total, dtype=np.float64)
