"""Times the predicted-value fit and scoring on 200,000 buyers' statistics.

    .venv/bin/python -m bench.predict [--customers 200000] [--seed 7]

Draws the statistics in memory from the BG/NBD and Gamma-Gamma processes themselves
(CDNOW-like parameters, purchase days over 78 weeks of history), then times what the
daily fit does after its one SQL read (domain/predictions/service.py): both fits,
and P(alive), expected purchases and CLV over 365 days for every buyer. Prints the
fitted parameters beside the true ones and the time beside the issue's target
(10 s for fit and scoring). Prints figures only; it never passes or fails.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from domain.predictions.model import WEEK_DAYS
from domain.predictions.service import Statistics, fit, score

TARGET_S = 10.0
TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5, "p": 6.0, "q": 4.0, "v": 15.0}


def draw(customers: int, seed: int) -> Statistics:
    """Each buyer: a Poisson purchase rate λ ~ Gamma(r, α) per week, a dropout chance
    p ~ Beta(a, b) after each repeat purchase, a first purchase in weeks 0-52 and history to
    week 78; purchases on whole days (days with two are one purchase day)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    drop = rng.beta(TRUE["a"], TRUE["b"], customers)
    first = rng.integers(0, 52 * 7, customers).astype(float)
    end = 78 * 7.0
    last = first.copy()
    repeats = np.zeros(customers)
    alive = np.ones(customers, bool)
    day = first.copy()
    while alive.any():
        gap = rng.exponential(1.0, customers) / np.maximum(rate, 1e-12) * WEEK_DAYS
        day = day + np.ceil(gap)
        alive &= day <= end
        repeats += alive
        last = np.where(alive, day, last)
        alive &= rng.random(customers) >= drop  # dropout right after a repeat purchase
    scale = rng.gamma(TRUE["q"], 1 / TRUE["v"], customers)  # spend level ν per buyer
    mean = rng.gamma(TRUE["p"] * np.maximum(repeats, 1), 1.0) / (scale * np.maximum(repeats, 1))
    return Statistics(
        customer_ids=np.arange(1, customers + 1, dtype=np.int64),
        frequency=repeats,
        recency_days=last - first,
        age_days=end - first,
        repeat_cents=np.round(mean * repeats * 100),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    statistics = draw(args.customers, args.seed)
    repeat = int(np.count_nonzero(statistics.frequency))
    print(f"{args.customers:,} buyers, {repeat:,} with a repeat purchase day")

    started = time.perf_counter()
    fitted = fit(statistics)
    fitted_s = time.perf_counter() - started
    assert fitted.bgnbd is not None and fitted.gamma_gamma is not None, fitted.message
    bgnbd, spend = fitted.bgnbd.params, fitted.gamma_gamma.params
    scores = score(bgnbd, spend, statistics)  # type: ignore[arg-type]
    total_s = time.perf_counter() - started
    assert scores.predicted_clv is not None

    print(
        f"BG/NBD {fitted.message}: "
        + ", ".join(
            f"{k}={getattr(bgnbd, k):.3f} (true {TRUE[k]})" for k in ("r", "alpha", "a", "b")
        )
    )
    print(
        f"Gamma-Gamma {fitted.spend_message}: "
        + ", ".join(f"{k}={getattr(spend, k):.3f} (true {TRUE[k]})" for k in ("p", "q", "v"))
    )
    print(
        f"mean P(alive) {scores.p_alive.mean():.3f}, mean expected purchases (365 d) "
        f"{scores.expected_purchases.mean():.3f}, "
        f"mean CLV (365 d) {scores.predicted_clv.mean():.2f}"
    )
    print(
        f"fit {fitted_s:.2f} s, fit + scoring {total_s:.2f} s (target {TARGET_S:.0f} s: "
        f"{'met' if total_s < TARGET_S else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
