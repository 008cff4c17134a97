"""The README's console screenshots (docs/images/console-*.png), taken from a made-up
shop with a year and a half of history, so the cohort heat map and the RFM grid have
something to show (the `make run` demo has four customers).

    make browser && .venv/bin/python -m scripts.console_screenshots

It builds a throwaway SQLite database in a temporary folder: migrates it, seeds the
demo program (tiers, rewards), writes customers and orders to CSV files and loads them
with `loyalty import` (the same path a shop's history takes), then serves the API,
starts a two-variant journey that tags the customers who order again (its runs made
by the worker, its messages' sends and opens reported as a sending system would),
signs the console in with an ANALYST key and saves four PNGs at 1280 px wide.
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

import httpx

from api.app import create_app
from api.demo import seed_if_empty
from api.settings import Settings
from api.worker import Worker
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


async def prepare(url: str) -> tuple[str, str]:
    """The demo program and two keys: an analyst's for the console, an admin's for
    the journey."""
    database = Database.connect(url)
    try:
        await seed_if_empty(database, phone_region="CN")
        service = ApiKeyService(lambda: SqlUnitOfWork(database), SystemClock())
        analyst = (await service.create(CreateApiKey("screenshots", Role.ANALYST))).secret
        admin = (await service.create(CreateApiKey("screenshots admin", Role.ADMIN))).secret
        return analyst, admin
    finally:
        await database.dispose()


JOURNEY = """mutation($input: JourneyCreateInput!) { journeyCreate(input: $input) {
  journey { id } userErrors { field message } } }"""
ACTIVATE = """mutation($id: ID!) { journeyActivate(input: {id: $id}) {
  journey { id } userErrors { field message } } }"""
AUDIENCE = """query($id: ID!) { journey(id: $id) { campaign { id
  audience(first: 100) { nodes { arm customer { externalId } } } } } }"""
ORDER = """mutation($input: OrderRecordInput!) { orderRecord(input: $input) {
  userErrors { field message } } }"""
TOUCH = """mutation($inputs: [TouchpointInput!]!) { touchpointsRecord(inputs: $inputs) {
  userErrors { field message } } }"""


async def journey(api: str, admin: str, url: str, members: list[str], seed: int = 18) -> None:
    """A journey on `order.recorded` for repeat buyers; 80 members order again, the
    worker makes the runs; the sending system reports sends and some opens, and some
    customers order once more within the attribution window."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {admin}"}
    ) as http:

        async def gql(query: str, variables: dict) -> dict:
            body = await http.post("/graphql", json={"query": query, "variables": variables})
            data = body.json()
            assert not data.get("errors"), data
            return data["data"]

        created = await gql(
            JOURNEY,
            {
                "input": {
                    "name": "复购感谢 Thank-you",
                    "trigger": {"eventType": "order.recorded"},
                    "condition": "orders_count >= 2",
                    "variants": [
                        {"name": "A", "actions": [{"kind": "ADD_TAG", "tag": "thanked-a"}]},
                        {"name": "B", "actions": [{"kind": "ADD_TAG", "tag": "thanked-b"}]},
                    ],
                    "holdoutShare": "0.2",
                }
            },
        )
        journey_id = created["journeyCreate"]["journey"]["id"]
        await gql(ACTIVATE, {"id": journey_id})
        buyers = rng.sample(members, 80)
        now = datetime.now(UTC)
        for n, member in enumerate(buyers):
            placed = (now - timedelta(hours=3)).isoformat()
            order = {
                "externalId": f"j-{n}",
                "customer": {"externalId": member},
                "amount": "128.00",
                "currency": "CNY",
                "placedAt": placed,
            }
            recorded = await gql(ORDER, {"input": order})
            assert recorded["orderRecord"]["userErrors"] == [], recorded
        database = Database.connect(url)
        worker = Worker(database, Settings(DATABASE_URL=url), daily=False, name="screenshots")
        try:
            await worker.run_once()
        finally:
            await worker.close()
            await database.dispose()
        campaign = (await gql(AUDIENCE, {"id": journey_id}))["journey"]["campaign"]
        at = datetime.now(UTC)
        # Every second customer opens; one in three of B, one in five of A and one in
        # eight of the holdout buy again.
        touches, again = [], []
        every = {"A": 5, "B": 3, "HOLDOUT": 8}
        for n, node in enumerate(campaign["audience"]["nodes"]):
            member, arm = node["customer"]["externalId"], node["arm"]
            if n % every[arm] == 0:
                again.append(member)
            if arm == "HOLDOUT":
                continue
            events = ["SENT", "DELIVERED"] + (["OPENED"] if n % 2 == 0 else [])
            touches += [
                {
                    "campaignId": campaign["id"],
                    "customer": {"externalId": member},
                    "variant": arm,
                    "event": event,
                    "at": at.isoformat(),
                    "idempotencyKey": f"{member}-{event}",
                }
                for event in events
            ]
        for first in range(0, len(touches), 100):
            await gql(TOUCH, {"inputs": touches[first : first + 100]})
        for n, member in enumerate(again):
            order = {
                "externalId": f"a-{n}",
                "customer": {"externalId": member},
                "amount": "199.00",
                "currency": "CNY",
                "placedAt": datetime.now(UTC).isoformat(),
            }
            recorded = await gql(ORDER, {"input": order})
            assert recorded["orderRecord"]["userErrors"] == [], recorded


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
            await page.click("nav a[href='#/journeys']")
            await page.wait_for_selector("main[data-ready='journeys'] #funnel-table")
            await page.wait_for_timeout(300)  # the chart's first frame
            await page.locator("#journey").screenshot(path=str(IMAGES / "console-journeys.png"))
        finally:
            await browser.close()


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = f"sqlite+aiosqlite:///{workdir / 'shop.db'}"
        upgrade(url)
        key, admin = asyncio.run(prepare(url))
        customers, orders = history(workdir)
        loyalty(url, "import", "customers", str(customers))
        loyalty(url, "import", "orders", str(orders))
        with customers.open(encoding="utf-8") as c:
            members = [row["external_id"] for row in csv.DictReader(c)]
        settings = Settings(DATABASE_URL=url, LOYALTY_TIMEZONE=ZONE)
        with serving(create_app(settings)) as api:
            asyncio.run(journey(api, admin, url, members))
            asyncio.run(shoot(api, key))
    for name in ("overview", "rfm", "cohorts", "journeys"):
        path = IMAGES / f"console-{name}.png"
        print(f"{path.relative_to(IMAGES.parents[1])}: {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
