"""The README's console screenshots (docs/images/console-*.png), taken from a made-up
shop with a year and a half of history, so the cohort heat map and the RFM grid have
something to show (the `make run` demo has four customers).

    make browser && .venv/bin/python -m scripts.console_screenshots

It builds a throwaway SQLite database in a temporary folder: migrates it, seeds the
demo program (tiers, rewards), writes customers and orders to CSV files and loads them
with `loyalty import` (the same path a shop's history takes), then serves the API,
signs the console in with an ANALYST key and saves three PNGs at 1280 px wide.
"""

from __future__ import annotations

import asyncio
import csv
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.app import create_app
from api.demo import seed_if_empty
from api.settings import Settings
from domain.access import ApiKeyService, CreateApiKey, Role
from domain.clock import SystemClock
from persistence.database import Database
from persistence.migrations import upgrade
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.live_server import serving

IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
ZONE = "Asia/Shanghai"
CHANNELS = ["tmall", "wechat", "门店", "jd"]


def history(workdir: Path, seed: int = 18) -> tuple[Path, Path]:
    """Customers who join over 18 months; each buys in its first month, then each
    later month with a chance that fades the longer since they joined, so cohorts
    look like a shop's: a steep first drop, then a slow tail."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    customers = workdir / "customers.csv"
    orders = workdir / "orders.csv"
    with (
        customers.open("w", newline="", encoding="utf-8") as c,
        orders.open("w", newline="", encoding="utf-8") as o,
    ):
        cw, ow = csv.writer(c), csv.writer(o)
        cw.writerow(["external_id", "name", "email"])
        ow.writerow(["external_id", "customer", "amount", "placed_at", "channel"])
        n = 0
        for joined_ago in range(17, -1, -1):
            for i in range(rng.randint(40, 70)):
                member = f"m-{joined_ago:02d}-{i:03d}"
                cw.writerow([member, f"会员 {joined_ago}-{i}", f"{member}@example.com"])
                loyal = rng.random() < 0.3
                for month in range(joined_ago, -1, -1):
                    since = joined_ago - month
                    chance = 1.0 if since == 0 else (0.55 if loyal else 0.18) / (1 + 0.15 * since)
                    if rng.random() >= chance:
                        continue
                    placed = now - timedelta(
                        days=month * 30 + rng.randint(0, 29), minutes=rng.randint(0, 1440)
                    )
                    if placed >= now:
                        continue
                    n += 1
                    amount = rng.choice([59, 89, 128, 199, 268, 399, 688]) * (2 if loyal else 1)
                    ow.writerow(
                        [f"o-{n}", member, f"{amount}.00", placed.isoformat(), rng.choice(CHANNELS)]
                    )
    return customers, orders


def loyalty(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_TIMEZONE": ZONE}
    subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL
    )


async def prepare(url: str) -> str:
    database = Database.connect(url)
    try:
        await seed_if_empty(database, phone_region="CN")
        service = ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock())
        return (await service.create(CreateApiKey("screenshots", Role.ANALYST))).secret
    finally:
        await database.dispose()


async def shoot(api: str, key: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 760})
            await page.goto(f"{api}/console#/overview")
            await page.fill("#key", key)
            await page.press("#key", "Enter")
            await page.wait_for_selector("main[data-ready='overview'] .card")
            await page.select_option("#preset", "last90")
            await page.wait_for_selector("#cards[aria-busy='false']")
            await page.set_viewport_size({"width": 1280, "height": 900})
            await page.wait_for_timeout(300)  # the chart's first frame at the new size
            await page.screenshot(path=str(IMAGES / "console-overview.png"))
            await page.click("nav a[href='#/customers']")
            await page.wait_for_selector("main[data-ready='customers'] #rfm-grid")
            await page.wait_for_timeout(300)  # the charts' first frame
            await page.locator("section:has(#rfm-grid)").screenshot(
                path=str(IMAGES / "console-rfm.png")
            )
            await page.locator("section:has(canvas) >> nth=1").screenshot(
                path=str(IMAGES / "console-cohorts.png")
            )
        finally:
            await browser.close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = f"sqlite+aiosqlite:///{workdir / 'shop.db'}"
        upgrade(url)
        key = asyncio.run(prepare(url))
        customers, orders = history(workdir)
        loyalty(url, "import", "customers", str(customers))
        loyalty(url, "import", "orders", str(orders))
        settings = Settings(DATABASE_URL=url, LOYALTY_TIMEZONE=ZONE)
        with serving(create_app(settings)) as api:
            asyncio.run(shoot(api, key))
    for name in ("overview", "rfm", "cohorts"):
        path = IMAGES / f"console-{name}.png"
        print(f"{path.relative_to(IMAGES.parents[1])}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
