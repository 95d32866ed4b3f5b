"""The query cache after a fault: an invalidation Redis refuses is kept in MongoDB, no process
serves the entries it should have retired (the writer at once, others within the check interval),
and it is applied once Redis takes writes again, after which caching resumes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ServerSelectionTimeoutError
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.cache_invalidations import PendingInvalidation, record_invalidation
from documents.catalog import Product
from documents.transactions import in_transaction
from integrations.local_servers import LocalServer, free_port, start_redis
from resolvers.query_cache import (
    CacheDependencies,
    CacheStatus,
    QueryCache,
    cache_key,
    product_tags,
)
from resolvers.query_cache.lease import ServingLease
from tests.factories import global_id, make_category, make_product
from tests.support import MongoCommandCounter, admin_token, graphql, run_jobs

PRODUCT_PAGE = """
query ProductPage($slug: String!) { product(slug: $slug) { name finalPrice { amount } } }
"""
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { finalPrice { amount } } errors { code } }
}
"""
CHECK_INTERVAL = 1.0
RETRY_AFTER = 5.0


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RejectedError(Exception):
    pass


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[Redis]:
    """A redis-server of this test's own, whose configuration it may change."""
    server: LocalServer = start_redis(tmp_path / "redis", free_port())
    redis = Redis.from_url(server.uri, socket_timeout=2, socket_connect_timeout=2)
    try:
        yield redis
    finally:
        await redis.aclose()
        server.stop()


async def refuse_writes(redis: Redis) -> None:
    """Memory full: reads are served, every write is refused (OOM)."""
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", 1)


async def accept_writes(redis: Redis) -> None:
    await redis.config_set("maxmemory", 0)


def process(redis: Redis, clock: ManualClock, **options: Any) -> QueryCache:
    """The query cache of one API process."""
    return QueryCache(
        redis,
        key_prefix="faults:",
        ttl_seconds=300,
        retry_after_seconds=RETRY_AFTER,
        pending_check_seconds=CHECK_INTERVAL,
        clock=clock,
        **options,
    )


async def price_page(client: httpx.AsyncClient, slug: str) -> tuple[str, str]:
    """The product page's price and `extensions.cache`."""
    response = await client.post(
        "/graphql", json={"query": PRODUCT_PAGE, "variables": {"slug": slug}}
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["product"]["finalPrice"]["amount"], body["extensions"]["cache"]


async def change_price(client: httpx.AsyncClient, product: Product, price: str) -> None:
    token = await admin_token(client)
    body = await graphql(
        client, UPDATE_PRODUCT, {"input": {"id": global_id(product), "price": price}}, token=token
    )
    assert body["data"]["updateProduct"] == {
        "product": {"finalPrice": {"amount": price}},
        "errors": [],
    }


async def test_a_price_change_while_redis_refuses_writes_never_serves_the_old_price(
    client: httpx.AsyncClient,
    own_redis: Redis,
    replace_services: Callable[..., None],
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner", price=10_000)
    clock = ManualClock()
    replace_services(query_cache=process(own_redis, clock))
    assert [await price_page(client, "runner") for _ in range(2)] == [
        ("100.00", "MISS"),
        ("100.00", "HIT"),
    ]

    await refuse_writes(own_redis)
    await change_price(client, runner, "120.00")

    # While Redis refuses writes: the new price, from MongoDB, however much time passes.
    during = []
    for _ in range(4):
        during.append(await price_page(client, "runner"))
        clock.now += RETRY_AFTER
    assert during == [("120.00", "UNAVAILABLE")] * 4
    assert await PendingInvalidation.count() == 1
    assert await own_redis.get("faults:qc:tag:products:slug:runner") is not None  # old version

    await accept_writes(own_redis)
    clock.now += RETRY_AFTER  # the breaker opened by the last failed replay lets it try again
    after = [await price_page(client, "runner") for _ in range(2)]

    assert after == [("120.00", "MISS"), ("120.00", "HIT")]
    assert await PendingInvalidation.count() == 0


async def test_another_process_stops_serving_within_the_check_interval(
    client: httpx.AsyncClient,
    own_redis: Redis,
    replace_services: Callable[..., None],
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner", price=10_000)
    writer_clock, reader_clock = ManualClock(), ManualClock()
    writer, reader = process(own_redis, writer_clock), process(own_redis, reader_clock)
    replace_services(query_cache=reader)
    assert [await price_page(client, "runner") for _ in range(2)] == [
        ("100.00", "MISS"),
        ("100.00", "HIT"),  # the reader's lease on serving entries starts here
    ]

    await refuse_writes(own_redis)
    replace_services(query_cache=writer)
    await change_price(client, runner, "120.00")
    replace_services(query_cache=reader)

    # The documented bound: a lease confirmed before the write lasts its interval, no longer.
    reader_clock.now += CHECK_INTERVAL * 0.9
    assert await price_page(client, "runner") == ("100.00", "HIT")
    reader_clock.now += CHECK_INTERVAL * 0.1
    assert await price_page(client, "runner") == ("120.00", "UNAVAILABLE")
    reader_clock.now += CHECK_INTERVAL
    assert await price_page(client, "runner") == ("120.00", "UNAVAILABLE")

    await accept_writes(own_redis)
    reader_clock.now += RETRY_AFTER
    # The reader applies the writer's invalidation; then both serve the new entry.
    assert [await price_page(client, "runner") for _ in range(2)] == [
        ("120.00", "MISS"),
        ("120.00", "HIT"),
    ]
    replace_services(query_cache=writer)
    writer_clock.now += RETRY_AFTER
    assert await price_page(client, "runner") == ("120.00", "HIT")
    assert await PendingInvalidation.count() == 0


async def test_lookups_ask_mongodb_at_most_once_per_check_interval(
    app: Starlette, own_redis: Redis, mongo_commands: MongoCommandCounter
) -> None:
    clock = ManualClock()
    cache = process(own_redis, clock)
    key = cache_key("{ products { totalCount } }", None, None, "anonymous")
    epoch = (await cache.lookup(key)).epoch
    await cache.store(key, {"products": {"totalCount": 1}}, CacheDependencies(), epoch, client="c")
    mongo_commands.reset()

    within = [await cache.lookup(key) for _ in range(20)]
    checks_within = len(mongo_commands.set_aside)
    clock.now += CHECK_INTERVAL
    together = await asyncio.gather(*(cache.lookup(key) for _ in range(20)))

    assert {lookup.status for lookup in [*within, *together]} == {CacheStatus.HIT}
    assert checks_within == 0
    assert [name for name, _ in mongo_commands.set_aside] == ["find"]
    assert mongo_commands.commands == []


async def test_an_invalidation_a_dead_process_left_is_applied_before_anything_is_served(
    app: Starlette, own_redis: Redis
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner")
    cache = process(own_redis, ManualClock())
    key = cache_key(PRODUCT_PAGE, None, {"slug": "runner"}, "anonymous")
    dependencies = CacheDependencies()
    dependencies("products", "slug", "runner")
    epoch = (await cache.lookup(key)).epoch
    await cache.store(key, {"product": {"name": "old"}}, dependencies, epoch, client="c")
    other = process(own_redis, ManualClock())

    # Committed with its write; the process died before applying it to Redis.
    await record_invalidation(product_tags(runner))

    assert (await other.lookup(key)).status is CacheStatus.MISS
    assert await PendingInvalidation.count() == 0


async def test_the_worker_applies_invalidations_redis_refused(
    app: Starlette, client: httpx.AsyncClient, redis: Redis
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner", price=10_000)
    await price_page(client, "runner")
    assert await price_page(client, "runner") == ("100.00", "HIT")
    await runner.set({Product.price: 12_000, Product.final_price: 12_000})
    await record_invalidation(product_tags(runner))  # as a write whose own attempt failed

    await run_jobs(app)

    assert await PendingInvalidation.count() == 0
    assert await price_page(client, "runner") == ("120.00", "MISS")


async def test_an_aborted_write_records_nothing_and_retires_nothing(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner", price=10_000)
    await price_page(client, "runner")
    cache: QueryCache = app.state.services.query_cache

    async def work(session: AsyncClientSession) -> None:
        await cache.product_changed(runner)
        assert await PendingInvalidation.find_all(session=session).count() == 1
        raise RejectedError

    with pytest.raises(RejectedError):
        await in_transaction(work)

    assert await PendingInvalidation.count() == 0
    assert await price_page(client, "runner") == ("100.00", "HIT")


async def test_a_tag_redis_lost_makes_its_entries_miss(
    client: httpx.AsyncClient, redis: Redis, settings: Any
) -> None:
    shoes = await make_category("Shoes")
    await make_product(shoes, slug="runner", price=10_000)
    await price_page(client, "runner")
    assert await price_page(client, "runner") == ("100.00", "HIT")

    # Evicted or expired; a version it gets again later is a new one.
    await redis.delete(f"{settings.redis_key_prefix}qc:tag:products:slug:runner")

    assert await price_page(client, "runner") == ("100.00", "MISS")
    assert await price_page(client, "runner") == ("100.00", "HIT")


async def test_an_epoch_redis_lost_during_a_miss_keeps_that_result_out(
    app: Starlette, own_redis: Redis
) -> None:
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, slug="runner")
    cache = process(own_redis, ManualClock())
    key = cache_key(PRODUCT_PAGE, None, {"slug": "runner"}, "anonymous")
    lookup = await cache.lookup(key)
    assert lookup.status is CacheStatus.MISS

    # A write lands between the read and the store, and then the epoch is evicted.
    await cache.invalidate_product(runner)
    await own_redis.delete("faults:qc:epoch")
    dependencies = CacheDependencies()
    dependencies("products", "slug", "runner")
    await cache.store(key, {"product": {"name": "stale"}}, dependencies, lookup.epoch, client="c")

    assert (await cache.lookup(key)).status is CacheStatus.MISS
    assert await own_redis.get(f"faults:qc:entry:{key}") is None


async def test_a_check_that_waited_out_a_mongodb_timeout_is_not_repeated_at_once() -> None:
    clock = ManualClock()
    checks = 0

    async def stalled_check(tags: set[str], why: str) -> bool:
        raise AssertionError("nothing to apply: the check fails before")

    lease = ServingLease(stalled_check, check_interval_seconds=CHECK_INTERVAL, clock=clock)

    async def replay() -> bool:
        nonlocal checks
        checks += 1
        clock.now += 5 * CHECK_INTERVAL  # the check waited out a MongoDB timeout
        raise ServerSelectionTimeoutError("MongoDB does not answer")

    lease.replay = replay  # type: ignore[method-assign]

    assert await lease.allows_serving() is False
    assert await lease.allows_serving() is False  # right after: no second wait for MongoDB
    clock.now += CHECK_INTERVAL
    assert await lease.allows_serving() is False

    assert checks == 2
