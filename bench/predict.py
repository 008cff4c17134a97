"""Times the predicted-value fit and scoring on 200,000 buyers' statistics.

    .venv/bin/python -m bench.predict [--customers 200000] [--seed 7]
        [--database sqlite | postgresql+asyncpg://postgres@127.0.0.1:5432/loyalty_bench]

Draws the statistics in memory from the BG/NBD and Gamma-Gamma processes themselves
(CDNOW-like parameters, purchase days over 78 weeks of history), then times what the
daily fit does after its one SQL read (domain/predictions/service.py): both fits,
and P(alive), expected purchases and CLV over 365 days for every buyer. Prints the
fitted parameters beside the true ones and the time beside the issue's target
(10 s for fit and scoring). With --database the same buyers become customers and
orders in a fresh database (a temporary SQLite file, or a PostgreSQL database that is
dropped and created), and the whole `fit_and_store` is timed too: the statistics read
in SQL, the fit, the scoring and the bulk write of every prediction. Prints figures
only; it never passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from domain.predictions.model import WEEK_DAYS
from domain.predictions.service import Statistics, describe_fit, fit, fit_and_store, score
from persistence.customers import CustomerRow
from persistence.database import Database
from persistence.migrations import upgrade
from persistence.orders import OrderRow
from persistence.unit_of_work import unit_of_work_factory

START = datetime(2024, 1, 1, 12, tzinfo=UTC)
BATCH = 20_000

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


def orders_of(statistics: Statistics, seed: int) -> list[dict]:
    """Orders with exactly these statistics: the first and last purchase days, the
    repeat days between them on distinct days, the repeat days' mean as drawn."""
    rng = np.random.default_rng(seed)
    first = 78 * 7 - statistics.age_days
    rows = []
    for i in range(statistics.customer_ids.size):
        x, recency = int(statistics.frequency[i]), int(statistics.recency_days[i])
        days = [0]
        if x:
            middle = rng.choice(np.arange(1, recency), size=x - 1, replace=False) if x > 1 else []
            days += sorted(int(d) for d in middle) + [recency]
        mean = Decimal(int(statistics.repeat_cents[i] / max(x, 1))) / 100
        for n, day in enumerate(days):
            placed = START + timedelta(days=float(first[i]) + day)
            amount = mean if n else Decimal("50.00")
            rows.append(
                {
                    "customer_id": int(statistics.customer_ids[i]),
                    "external_id": f"o{i}-{n}",
                    "amount": max(amount, Decimal("0.01")),
                    "refunded_amount": Decimal(0),
                    "currency": "CNY",
                    "placed_at": placed,
                    "award_points": True,
                    "points_earned": 0,
                    "points_reversed": 0,
                    "request_hash": "bench",
                    "created_at": placed,
                }
            )
    return rows


async def in_database(url: str, statistics: Statistics, seed: int) -> None:
    if url.startswith("postgresql"):
        name = make_url(url).database
        server = await asyncpg.connect(
            make_url(url)
            .set(drivername="postgresql", database="postgres")
            .render_as_string(hide_password=False)
        )
        await server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await server.execute(f'CREATE DATABASE "{name}"')
        await server.close()
    await asyncio.to_thread(upgrade, url)
    database = Database.connect(url)
    try:
        began = time.perf_counter()
        created = START
        orders = orders_of(statistics, seed)
        async with database.sessions() as session:
            customers = statistics.customer_ids.size
            for start in range(0, customers, BATCH):
                await session.execute(
                    insert(CustomerRow),
                    [
                        {
                            "external_id": f"c{i}",
                            "attributes": {},
                            "created_at": created,
                            "updated_at": created,
                        }
                        for i in range(start + 1, min(customers, start + BATCH) + 1)
                    ],
                )
            for start in range(0, len(orders), BATCH):
                await session.execute(insert(OrderRow), orders[start : start + BATCH])
            await session.commit()
            await session.execute(text("ANALYZE"))
            await session.commit()
        print(
            f"{make_url(url).get_backend_name()}: {customers:,} customers, {len(orders):,} "
            f"orders inserted in {time.perf_counter() - began:.1f} s"
        )
        as_of = START + timedelta(days=78 * 7, hours=6)
        began = time.perf_counter()
        stored = await fit_and_store(unit_of_work_factory(database), as_of, as_of)
        took = time.perf_counter() - began
        print(f"  fit_and_store (SQL statistics, fit, scoring, write): {took:.2f} s")
        print(f"  {describe_fit(stored)}")
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default=None, help="sqlite, or a PostgreSQL URL")
    args = parser.parse_args()
    statistics = draw(args.customers, args.seed)
    repeat = int(np.count_nonzero(statistics.frequency))
    print(f"{args.customers:,} buyers, {repeat:,} with a repeat purchase day")

    started, cpu = time.perf_counter(), time.process_time()
    fitted = fit(statistics)
    fitted_s = time.perf_counter() - started
    assert fitted.bgnbd is not None and fitted.gamma_gamma is not None, fitted.message
    bgnbd, spend = fitted.bgnbd.params, fitted.gamma_gamma.params
    scores = score(bgnbd, spend, statistics)  # type: ignore[arg-type]
    total_s = time.perf_counter() - started
    total_cpu = time.process_time() - cpu
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
        f"{'met' if total_s < TARGET_S else 'MISSED'}); {total_cpu:.2f} s of CPU (the "
        "difference is other work on the machine)"
    )
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'predict.db'}"
            asyncio.run(in_database(url, statistics, args.seed))
    elif args.database:
        asyncio.run(in_database(args.database, statistics, args.seed))


if __name__ == "__main__":
    main()
