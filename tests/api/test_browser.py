"""In a real browser (Debian's Chromium through Playwright): a shop page on another
origin calls the API with a customer token through CORS, a page on an unlisted origin
cannot read the answer, and GraphiQL renders with no network but this machine's.

Needs `make browser` (Chromium from apt, the Playwright client from PyPI); skipped,
saying so, only when Chromium is absent. The GraphiQL screenshot is kept at
.artifacts/browser/graphiql.png.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.app import create_app
from api.settings import Settings
from domain.access import Role
from tests.api.live_server import free_port, serving
from tests.conftest import make_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is not installed: run `make browser`"
)
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Playwright client is not installed: run `make browser`"
)

UPSERT = """mutation { customerUpsert(input: {externalId: "web-1", email: "web@example.com"}) { customer { id } } }"""
TOKEN = """mutation($id: ID!) { customerTokenCreate(input: {customerId: $id, ttlSeconds: 600}) { token } }"""
SHOP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>shop</title></head>
<body><pre id="out">waiting</pre><script src="/shop.js"></script></body></html>"""
SHOP_SCRIPT = """
fetch(%(api)s + "/graphql", {
  method: "POST",
  headers: {"Content-Type": "application/json", "Authorization": "Bearer " + %(token)s},
  body: JSON.stringify({query: "{ me { id } }"}),
})
  .then((response) => response.json())
  .then((body) => { document.getElementById("out").textContent = JSON.stringify(body); })
  .catch((error) => { document.getElementById("out").textContent = "blocked: " + error; });
"""


def shop(api: str, token: str) -> Starlette:
    """A storefront's page, served from its own origin."""
    script = SHOP_SCRIPT % {"api": json.dumps(api), "token": json.dumps(token)}

    async def page(request):  # noqa: ANN001, ANN202
        return HTMLResponse(SHOP_PAGE)

    async def code(request):  # noqa: ANN001, ANN202
        return Response(script, media_type="text/javascript")

    return Starlette(routes=[Route("/", page), Route("/shop.js", code)])


async def customer_token(api: str, admin_key: str) -> tuple[str, str]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=api, headers=headers) as http:
        upserted = (await http.post("/graphql", json={"query": UPSERT})).json()
        customer_id = upserted["data"]["customerUpsert"]["customer"]["id"]
        minted = await http.post(
            "/graphql", json={"query": TOKEN, "variables": {"id": customer_id}}
        )
    return customer_id, minted.json()["data"]["customerTokenCreate"]["token"]


async def read_out(page) -> str:  # noqa: ANN001
    await page.wait_for_function("document.getElementById('out').textContent !== 'waiting'")
    return await page.text_content("#out")


async def test_a_shop_on_another_origin_calls_the_api_and_graphiql_renders_offline(
    database, database_url
):
    shop_port, other_port = free_port(), free_port()
    shop_origin = f"http://127.0.0.1:{shop_port}"
    settings = Settings(DATABASE_URL=database_url, LOYALTY_CORS_ORIGINS=shop_origin)
    admin_key = await make_key(database, Role.ADMIN)
    with serving(create_app(settings)) as api:
        customer_id, token = await customer_token(api, admin_key)
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 800})
                outside: list[str] = []

                async def local_only(route):  # noqa: ANN001, ANN202
                    if urlsplit(route.request.url).hostname in {"127.0.0.1", "localhost"}:
                        await route.continue_()
                    else:
                        outside.append(route.request.url)
                        await route.abort()

                await context.route("**/*", local_only)
                page = await context.new_page()

                with serving(shop(api, token), port=shop_port) as shop_url:
                    await page.goto(shop_url)
                    answer = json.loads(await read_out(page))
                assert answer == {"data": {"me": {"id": customer_id}}}

                with serving(shop(api, token), port=other_port) as other_url:
                    await page.goto(other_url)
                    assert (await read_out(page)).startswith("blocked:")

                problems: list[str] = []
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                await page.goto(f"{api}/graphql")
                await page.wait_for_selector(".graphiql-container .CodeMirror", state="visible")
                await page.wait_for_selector("text=Bearer <key>")
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
            finally:
                await browser.close()
    assert outside == [], "GraphiQL must load nothing from outside this machine"
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert (ARTIFACTS / "graphiql.png").stat().st_size > 10_000
