"""Browsers on the allowed origins (CORS_ALLOW_ORIGINS, default FRONTEND_URL's origin) may call the
API with credentials and read X-Request-ID; preflights are answered and cached; other origins get
no CORS headers at all."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import LOGIN, app_sharing_services

FRONTEND = "http://localhost:3000"
STRANGER = "https://evil.example"
TYPENAME = "{ __typename }"
PREFLIGHT_HEADERS = "content-type, authorization, x-request-id, apollo-require-preflight"


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": method,
        "access-control-request-headers": PREFLIGHT_HEADERS,
    }


async def test_a_preflight_from_the_frontend_is_allowed_with_credentials_and_cached(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/graphql", headers=preflight(FRONTEND))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert set(response.headers["access-control-allow-methods"].split(", ")) >= {"GET", "POST"}
    allowed = {name.strip() for name in response.headers["access-control-allow-headers"].split(",")}
    assert set(PREFLIGHT_HEADERS.split(", ")) <= allowed
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


async def test_a_get_preflight_from_the_frontend_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers=preflight(FRONTEND, "GET"))

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND


async def test_a_preflight_from_an_unknown_origin_gets_no_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/graphql", headers=preflight(STRANGER))

    assert response.status_code == 405
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_a_preflight_for_another_method_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers=preflight(FRONTEND, "DELETE"))

    assert response.status_code == 400


async def test_a_credentialed_post_from_the_frontend_may_be_read_with_its_request_id(
    client: httpx.AsyncClient,
) -> None:
    await make_user(email="shopper@example.com")

    response = await client.post(
        "/graphql",
        json={
            "query": LOGIN,
            "variables": {"input": {"email": "shopper@example.com", "password": DEFAULT_PASSWORD}},
        },
        headers={"origin": FRONTEND, "cookie": "unrelated=1", "x-request-id": "cors-check-1"},
    )

    assert response.status_code == 200
    assert response.json()["data"]["login"]["errors"] == []
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "X-Request-ID"
    assert response.headers["x-request-id"] == "cors-check-1"
    assert [name.strip() for name in response.headers["vary"].split(",")].count("Origin") == 1
    assert response.headers["set-cookie"]


async def test_an_answer_to_an_unknown_origin_has_no_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": TYPENAME}, headers={"origin": STRANGER})

    assert response.status_code == 200
    assert not [name for name in response.headers if name.startswith("access-control-")]
    assert "Origin" in response.headers["vary"]  # a cache keeps it apart from the allowed origin's


async def test_answers_outside_graphql_vary_on_origin_too(client: httpx.AsyncClient) -> None:
    for origin in ({}, {"origin": STRANGER}, {"origin": FRONTEND}):
        response = await client.get("/healthz", headers=origin)

        assert response.headers["vary"] == "Origin", origin


async def test_the_allow_list_replaces_the_frontend_url(app: Starlette, settings: Settings) -> None:
    configured = settings.model_copy(
        update={"cors_allow_origins": ["https://shop.example", "https://admin.example"]}
    )
    transport = httpx.ASGITransport(app=app_sharing_services(configured, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        listed = await http.options("/graphql", headers=preflight("https://admin.example"))
        frontend = await http.options("/graphql", headers=preflight(FRONTEND))

    assert listed.headers["access-control-allow-origin"] == "https://admin.example"
    assert "access-control-allow-origin" not in frontend.headers


def test_the_default_allow_list_is_the_frontend_urls_origin(settings: Settings) -> None:
    configured = settings.model_copy(update={"frontend_url": "https://shop.example/app/"})

    assert configured.cors_origins == ["https://shop.example"]
