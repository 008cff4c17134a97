"""CORS: origins from LOYALTY_CORS_ORIGINS, preflights answered, none allowed by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings

SHOP = "https://shop.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
async def shop_api(database, database_url) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        DATABASE_URL=database_url, LOYALTY_CORS_ORIGINS=f"{SHOP}, http://localhost:5173/"
    )
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        yield http


async def test_preflight_from_an_allowed_origin(shop_api):
    response = await shop_api.options("/graphql", headers={"Origin": SHOP, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type"} <= allowed
    assert "access-control-allow-credentials" not in response.headers
    assert int(response.headers["access-control-max-age"]) > 0


async def test_a_trailing_slash_in_the_setting_is_forgiven(shop_api):
    origin = "http://localhost:5173"
    response = await shop_api.options("/graphql", headers={"Origin": origin, **PREFLIGHT})
    assert response.headers["access-control-allow-origin"] == origin


async def test_request_from_an_allowed_origin_can_be_read(shop_api):
    response = await shop_api.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": SHOP}
    )
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()


async def test_other_origins_are_refused(shop_api):
    evil = "https://shop.example.com.evil.test"
    preflight = await shop_api.options("/graphql", headers={"Origin": evil, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    simple = await shop_api.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": evil}
    )
    assert "access-control-allow-origin" not in simple.headers


async def test_no_origin_is_allowed_by_default(client):
    preflight = await client.options("/graphql", headers={"Origin": SHOP, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    plain = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": SHOP}
    )
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers


@pytest.mark.parametrize(
    "value", ["shop.example.com", "https://shop.example.com/app", "ftp://x.test"]
)
def test_an_origin_that_is_not_one_names_the_setting(value):
    with pytest.raises(ValidationError, match="LOYALTY_CORS_ORIGINS"):
        Settings(LOYALTY_CORS_ORIGINS=value)


def test_origins_are_comma_separated():
    settings = Settings(LOYALTY_CORS_ORIGINS=" https://a.test ,https://b.test:8443,, ")
    assert settings.cors_origins == ["https://a.test", "https://b.test:8443"]
    assert Settings().cors_origins == []
