"""The Redis query cache: hits, misses, exact invalidation, races and Redis outages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette

from documents.catalog import Category, Product
from integrations.local_servers import LocalServer, free_port, start_redis
from resolvers.query_cache import CacheDependencies, CacheStatus, QueryCache, cache_key
from settings import Settings
from tests.factories import make_category, make_product

# Every QueryCache asks MongoDB whether invalidations are pending before it serves entries.
pytestmark = pytest.mark.usefixtures("app")

PRODUCT_PAGE = """
query ProductPage($slug: String!) { product(slug: $slug) { name finalPrice { amount } } }
"""
PRODUCT_LIST = """
query ProductList($first: Int) {
  products(first: $first) { edges { node { name finalPrice { amount } category { name } } } }
}
"""
CLIENT = "127.0.0.1"
CATEGORY_PAGE = """
query CategoryPage($slug: String!) {
  category(slug: $slug) { name products(first: 10) { edges { node { name finalPrice { amount } } } } }
}
"""


async def run(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    body = response.json()
    assert "errors" not in body, body
    return body["data"], body["extensions"]["cache"]


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def swap_query_cache(replace_services: Any) -> Any:
    """Lets a test serve requests through a QueryCache of its own."""

    def swap(cache: QueryCache) -> None:
        replace_services(query_cache=cache)

    return swap


@pytest.fixture
def outage_redis(tmp_path: Path) -> Iterator[LocalServer]:
    server = start_redis(tmp_path / "redis", free_port())
    yield server
    server.stop()


async def test_a_repeated_query_is_a_hit_with_the_same_data(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")

    first, first_status = await run(client, PRODUCT_LIST, {"first": 5})
    second, second_status = await run(client, PRODUCT_LIST, {"first": 5})

    assert (first_status, second_status) == ("MISS", "HIT")
    assert first == second
    assert first["products"]["edges"][0]["node"]["name"] == "Runner"


async def test_whitespace_and_comments_do_not_change_the_key(client: httpx.AsyncClient) -> None:
    await run(client, "{ products(first: 3) { totalCount } }")

    _, status = await run(client, "# same query\n{\n  products(first: 3) {\n totalCount\n }\n}")

    assert status == "HIT"
    assert cache_key("{ a }", None, {"x": 1, "y": 2}, "anonymous") == cache_key(
        "{a}", None, {"y": 2, "x": 1}, "anonymous"
    )
    assert cache_key("{ a }", None, {"x": 1}, "anonymous") != cache_key(
        "{ a }", None, {"x": 2}, "anonymous"
    )
    assert cache_key("{ a }", None, None, "anonymous") != cache_key("{ a }", None, None, "admin")


async def test_a_price_change_invalidates_exactly_the_queries_that_show_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    shoes = await make_category("Shoes")
    bags = await make_category("Bags")
    runner = await make_product(shoes, name="Runner", slug="runner", price=10_000)
    tote = await make_product(bags, name="Tote", slug="tote", price=5_000)
    cached = [
        (PRODUCT_PAGE, {"slug": "runner"}),
        (PRODUCT_LIST, {"first": 10}),
        (CATEGORY_PAGE, {"slug": shoes.slug}),
    ]
    unrelated = [(PRODUCT_PAGE, {"slug": "tote"}), (CATEGORY_PAGE, {"slug": bags.slug})]
    for query, variables in cached + unrelated:
        await run(client, query, variables)

    before = runner.model_copy(deep=True)
    await runner.set({Product.price: 12_000, Product.final_price: 12_000})
    assert await app.state.services.query_cache.invalidate_product(before, runner)

    for query, variables in cached:
        data, status = await run(client, query, variables)
        assert status == "MISS", (query, variables)
        assert "120.00" in str(data)
    for query, variables in unrelated:
        data, status = await run(client, query, variables)
        assert status == "HIT", (query, variables)
    assert tote.name in str(await run(client, PRODUCT_PAGE, {"slug": "tote"}))


async def test_a_new_product_replaces_a_cached_null_for_its_slug(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    shoes = await make_category("Shoes")
    assert await run(client, PRODUCT_PAGE, {"slug": "later"}) == ({"product": None}, "MISS")

    created = await make_product(shoes, name="Later", slug="later")
    await app.state.services.query_cache.invalidate_product(created)

    data, status = await run(client, PRODUCT_PAGE, {"slug": "later"})
    assert (data["product"]["name"], status) == ("Later", "MISS")


async def test_a_category_rename_reaches_cached_product_lists(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")
    await run(client, PRODUCT_LIST, {"first": 10})

    before = shoes.model_copy(deep=True)
    await shoes.set({Category.name: "Footwear"})
    await app.state.services.query_cache.invalidate_category(before, shoes)

    data, status = await run(client, PRODUCT_LIST, {"first": 10})
    assert status == "MISS"
    assert data["products"]["edges"][0]["node"]["category"] == {"name": "Footwear"}


async def test_an_invalidation_during_a_miss_keeps_the_stale_result_out(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    cache: QueryCache = app.state.services.query_cache
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner")
    key = cache_key(PRODUCT_PAGE, None, {"slug": "runner"}, "anonymous")
    lookup = await cache.lookup(key)
    assert lookup.status is CacheStatus.MISS

    # A write lands after the read that produced `data` and before that result is stored.
    await cache.invalidate_product(runner)
    dependencies = CacheDependencies()
    dependencies("products", "slug", "runner")
    await cache.store(
        key, {"product": {"name": "stale"}}, dependencies, lookup.epoch, client=CLIENT
    )

    assert (await cache.lookup(key)).status is CacheStatus.MISS


async def test_partial_results_with_errors_are_not_stored(client: httpx.AsyncClient) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="orphan")
    await shoes.delete()  # the product now points at a missing category: a partial result
    query = '{ product(slug: "orphan") { name category { name } } }'

    statuses = []
    for _ in range(2):
        body = (await client.post("/graphql", json={"query": query})).json()
        assert body["data"] == {"product": None}
        assert body["errors"]
        statuses.append(body["extensions"]["cache"])

    assert statuses == ["BYPASS", "BYPASS"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ products(first: 1 { totalCount } }", "GRAPHQL_PARSE_FAILED"),
        ("{ products(first: 1) { totalCount secretField } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ products(first: 101) { totalCount } }", "BAD_USER_INPUT"),
        ('{ product(id: "garbage") { name } }', "BAD_USER_INPUT"),
    ],
)
async def test_error_responses_bypass_the_cache_and_store_nothing(
    client: httpx.AsyncClient, settings: Settings, redis: Redis, query: str, code: str
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes)

    bodies = [(await client.post("/graphql", json={"query": query})).json() for _ in range(2)]

    assert [[error["extensions"]["code"] for error in body["errors"]] for body in bodies] == [
        [code],
        [code],
    ]
    assert [body["extensions"]["cache"] for body in bodies] == ["BYPASS"] * 2
    # Nothing but the epoch, which a lookup starts when Redis has none.
    keys = [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}*")]
    assert [key for key in keys if not key.endswith(b":qc:epoch")] == []


async def test_an_error_response_while_redis_is_down_says_unavailable(
    client: httpx.AsyncClient, swap_query_cache: Any
) -> None:
    # Nothing listens on the port: every Redis call is refused, as in an outage.
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    swap_query_cache(QueryCache(redis, key_prefix="t:", ttl_seconds=60))
    try:
        body = (
            await client.post("/graphql", json={"query": "{ products(first: 101) { totalCount } }"})
        ).json()
    finally:
        await redis.aclose()

    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["extensions"]["cache"] == "UNAVAILABLE"


async def test_private_and_oversized_results_are_not_stored(app: Starlette, redis: Redis) -> None:
    cache = QueryCache(redis, key_prefix="t:", ttl_seconds=60, max_entry_bytes=1024)
    private_key = cache_key("{ private }", None, None, "anonymous")
    private = CacheDependencies()
    private.private_data()
    large_key = cache_key("{ large }", None, None, "anonymous")

    small_key = cache_key("{ small }", None, None, "anonymous")
    for key, data, dependencies in [
        (private_key, {"x": 1}, private),
        (large_key, {"x": "y" * 2000}, CacheDependencies()),
        (small_key, {"x": "y"}, CacheDependencies()),
    ]:
        epoch = (await cache.lookup(key)).epoch
        await cache.store(key, data, dependencies, epoch, client=CLIENT)

    assert (await cache.lookup(private_key)).status is CacheStatus.MISS
    assert (await cache.lookup(large_key)).status is CacheStatus.MISS
    small = await cache.lookup(small_key)
    assert small.status is CacheStatus.HIT
    await redis.delete(*[key async for key in redis.scan_iter(match="t:*")])


async def test_variables_that_cannot_be_keyed_bypass_the_cache(client: httpx.AsyncClient) -> None:
    nested: list[Any] = []
    for _ in range(300):
        nested = [nested]
    statuses = []
    for variables in ({"x": 10**30}, {"x": nested}):
        response = await client.post(
            "/graphql", json={"query": "{ __typename }", "variables": variables}
        )
        body = response.json()
        assert response.status_code == 200
        assert body["data"] == {"__typename": "Query"}
        statuses.append(body["extensions"]["cache"])

    # The huge integer arrives as a float and keys fine; the deep nesting cannot be keyed.
    assert statuses == ["MISS", "BYPASS"]


async def test_introspection_is_not_cached(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})

    assert response.json()["extensions"]["cache"] == "BYPASS"


async def test_entries_expire_after_the_ttl(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, redis: Redis
) -> None:
    await run(client, PRODUCT_LIST, {"first": 1})

    keys = [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}qc:entry:*")]
    assert len(keys) == 1
    assert 0 < await redis.ttl(keys[0]) <= settings.cache_ttl_seconds


async def test_a_disabled_cache_bypasses_redis(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, swap_query_cache: Any
) -> None:
    swap_query_cache(
        QueryCache(
            app.state.redis, key_prefix=settings.redis_key_prefix, ttl_seconds=60, enabled=False
        )
    )

    statuses = [(await run(client, PRODUCT_LIST, {"first": 1}))[1] for _ in range(2)]

    assert statuses == ["BYPASS", "BYPASS"]


async def test_redis_down_serves_from_mongodb_and_recovers(
    client: httpx.AsyncClient,
    outage_redis: LocalServer,
    swap_query_cache: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")
    clock = ManualClock()
    redis = Redis.from_url(outage_redis.uri, socket_timeout=0.5, socket_connect_timeout=0.5)
    swap_query_cache(
        QueryCache(redis, key_prefix="t:", ttl_seconds=60, retry_after_seconds=5, clock=clock)
    )
    assert (await run(client, PRODUCT_LIST, {"first": 5}))[1] == "MISS"
    assert (await run(client, PRODUCT_LIST, {"first": 5}))[1] == "HIT"

    outage_redis.stop()
    during = [await run(client, PRODUCT_LIST, {"first": 5}) for _ in range(3)]

    assert [status for _, status in during] == ["UNAVAILABLE"] * 3
    assert all(data["products"]["edges"][0]["node"]["name"] == "Runner" for data, _ in during)
    assert "query cache lookup failed" in caplog.text

    port = urlsplit(outage_redis.uri).port
    assert port is not None
    restarted = start_redis(outage_redis.log_path.parent, port)
    try:
        assert (await run(client, PRODUCT_LIST, {"first": 5}))[1] == "UNAVAILABLE"
        clock.now += 5
        assert (await run(client, PRODUCT_LIST, {"first": 5}))[1] == "MISS"
    finally:
        await redis.aclose()
        restarted.stop()


async def test_more_concurrent_queries_than_redis_connections_still_use_the_cache(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, name="Runner")
    await run(client, PRODUCT_LIST, {"first": 5})
    # Beyond both our pool size and redis-py's own default limit of 100 connections.
    concurrent = max(getattr(settings, "redis_max_connections", 0), 100) * 3

    results = await asyncio.gather(
        *(run(client, PRODUCT_LIST, {"first": 5}) for _ in range(concurrent))
    )

    assert {status for _, status in results} == {"HIT"}


async def test_only_a_run_of_timeouts_switches_the_cache_off() -> None:
    # A Redis that accepts connections but never answers: every call times out.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    port = silent.getsockname()[1]
    redis = Redis.from_url(
        f"redis://127.0.0.1:{port}/0", socket_timeout=0.05, socket_connect_timeout=0.05
    )
    clock = ManualClock()
    cache = QueryCache(redis, key_prefix="t:", ttl_seconds=60, retry_after_seconds=5, clock=clock)
    key = cache_key("{ x }", None, None, "anonymous")
    try:
        availability = []
        for _ in range(3):
            assert (await cache.lookup(key)).status is CacheStatus.UNAVAILABLE
            availability.append(cache.available)
    finally:
        await redis.aclose()
        silent.close()

    assert availability == [True, True, False]
    clock.now += 5
    assert cache.available


async def test_waiting_too_long_for_a_pooled_connection_counts_as_a_timeout(
    outage_redis: LocalServer,
) -> None:
    pool = BlockingConnectionPool.from_url(outage_redis.uri, max_connections=1, timeout=0.05)
    redis = Redis(connection_pool=pool)
    cache = QueryCache(redis, key_prefix="t:", ttl_seconds=60, retry_after_seconds=5)
    key = cache_key("{ x }", None, None, "anonymous")
    held = await pool.get_connection()  # the only connection, taken by someone else
    try:
        first = await cache.lookup(key)
        still_available = cache.available
    finally:
        await pool.release(held)
        second = await cache.lookup(key)
        await redis.aclose()

    assert first.status is CacheStatus.UNAVAILABLE
    assert still_available
    assert second.status is CacheStatus.MISS
