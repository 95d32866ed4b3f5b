"""What bounds the cache's memory: each client's share of new entries, and a server that evicts
entries (never the rate limits or the job queue, which live on another one)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from integrations.local_servers import LocalServer, free_port, start_redis
from resolvers.query_cache import CacheDependencies, CacheStatus, QueryCache, cache_key
from tests.factories import make_category, make_product

PRODUCT_PAGE = """
query ProductPage($slug: String!) { product(slug: $slug) { name } }
"""


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[Redis]:
    server: LocalServer = start_redis(
        tmp_path / "redis", free_port(), max_memory_mb=8, eviction_policy="allkeys-lru"
    )
    redis = Redis.from_url(server.uri, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield redis
    finally:
        await redis.aclose()
        server.stop()


async def page_status(client: httpx.AsyncClient, slug: str) -> str:
    response = await client.post(
        "/graphql", json={"query": PRODUCT_PAGE, "variables": {"slug": slug}}
    )
    status: str = response.json()["extensions"]["cache"]
    return status


def client_at(app: Starlette, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_one_client_creates_at_most_its_share_of_entries_a_minute(
    app: Starlette, own_redis: Redis, replace_services: Callable[..., None]
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="runner")
    replace_services(
        query_cache=QueryCache(
            own_redis, key_prefix="share:", ttl_seconds=300, max_entries_per_client_minute=3
        )
    )
    async with client_at(app, "203.0.113.7") as greedy, client_at(app, "198.51.100.1") as other:
        # Unique variables: each a new key (most name no product; their null is cached too).
        greedy_statuses = [await page_status(greedy, f"slug-{n}") for n in range(5)]
        repeated = await page_status(greedy, "slug-0")
        other_statuses = [await page_status(other, "runner") for _ in range(2)]

    assert greedy_statuses == ["MISS"] * 3 + ["BYPASS"] * 2
    assert repeated == "HIT"  # what it stored is served as usual
    assert other_statuses == ["MISS", "HIT"]
    entries = [key async for key in own_redis.scan_iter(match="share:qc:entry:*")]
    assert len(entries) == 4


async def test_a_full_cache_server_evicts_entries_and_keeps_caching(
    app: Starlette, own_redis: Redis
) -> None:
    cache = QueryCache(own_redis, key_prefix="full:", ttl_seconds=300)
    filler = "x" * 60_000
    # About 12 MB of entries into a server capped at 8 MB.
    for n in range(200):
        key = cache_key("{ filler }", None, {"n": n}, "anonymous")
        lookup = await cache.lookup(key)
        status = await cache.store(
            key, {"filler": filler}, CacheDependencies(), lookup.epoch, client=f"client-{n}"
        )
        assert status is CacheStatus.MISS

    memory = await own_redis.info("memory")
    stats = await own_redis.info("stats")
    assert memory["used_memory"] <= 8 * 1024 * 1024
    assert stats["evicted_keys"] > 0
    assert cache.available
    last = cache_key("{ filler }", None, {"n": 199}, "anonymous")
    assert (await cache.lookup(last)).status is CacheStatus.HIT
