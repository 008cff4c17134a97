"""The operator console at /console, in Debian's Chromium through Playwright: it signs
in with an ANALYST key, shows on each screen the figures the API gives for the same
question, underlines a rule's error at the column the parser names, and loads nothing
from outside this machine. Halfway through, the prediction model is fitted and the
worker runs an e-mailing journey on real orders (a local SMTP server takes the mail),
so the Journeys screen and the customer page show runs, a funnel, lots, a message and
predictions to compare with the API's. One browser
and one page walk every screen; each screen's screenshot is kept under
.artifacts/console/.

Plus plain HTTP checks (no browser): the page's content type and policy, its assets
all same-origin, and the address `loyalty serve` prints.

Needs `make browser` for the browser test; skipped, saying so, only when Chromium or
the Playwright client is absent.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from api.app import create_app
from api.cli import main
from api.demo import seed_if_empty
from api.http.console import ASSETS
from api.settings import Settings
from api.worker import Worker
from domain.access import Role
from domain.predictions.service import fit_and_store
from persistence.database import Database
from persistence.unit_of_work import SqlUnitOfWork
from tests.api.campaign_calls import (
    audience,
    new_campaign,
    new_segment,
    order,
    record_touchpoints,
    start,
    touch,
)
from tests.api.ledger_calls import order_input
from tests.api.live_server import serving
from tests.conftest import GraphQLClient, make_key
from tests.event_horizon import settle
from tests.messaging_providers import provider_settings, smtp_server
from tests.predictions_history import random_orders

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "console"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

OVERVIEW = """query($period: PeriodInput!) {
  metrics(period: $period) { current {
    buyers orders revenue { amount } repeatPurchaseRate retentionRate pointsLiability
  } }
}"""
RFM = "{ rfmSummary { classes { class count revenue { amount } } } }"
COHORTS = "query($from: DateTime!, $to: DateTime!) { cohorts(from: $from, to: $to) { month size } }"
PREVIEW = """query($rule: String!) { segmentPreview(rule: $rule) { errors { line column offset length } } }"""
BAD_RULE = "lifecycle = ACTIVE AND orders_count >= 1 AND spent_everything > 3"
JOURNEY_CREATE = """mutation($input: JourneyCreateInput!) {
  journeyCreate(input: $input) { journey { id } userErrors { field code message } } }"""
JOURNEY_ACTIVATE = """mutation($id: ID!) {
  journeyActivate(input: {id: $id}) { journey { campaign { id } } userErrors { field code } } }"""
JOURNEY = """query($id: ID!) { journey(id: $id) { name status
  runTallies { status reason runs } campaign {
  funnel { arm audience sent delivered opened clicked addedToCart ordered attributedOrders
    attributedRevenue { amount } }
  abTest { verdict comparisons { liftCiLow liftCiHigh } } } } }"""
TEMPLATE_CREATE = """mutation { messageTemplateCreate(input: {name: "thank-you e-mail",
  channel: EMAIL, subject: "谢谢你，{{ name }}", body: "Thank you for your order, {{ name }}."}) {
  template { id } userErrors { field code message } } }"""
CONSENT = """mutation($id: ID!) { consentUpdate(input: {customerId: $id, channel: EMAIL,
  granted: true, source: "checkout"}) { userErrors { field code } } }"""
CUSTOMER = """query($id: String!) { customer(externalId: $id) { ordersCount
  points { lots(first: 20) { totalCount nodes { points remaining state } } }
  journeyRuns(first: 20) { totalCount nodes { arm status journey { name } } }
  messages(first: 5) { nodes { status channel outcomes { outcome } } }
  prediction { pAlive predictedClv(days: 365) { amount } } } }"""
FUNNEL_STEPS = ("audience", "sent", "delivered", "opened", "clicked", "addedToCart", "ordered")


def number(text: str) -> Decimal:
    """The figure in a card or cell as shown ("CN¥2,703.40", "33.3%", "1,204")."""
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in attrs if name in {"src", "href"} and value]
        self.style_attributes += "style" in found
        self._in_script = tag == "script" and "src" not in found

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


async def test_console_page_is_served_with_its_policy_and_same_origin_assets(client):
    page = await client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"

    links = Links()
    links.feed(page.text)
    assert links.inline_scripts == 0 and links.style_attributes == 0
    assert all(urlsplit(url).netloc == "" for url in links.urls), links.urls
    for url in links.urls:
        if url.startswith("#"):
            continue
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
    script = await client.get("/console/assets/app.js")
    assert script.headers["content-type"].split(";")[0] in {
        "text/javascript",
        "application/javascript",
    }
    assert (
        (await client.get("/console/assets/console.css"))
        .headers["content-type"]
        .startswith("text/css")
    )
    assert (await client.get("/console/")).headers["location"].endswith("/console")
    charts = await client.get("/console/assets/echarts.min.js", headers={"Accept-Encoding": "gzip"})
    assert charts.headers["content-encoding"] == "gzip"
    assert charts.num_bytes_downloaded < len(charts.content) / 2

    # Our own modules and styles name no host at all; ECharts names only XML
    # namespaces and its licence, which are identifiers, never fetched.
    ours = [p for p in ASSETS.rglob("*") if p.suffix in {".js", ".css", ".html"}]
    ours = [p for p in ours if p.name != "echarts.min.js"]
    assert len(ours) >= 10
    for path in ours:
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path
    named = set(re.findall(r"https?://[^\s\"'()]+", (ASSETS / "echarts.min.js").read_text()))
    assert {urlsplit(u).netloc for u in named} <= {"www.w3.org", "www.apache.org", "github.com"}
    assert "Apache License" in (ASSETS / "LICENSE.echarts").read_text()


async def test_console_is_served_in_production_too(database, database_url):
    settings = Settings(
        DATABASE_URL=database_url,
        LOYALTY_ENV="production",
        LOYALTY_SECRET_KEY="a-production-secret-that-is-long-enough-0123456789",
    )
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/console")).status_code == 200
        assert (await http.get("/console/assets/echarts.min.js")).status_code == 200
        assert (await http.get("/graphiql/start.js")).status_code == 404


@pytest.mark.parametrize("production", [False, True])
def test_loyalty_serve_prints_the_console_beside_graphiql(monkeypatch, production):
    monkeypatch.setattr("uvicorn.run", lambda app, **options: None)
    settings = Settings(
        DATABASE_URL="sqlite+aiosqlite:///./unused.db",
        LOYALTY_ENV="production" if production else "development",
        LOYALTY_SECRET_KEY="a-production-secret-that-is-long-enough-0123456789",
    )
    monkeypatch.setattr("api.cli.get_settings", lambda: settings)
    result = CliRunner().invoke(main, ["serve", "--port", "8123", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "  Console:   http://127.0.0.1:8123/console" in result.output
    assert ("GraphiQL:  http://127.0.0.1:8123/graphql" in result.output) is not production


async def seed(api: str, database, database_url) -> tuple[str, str]:  # noqa: ANN001
    """The demo program, a saved segment and a started A/B campaign with a few sends;
    returns an admin and an analyst key."""
    assert await seed_if_empty(database, phone_region="CN")
    admin = await make_key(database, Role.ADMIN)
    analyst = await make_key(database, Role.ANALYST)
    async with httpx.AsyncClient(base_url=api) as http:
        gql = GraphQLClient(http, admin)
        segment = await new_segment(gql, "Buyers", "orders_count >= 1")
        now = datetime.now(UTC)
        campaign = await new_campaign(gql, segment, now - timedelta(hours=1), holdoutShare="0")
        await start(gql, campaign["id"])
        arms = await audience(gql, campaign["id"])
        sends = [
            touch(campaign["id"], external_id, arm, "SENT", datetime.now(UTC), f"s-{n}")
            for n, (external_id, arm) in enumerate(sorted(arms.items()))
        ]
        recorded = await record_touchpoints(gql, sends)
        assert all(not r["userErrors"] for r in recorded["results"]), recorded
    return admin, analyst


pytestmark_browser = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed: run `make browser`"
)


@pytestmark_browser
async def test_the_console_shows_what_the_api_answers(database, database_url):
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="the Playwright client is not installed: run `make browser`"
    )
    settings = Settings(DATABASE_URL=database_url, LOYALTY_API_KEY_CACHE_SECONDS=0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serving(create_app(settings)) as api:
        admin, analyst = await seed(api, database, database_url)
        async with httpx.AsyncClient(base_url=api) as http:
            gql = GraphQLClient(http, analyst)
            async with playwright_api.async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
                )
                try:
                    context = await browser.new_context(viewport={"width": 1280, "height": 900})
                    outside: list[str] = []

                    async def local_only(route):  # noqa: ANN001, ANN202
                        if urlsplit(route.request.url).hostname == "127.0.0.1":
                            await route.continue_()
                        else:
                            outside.append(route.request.url)
                            await route.abort()

                    await context.route("**/*", local_only)
                    page = await context.new_page()
                    problems: list[str] = []
                    page.on(
                        "console",
                        lambda m: (
                            problems.append(m.text) if m.type in {"error", "warning"} else None
                        ),
                    )
                    page.on("pageerror", lambda e: problems.append(str(e)))
                    calls: list[str] = []
                    page.on("request", lambda r: calls.append(urlsplit(r.url).path))
                    storefront = await make_key(database, Role.STOREFRONT)
                    admin_gql = GraphQLClient(http, admin)
                    await walk(
                        page, api, gql, analyst, storefront, admin_gql, database, database_url
                    )
                finally:
                    await browser.close()
    assert outside == [], "the console must load nothing from outside this machine"
    assert problems == [], problems
    # A reference client of the public API: every request but the page's own files
    # is POST /graphql.
    assert {p for p in calls if not p.startswith("/console")} == {"/graphql"}
    screens = ("overview", "trends", "customers", "segments", "campaigns", "journeys", "customer")
    for screen in screens:
        assert (ARTIFACTS / f"{screen}.png").stat().st_size > 10_000


async def shot(page, name: str) -> None:  # noqa: ANN001
    await page.wait_for_selector(f"main[data-ready='{name}']")
    await page.wait_for_timeout(0)  # lets the charts' first frame draw
    await page.evaluate("() => new Promise((r) => requestAnimationFrame(() => r()))")
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


BULK = """mutation($inputs: [OrderRecordInput!]!) { ordersRecordBulk(inputs: $inputs) {
  results { userErrors { code } } userErrors { code } } }"""


async def journey_and_fit(admin: GraphQLClient, database: Database, database_url: str) -> str:
    """The prediction model fitted on a purchase history of forty more buyers (the
    demo's three are too few to fit); then a two-variant journey on `order.recorded`
    that e-mails and tags, activated, and orders that the worker turns into runs and
    messages (李娜's e-mail reaches a local SMTP server; the buyers have no address),
    an open, and an order the journey is credited with. Returns the journey's id."""
    history = [
        order_input(f"h-{i}", amount, customer=f"buyer-{n:02}", placed_at=at.isoformat())
        for i, (n, at, amount) in enumerate(random_orders())
    ]
    for first in range(0, len(history), 100):
        done = (await admin(BULK, {"inputs": history[first : first + 100]}))["ordersRecordBulk"]
        assert all(r["userErrors"] == [] for r in done["results"]), done
    now = datetime.now(UTC)
    fitted = await fit_and_store(lambda: SqlUnitOfWork(database), now, now)
    assert fitted.converged, fitted.message

    template = (await admin(TEMPLATE_CREATE))["messageTemplateCreate"]
    assert template["userErrors"] == [], template
    email = {"kind": "SEND_MESSAGE", "templateIds": [template["template"]["id"]]}
    given = {
        "name": "下单感谢 Thank-you",
        "trigger": {"eventType": "order.recorded"},
        "variants": [
            {"name": "A", "actions": [email, {"kind": "ADD_TAG", "tag": "thanked-a"}]},
            {"name": "B", "actions": [email, {"kind": "ADD_TAG", "tag": "thanked-b"}]},
        ],
        "holdoutShare": "0.2",
        "condition": "orders_count >= 2",
    }
    created = (await admin(JOURNEY_CREATE, {"input": given}))["journeyCreate"]
    assert created["userErrors"] == [], created
    journey_id = created["journey"]["id"]
    activated = (await admin(JOURNEY_ACTIVATE, {"id": journey_id}))["journeyActivate"]
    assert activated["userErrors"] == [], activated
    campaign_id = activated["journey"]["campaign"]["id"]
    li_na = (await admin('{ customer(externalId: "demo-0001") { id } }'))["customer"]["id"]
    assert (await admin(CONSENT, {"id": li_na}))["consentUpdate"]["userErrors"] == []

    # Orders from the activation on start runs: 李娜's and eight buyers' act; a first
    # order's run is skipped (the condition is false).
    entering = ["demo-0001"] + [f"buyer-{n:02}" for n in range(8)]
    for external_id in [*entering, "walk-in"]:
        await order(admin, f"{external_id}-thanks", external_id, "66.00", now - timedelta(hours=2))
    await settle(database)  # PostgreSQL shows the orders' events once older writes end
    with smtp_server() as mailbox:
        settings = Settings(DATABASE_URL=database_url, **provider_settings(mailbox, None))
        worker = Worker(database, settings, name="console-test", daily=False)
        try:
            await worker.run_once()
        finally:
            await worker.close()
    arms = await audience(admin, campaign_id)
    assert set(arms) == set(entering)
    # The arm hash of this campaign and customer puts her in a variant: she is e-mailed.
    assert arms["demo-0001"] != "HOLDOUT"
    assert [envelope.rcpt_tos for envelope, _ in mailbox.messages] == [["li.na@example.com"]]

    # Her mail client reports the open; she orders again: the journey's order.
    opened = touch(campaign_id, "demo-0001", arms["demo-0001"], "OPENED", datetime.now(UTC), "o1")
    recorded = await record_touchpoints(admin, [opened])
    assert all(not r["userErrors"] for r in recorded["results"]), recorded
    await order(admin, "demo-0001-after", "demo-0001", "188.00", datetime.now(UTC))
    return journey_id


async def walk(  # noqa: PLR0913, PLR0915
    page,  # noqa: ANN001
    api: str,
    gql: GraphQLClient,
    key: str,
    storefront: str,
    admin: GraphQLClient,
    database: Database,
    database_url: str,
) -> None:
    # Sign-in: a wrong key is refused, a storefront key cannot read metrics (neither
    # is kept); the analyst key opens the console.
    await page.goto(f"{api}/console")
    await page.fill("#key", "lg_not-a-key")
    await page.press("#key", "Enter")
    await page.wait_for_selector("#signin-error:has-text('refused')")
    await page.fill("#key", storefront)
    await page.press("#key", "Enter")
    await page.wait_for_selector("#signin-error:has-text('ADMIN or ANALYST')")
    assert await page.evaluate("() => sessionStorage.length") == 0
    await page.fill("#key", key)
    await page.press("#key", "Enter")

    # Overview: every card against metrics() for the very period the page asked.
    await page.wait_for_selector("main[data-ready='overview'] .card")
    cards = page.locator("#cards")
    period = {
        "from": await cards.get_attribute("data-from"),
        "to": await cards.get_attribute("data-to"),
    }
    current = (await gql(OVERVIEW, {"period": period}))["metrics"]["current"]
    assert current["orders"] > 0

    async def card(metric: str) -> str:
        return await page.text_content(f".card[data-metric='{metric}'] .value")

    assert number(await card("buyers")) == current["buyers"]
    assert number(await card("orders")) == current["orders"]
    assert number(await card("revenue")) == Decimal(current["revenue"]["amount"])
    assert number(await card("pointsLiability")) == current["pointsLiability"]
    for rate in ("repeatPurchaseRate", "retentionRate"):
        expected = current[rate]
        shown = await card(rate)
        assert (
            shown == "—"
            if expected is None
            else number(shown) == round(Decimal(str(expected)) * 100, 1)
        )
    assert "vs" in (await page.get_attribute(".card .delta", "title") or "")
    await shot(page, "overview")

    # The language toggle relabels in Chinese, keeping the figures.
    await page.click("#lang")
    await page.wait_for_selector(
        "main[data-ready='overview'] .card[data-metric='repeatPurchaseRate'] h2:has-text('复购率')"
    )
    assert await page.text_content(".card[data-metric='pointsLiability'] h2") == "积分负债"
    assert await page.text_content(".card .delta .k") == "环比"
    assert number(await card("orders")) == current["orders"]
    await page.screenshot(path=str(ARTIFACTS / "overview-zh.png"))
    await page.click("#lang")

    # Trends, reached by keyboard: Tab to its link (focus ring visible), Enter.
    for _ in range(10):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.getAttribute('href')") == "#/trends":
            break
    ring = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"
    await page.keyboard.press("Enter")
    await page.wait_for_selector("main[data-ready='trends'] #breakdown-table")
    assert await page.locator("canvas").count() >= 3
    assert "demo" in await page.text_content("#breakdown-table")
    await shot(page, "trends")

    # Customers: the RFM grid and the cohort sizes as the API gives them.
    await page.click("nav a[href='#/customers']")
    await page.wait_for_selector("main[data-ready='customers'] #rfm-grid")
    for row in (await gql(RFM))["rfmSummary"]["classes"]:
        cell = page.locator(f"#rfm-grid td[data-class='{row['class']}']")
        assert number(await cell.locator(".rfm-count").text_content()) == row["count"]
        assert number(await cell.locator(".rfm-revenue").text_content()) == Decimal(
            row["revenue"]["amount"]
        )
    months = {
        "from": await page.get_attribute("#cohorts", "data-from"),
        "to": await page.get_attribute("#cohorts", "data-to"),
    }
    cohorts = (await gql(COHORTS, months))["cohorts"]
    shown = await page.eval_on_selector_all(
        "#cohort-table tbody tr",
        "rows => rows.map(r => [r.children[0].textContent, r.children[1].textContent])",
    )
    assert [(m, number(size)) for m, size in shown] == [
        (c["month"][:7], c["size"]) for c in cohorts
    ]
    assert sum(c["size"] for c in cohorts) == 3  # the demo's three buyers
    await shot(page, "customers")

    # Segments: the rule editor underlines the unknown field where the parser says.
    await page.click("nav a[href='#/segments']")
    await page.wait_for_selector("main[data-ready='segments'] #segment-table")
    assert "Buyers" in await page.text_content("#segment-table")
    await page.fill("#rule", BAD_RULE)
    error = (await gql(PREVIEW, {"rule": BAD_RULE}))["segmentPreview"]["errors"][0]
    column = BAD_RULE.index("spent_everything") + 1
    assert (error["line"], error["column"]) == (1, column)
    await page.wait_for_selector(f"#rule-errors li[data-column='{column}']")
    assert f"line 1, column {column}" in await page.text_content("#rule-errors")
    mark = page.locator("mark.rule-error")
    assert await mark.get_attribute("data-offset") == str(column - 1)
    assert await mark.text_content() == "spent_everything"
    assert await page.get_attribute("#rule", "aria-invalid") == "true"
    await shot(page, "segments")
    await page.fill("#rule", "orders_count >= 2")
    await page.wait_for_selector("#preview-count[data-count='2']")
    assert await page.locator("mark.rule-error").count() == 0

    # Campaigns: the funnel of each arm and the A/B verdict.
    await page.click("nav a[href='#/campaigns']")
    await page.wait_for_selector("main[data-ready='campaigns'] #funnel-table")
    table = await page.text_content("#funnel-table")
    assert "A" in table and "B" in table
    assert await page.text_content("#verdict strong") in {
        "Not enough data",
        "No difference",
        "A variant wins",
    }
    await shot(page, "campaigns")

    # Journeys: a journey run by its engine on real orders; its campaign's funnel per
    # arm, attributed revenue and verdict as the API gives them.
    journey_id = await journey_and_fit(admin, database, database_url)
    await page.click("nav a[href='#/journeys']")
    await page.wait_for_selector("main[data-ready='journeys'] #funnel-table")
    journey = (await gql(JOURNEY, {"id": journey_id}))["journey"]
    listed = page.locator("#journey-table tbody tr", has_text=journey["name"])
    assert "Active" in await listed.text_content()
    assert "order.recorded" in await listed.text_content()
    assert await listed.locator("a").get_attribute("aria-current") == "true"
    assert await page.text_content("#journey-name") == journey["name"]
    tallies = await page.eval_on_selector_all(
        "#tally-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    statuses = {"COMPLETED": "Completed", "HOLDOUT": "Holdout", "SKIPPED": "Skipped"}
    reasons = {None: "—", "CONDITION_FALSE": "condition not met"}  # codes in words
    assert tallies == [
        [statuses[t["status"]], reasons[t["reason"]], str(t["runs"])] for t in journey["runTallies"]
    ]
    assert ["Skipped", "condition not met", "1"] in tallies
    assert sum(t["runs"] for t in journey["runTallies"]) == 10
    assert number(await listed.locator("td").last.text_content()) == 10
    rows = await page.eval_on_selector_all(
        "#funnel-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    funnel = journey["campaign"]["funnel"]
    assert [r[0] for r in rows] == [arm["arm"] for arm in funnel]
    assert {arm["arm"] for arm in funnel} >= {"A", "B"}
    for shown, arm in zip(rows, funnel, strict=True):
        assert [number(v) for v in shown[1:8]] == [arm[s] for s in FUNNEL_STEPS]
        assert number(shown[9]) == arm["attributedOrders"]
        assert number(shown[10]) == Decimal(arm["attributedRevenue"]["amount"])
    assert sum(arm["audience"] for arm in funnel) == 9
    assert sum(arm["attributedOrders"] for arm in funnel) == 1
    verdict = journey["campaign"]["abTest"]["verdict"]
    labels = {"NOT_ENOUGH_DATA": "Not enough data", "NO_DIFFERENCE": "No difference"}
    assert await page.text_content("#verdict strong") == labels.get(verdict, "A variant wins")
    shown_intervals = await page.eval_on_selector_all(
        "#ab-table tbody tr", "rows => rows.map(r => r.children[2].textContent)"
    )
    comparisons = journey["campaign"]["abTest"]["comparisons"]
    assert len(shown_intervals) == len(comparisons)
    for text, c in zip(shown_intervals, comparisons, strict=True):
        assert (text == "—") == (c["liftCiLow"] is None)
    await shot(page, "journeys")
    await page.click("#lang")
    await page.wait_for_selector("main[data-ready='journeys'] h1:has-text('自动化旅程')")
    await page.wait_for_selector("#tally-table:has-text('已跳过')")
    assert "不满足条件" in await page.text_content("#tally-table")
    assert await page.text_content("#funnel-table thead") == (
        "分组目标人数已发送已送达已打开已点击已加购已下单转化率归因订单归因销售额相对对照组提升"
    )
    await page.screenshot(path=str(ARTIFACTS / "journeys-zh.png"), full_page=True)
    await page.click("#lang")
    await page.wait_for_selector("main[data-ready='journeys'] h1:has-text('Journeys')")

    # A customer: found by name, with their orders, point lots, journey runs, consent
    # and the fitted model's prediction, each as the API gives it.
    await page.click("nav a[href='#/customer']")
    await page.wait_for_selector("main[data-ready='customer'] #customer-table")
    await page.fill("#search", "李娜")
    await page.press("#search", "Enter")
    await page.wait_for_selector("#customer-table tbody tr:only-child")
    await page.click("#customer-table tbody a")
    await page.wait_for_selector("#orders-table")
    assert await page.text_content("#customer-name") == "李娜"
    li_na = (await gql(CUSTOMER, {"id": "demo-0001"}))["customer"]
    # The demo's three, the one that started her run and the one after the e-mail.
    assert li_na["ordersCount"] == 5
    assert await page.locator("#orders-table tbody tr").count() == 5

    lots = li_na["points"]["lots"]
    assert lots["totalCount"] == 5
    shown_lots = await page.eval_on_selector_all(
        "#lots-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    states = {"AVAILABLE": "Available", "PENDING": "Pending", "EXPIRED": "Expired"}
    assert [(number(r[2]), number(r[3]), r[4]) for r in shown_lots] == [
        (lot["points"], lot["remaining"], states[lot["state"]]) for lot in lots["nodes"]
    ]

    ledger_kinds = await page.eval_on_selector_all(
        "#ledger-table tbody tr", "rows => rows.map(r => r.children[1].textContent)"
    )
    assert ledger_kinds and set(ledger_kinds) <= {"Earned", "Bonus", "Redeemed", "Expired"}

    runs = li_na["journeyRuns"]
    assert runs["totalCount"] == 1
    shown_runs = await page.eval_on_selector_all(
        "#runs-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    [run] = runs["nodes"]
    [shown_run] = shown_runs
    assert shown_run[1:4] == [run["journey"]["name"], run["arm"], "order.recorded"]
    assert shown_run[4] == {"COMPLETED": "Completed", "HOLDOUT": "Holdout"}[run["status"]]
    assert "EMAIL" in await page.text_content("#consents-table")
    assert "granted" in await page.text_content("#consents-table")
    [message] = li_na["messages"]["nodes"]
    [shown_message] = await page.eval_on_selector_all(
        "#messages-table tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    assert shown_message[1:3] == [message["channel"], message["status"].capitalize()]
    assert [o["outcome"] for o in message["outcomes"]] == ["SENT"]
    assert shown_message[4].startswith("sent · EMAIL")

    prediction = li_na["prediction"]
    assert prediction is not None
    assert number(await page.text_content("#p-alive")) == round(
        Decimal(str(prediction["pAlive"])) * 100, 1
    )
    assert number(await page.text_content("#predicted-clv")) == Decimal(
        prediction["predictedClv"]["amount"]
    ).quantize(Decimal("0.01"))
    await shot(page, "customer")

    # The run links to its journey.
    await page.click("#runs-table a")
    await page.wait_for_selector("main[data-ready='journeys'] #tally-table")
    assert await page.text_content("#journey-name") == journey["name"]
