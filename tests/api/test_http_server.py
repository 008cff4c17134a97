"""The app behind a real HTTP server (uvicorn), where transport details matter."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings

BODY_LIMIT = 10_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[str]:
    """uvicorn in a thread with its own event loop; yields the base URL."""
    settings = Settings(DATABASE_URL=database_url, LOYALTY_MAX_BODY_BYTES=BODY_LIMIT)
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)  # waiting for the port to open, not timing anything
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)


async def test_healthz_checks_the_database(server):
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_body_over_the_limit_is_413_json(server):
    query = "{ __typename }" + " " * BODY_LIMIT
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.post("/graphql", json={"query": query})
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
            yield b'{"query": "{ __typename }", "pad": "'
            for _ in range(BODY_LIMIT // 1000 + 1):
                yield b"x" * 1000
            yield b'"}'

        streamed = await http.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json() == response.json()

        small = await http.post("/graphql", json={"query": "{ __typename }"})
        assert small.status_code == 200
        assert small.json() == {"data": {"__typename": "Query"}}


async def test_unknown_path_and_method_are_json(server):
    async with httpx.AsyncClient(base_url=server) as http:
        missing = await http.get("/nope")
        wrong_method = await http.put("/graphql")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/json")
    assert missing.json() == {"error": "Not Found"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"].startswith("application/json")


async def test_no_key_over_http_is_200_with_unauthenticated(server):
    async with httpx.AsyncClient(base_url=server) as http:
        response = await http.post("/graphql", json={"query": "{ customers { totalCount } }"})
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_malformed_requests_are_json_client_errors(server):
    async with httpx.AsyncClient(base_url=server) as http:
        not_json = await http.post(
            "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        no_query = await http.post("/graphql", json={"variables": {}})
        form = await http.post("/graphql", content=b"q=1", headers={"Content-Type": "text/plain"})
    for response in (not_json, no_query, form):
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert not_json.json()["errors"][0]["message"] == "Unable to parse request body as JSON"
