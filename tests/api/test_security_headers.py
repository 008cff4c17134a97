"""Security headers on every answer, the offline GraphiQL page under a strict policy,
no server banner, and one short log line per refused credential."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
from click.testing import CliRunner
from graphql import GraphQLError

from api.app import create_app
from api.cli import main
from api.http.auth_log import OneLineAuthFailures
from api.settings import Settings
from tests.api.live_server import serving

BASELINE = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def assert_baseline(response: httpx.Response) -> None:
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "content-security-policy" in response.headers


async def test_every_kind_of_answer_has_the_headers(client):
    answers = [
        await client.post("/graphql", json={"query": "{ __typename }"}),
        await client.post("/graphql", json={"query": "{ customers { totalCount } }"}),
        await client.post(
            "/graphql", content=b"null", headers={"Content-Type": "application/json"}
        ),
        await client.post(
            "/graphql", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"}
        ),
        await client.get("/healthz"),
        await client.get("/nope"),
        await client.put("/graphql"),
        await client.options(
            "/graphql",
            headers={"Origin": "https://x.test", "Access-Control-Request-Method": "POST"},
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 400, 413, 200, 404, 405, 400]
    for answer in answers:
        assert_baseline(answer)
    assert (
        answers[0].headers["content-security-policy"]
        == "default-src 'none'; frame-ancestors 'none'"
    )


async def test_429_has_the_headers(database, database_url):
    settings = Settings(DATABASE_URL=database_url, LOYALTY_RATE_LIMIT_ANONYMOUS="1/minute")
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        await http.post("/graphql", json={"query": "{ __typename }"})
        limited = await http.post("/graphql", json={"query": "{ __typename }"})
    assert limited.status_code == 429
    assert_baseline(limited)


class Assets(HTMLParser):
    """Every URL the page loads and whether it has inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if found.get("src"):
                self.urls.append(found["src"])
            else:
                self.inline_scripts += 1
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])
        if tag == "style" or "style" in found or any(name.startswith("on") for name in found):
            self.inline_styles += 1


async def test_graphiql_loads_only_same_origin_assets_under_a_strict_policy(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert_baseline(page)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert not re.search(r"https?://", policy)

    parsed = Assets()
    parsed.feed(page.text)
    assert parsed.inline_scripts == 0 and parsed.inline_styles == 0
    assert len(parsed.urls) >= 5
    kinds = {"js": "javascript", "css": "text/css"}
    for url in parsed.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert kinds[url.rsplit(".", 1)[1]] in asset.headers["content-type"]
        assert len(asset.content) > 20
    start = await client.get("/graphiql/start.js")
    assert '"Bearer <key>"' in start.text and "defaultHeaders" in start.text


async def test_graphiql_is_not_served_in_production(database, database_url):
    settings = Settings(
        DATABASE_URL=database_url, LOYALTY_ENV="production", LOYALTY_SECRET_KEY="s" * 40
    )
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/graphql", headers={"Accept": "text/html"})).status_code == 404
        assert (await http.get("/graphiql/start.js")).status_code == 404


def test_loyalty_serve_sends_no_server_banner(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **options: seen.update(options))
    result = CliRunner().invoke(main, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["server_header"] is False


def test_no_server_banner_over_http(database_url):
    app = create_app(Settings(DATABASE_URL=database_url))
    with serving(app, server_header=False) as base_url:
        response = httpx.get(f"{base_url}/healthz")
    assert response.status_code == 200
    assert "server" not in response.headers
    assert "date" in response.headers
    assert_baseline(response)


async def test_a_bad_key_writes_one_short_log_line(client, caplog):
    query = {"query": "{ customers { totalCount } forbidden: apiKeys { id } }"}
    with caplog.at_level(logging.INFO):
        answer = await client.post(
            "/graphql", json=query, headers={"Authorization": "Bearer lg_not-a-key"}
        )
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    records = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert records, "the refusal is still logged"
    for record in records:
        text = record.getMessage()
        assert record.levelno == logging.WARNING
        assert record.exc_info is None and record.exc_text is None
        assert text.startswith("UNAUTHENTICATED: Unknown API key.")
        assert "\n" not in text and len(text) < 200
    formatted = "\n".join(logging.Formatter().format(r) for r in records)
    assert "Traceback" not in formatted


def test_other_errors_keep_their_traceback():
    """Only auth refusals are shortened: a bug still logs its cause."""
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = GraphQLError("boom", original_error=exc)
        record = logging.LogRecord(
            "strawberry.execution",
            logging.ERROR,
            __file__,
            1,
            error,
            None,
            (ValueError, exc, exc.__traceback__),
        )
    assert OneLineAuthFailures().filter(record)
    assert record.exc_info is not None and record.levelno == logging.ERROR
