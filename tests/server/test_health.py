"""Liveness and readiness: ready while MongoDB answers; Redis down only degrades the service, which
keeps serving, so a load balancer routing on `/readyz` does not turn a cache outage into a full one."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from integrations.local_servers import free_port
from settings import Settings
from tests.factories import make_category, make_product
from tests.fakes.mongo_proxy import MongoProxy
from tests.support import another_app

PRODUCTS = """
query {
  products(first: 5) { totalCount edges { node { name } } }
}
"""


async def test_healthz_answers_while_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_ready_when_mongodb_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "mongodb": "ok", "redis": "ok"}


async def test_with_redis_down_readyz_is_200_degraded_and_the_api_keeps_serving(
    app: Starlette, settings: Settings
) -> None:
    await make_product(await make_category("Shoes"), name="Trail Runner")
    redis_down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})

    async with another_app(redis_down, app) as http:
        ready = await http.get("/readyz")
        served = await http.post("/graphql", json={"query": PRODUCTS})

    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "mongodb": "ok", "redis": "unavailable"}
    assert served.status_code == 200
    body = served.json()
    assert body["data"]["products"]["edges"] == [{"node": {"name": "Trail Runner"}}]
    assert body["extensions"]["cache"] == "UNAVAILABLE"


@pytest.mark.parametrize("failure", ["stall", "shut"])
async def test_with_mongodb_stalled_or_down_readyz_is_503(
    app: Starlette, proxied_settings: Settings, mongo_proxy: MongoProxy, failure: str
) -> None:
    async with another_app(proxied_settings, app) as http:
        before = await http.get("/readyz")
        if failure == "stall":
            mongo_proxy.stall()
        else:
            await mongo_proxy.shut()
        after = await http.get("/readyz")
        alive = await http.get("/healthz")

    assert before.status_code == 200
    assert "retry-after" not in before.headers
    assert after.status_code == 503
    assert after.headers["retry-after"] == "5"
    assert after.json() == {"status": "unavailable", "mongodb": "unavailable", "redis": "ok"}
    assert alive.status_code == 200


async def test_a_cache_redis_of_its_own_is_checked_too_and_only_degrades(
    app: Starlette, settings: Settings
) -> None:
    # The same server under another URL: a client of its own, as a separate server would have.
    other_url = settings.redis_url.replace("127.0.0.1", "localhost")
    assert other_url != settings.redis_url
    cache_up = settings.model_copy(update={"cache_redis_url": other_url})
    cache_down = settings.model_copy(
        update={"cache_redis_url": f"redis://127.0.0.1:{free_port()}/0"}
    )

    async with another_app(cache_up, app) as http:
        up = await http.get("/readyz")
    async with another_app(cache_down, app) as http:
        down = await http.get("/readyz")

    assert (up.status_code, down.status_code) == (200, 200)
    assert up.json() == {"status": "ready", "mongodb": "ok", "redis": "ok", "cacheRedis": "ok"}
    assert down.json() == {
        "status": "degraded",
        "mongodb": "ok",
        "redis": "ok",
        "cacheRedis": "unavailable",
    }
