"""The per-client bucket of query cost: throttling with retryAfter, one bucket per user or per
address (IPv6 per /64), refunds of unused cost, atomic draws, restoring over time (a manual clock,
no sleeping) and failing open without Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.demo_catalog import load_demo_catalog
from integrations.local_servers import free_port
from resolvers.cost_bucket import QueryCostBucket, throttle_client
from settings import Settings
from tests.factories import make_category, make_order, make_product, make_user
from tests.support import MongoCommandCounter, access_token_for, error_codes

# Four lookups that find nothing: requested and actual cost are both 4, so nothing is refunded.
FOUR_POINTS = """
{ a: product(slug: "a") { name } b: product(slug: "b") { name }
  c: product(slug: "c") { name } d: product(slug: "d") { name } }
"""
# 2 + 100 x 5 on the demo catalog, where every product has a category and a subcategory.
PAGE_OF_500 = """
{ products(first: 100) { edges { node { name finalPrice { amount }
  category { name } subcategory { name parent { name } } } } } }
"""


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def use_bucket(
    redis: Redis, settings: Settings, clock: ManualClock, replace_services: Callable[..., None]
) -> Callable[..., QueryCostBucket]:
    """Serves requests through a bucket of the given size and restore rate, on the manual clock."""

    def use(size: int, restore_rate: float, **options: Any) -> QueryCostBucket:
        bucket = QueryCostBucket(
            options.pop("redis", redis),
            key_prefix=settings.redis_key_prefix,
            size=size,
            restore_rate=restore_rate,
            clock=clock,
            **options,
        )
        replace_services(cost_bucket=bucket)
        return bucket

    return use


@pytest.fixture
async def client_from(app: Starlette) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """HTTP clients connecting from the given addresses."""
    clients: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 50_000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield make
    for http in clients:
        await http.aclose()


async def ask(
    http: httpx.AsyncClient, query: str = FOUR_POINTS, token: str | None = None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def available(body: dict[str, Any]) -> float:
    status: float = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
    return status


async def test_each_query_takes_its_cost_until_the_bucket_is_short(
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
    mongo_commands: MongoCommandCounter,
) -> None:
    use_bucket(size=10, restore_rate=1)
    shopper = client_from("203.0.113.7")

    served = [await ask(shopper), await ask(shopper)]
    mongo_commands.reset()
    refused = await ask(shopper)

    assert [available(body) for body in served] == [6, 2]
    assert served[0]["extensions"]["cost"]["throttleStatus"] == {
        "maximumAvailable": 10,
        "currentlyAvailable": 6,
        "restoreRate": 1,
    }
    assert refused["data"] is None
    assert error_codes(refused) == ["RATE_LIMITED"]
    # 4 points wanted, 2 held, 1 point a second back.
    assert refused["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 2}
    assert refused["extensions"]["cost"]["requestedQueryCost"] == 4
    assert refused["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2
    assert mongo_commands.commands == []


async def test_the_bucket_restores_over_time(
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
    clock: ManualClock,
) -> None:
    use_bucket(size=10, restore_rate=1)
    shopper = client_from("203.0.113.7")
    await ask(shopper)
    await ask(shopper)
    assert error_codes(await ask(shopper)) == ["RATE_LIMITED"]

    clock.now += 1.5
    still_short = await ask(shopper)  # 3.5 points held
    clock.now += 0.5
    after_retry = await ask(shopper)
    clock.now += 3600
    rested = await ask(shopper)

    assert error_codes(still_short) == ["RATE_LIMITED"]
    assert still_short["errors"][0]["extensions"]["retryAfter"] == 1
    assert "errors" not in after_retry
    assert available(after_retry) == 0
    assert available(rested) == 6  # never more than the bucket holds


async def test_repeated_expensive_queries_are_throttled_and_other_clients_are_not(
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
    settings: Settings,
    clock: ManualClock,
) -> None:
    # The defaults: 2,000 points, 100 a second back.
    use_bucket(size=settings.query_cost_bucket_size, restore_rate=settings.query_cost_restore_rate)
    await load_demo_catalog(300, public_url=settings.public_url, seed=7)
    crawler, shopper = client_from("198.51.100.9"), client_from("203.0.113.7")

    pages = [await ask(crawler, PAGE_OF_500) for _ in range(4)]
    other = await ask(shopper, PAGE_OF_500)
    clock.now += 1
    later = await ask(crawler, PAGE_OF_500)

    assert [page["extensions"]["cost"]["actualQueryCost"] for page in pages[:3]] == [502] * 3
    assert [available(page) for page in pages] == [1498, 996, 494, 494]
    assert error_codes(pages[3]) == ["RATE_LIMITED"]
    assert pages[3]["errors"][0]["extensions"]["retryAfter"] == 1  # 8 points short, 100/s
    assert "errors" not in other
    assert available(other) == 1498
    assert "errors" not in later
    assert available(later) == 92


async def test_unused_cost_is_given_back(
    client_from: Callable[[str], httpx.AsyncClient], use_bucket: Callable[..., QueryCostBucket]
) -> None:
    use_bucket(size=2000, restore_rate=100)

    body = await ask(client_from("203.0.113.7"), PAGE_OF_500)

    # Took 502 before running; the empty catalog returned a page of none: 2.
    assert body["extensions"]["cost"]["requestedQueryCost"] == 502
    assert body["extensions"]["cost"]["actualQueryCost"] == 2
    assert available(body) == 1998


async def test_lists_longer_than_their_nominal_size_are_charged_when_they_come_back(
    app: Starlette,
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
) -> None:
    use_bucket(size=12, restore_rate=1)
    buyer = await make_user()
    shoes = await make_category()
    order = await make_order(buyer, *[(await make_product(shoes), 1) for _ in range(12)])
    token = await access_token_for(app, buyer)
    shopper = client_from("203.0.113.7")
    query = f"{{ order(number: {order.number}) {{ lines {{ product {{ name }} }} }} }}"

    body = await ask(shopper, query, token=token)
    next_one = await ask(shopper, token=token)

    # An order's lines count as 10 before it runs; this one came back with 12.
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 1 + 10
    assert body["extensions"]["cost"]["actualQueryCost"] == 1 + 1 + 12
    assert available(body) == 0  # 2 points in debt
    assert next_one["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 6}


async def test_signed_in_users_draw_from_their_own_bucket(
    app: Starlette,
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
) -> None:
    use_bucket(size=10, restore_rate=1)
    office = client_from("203.0.113.7")
    alice = await access_token_for(app, await make_user())
    bob = await access_token_for(app, await make_user())
    await ask(office)
    await ask(office)

    anonymous = await ask(office)
    alices = [await ask(office, token=alice) for _ in range(3)]
    bobs = await ask(office, token=bob)

    assert error_codes(anonymous) == ["RATE_LIMITED"]
    assert [available(body) for body in alices[:2]] == [6, 2]
    assert error_codes(alices[2]) == ["RATE_LIMITED"]
    assert available(bobs) == 6


async def test_an_ipv6_client_counts_per_64_network(
    client_from: Callable[[str], httpx.AsyncClient], use_bucket: Callable[..., QueryCostBucket]
) -> None:
    use_bucket(size=10, restore_rate=1)
    await ask(client_from("2001:db8:1:2::1"))
    await ask(client_from("2001:db8:1:2::2"))

    same_network = await ask(client_from("2001:db8:1:2:ffff::9"))
    next_network = await ask(client_from("2001:db8:1:3::1"))

    assert error_codes(same_network) == ["RATE_LIMITED"]
    assert available(next_network) == 6
    assert throttle_client(None, "2001:db8:1:2::1") == "ip:2001:db8:1:2::/64"


@pytest.mark.usefixtures("app")
async def test_concurrent_draws_never_spend_the_same_points(
    redis: Redis, settings: Settings, clock: ManualClock
) -> None:
    bucket = QueryCostBucket(
        redis, key_prefix=settings.redis_key_prefix, size=100, restore_rate=0.001, clock=clock
    )

    draws = await asyncio.gather(*(bucket.take("ip:203.0.113.7", 10) for _ in range(50)))

    assert sum(draw.allowed for draw in draws) == 10
    assert {draw.retry_after for draw in draws if not draw.allowed} == {10_000}


async def test_refused_queries_are_not_charged(
    client_from: Callable[[str], httpx.AsyncClient], use_bucket: Callable[..., QueryCostBucket]
) -> None:
    use_bucket(size=10, restore_rate=1)
    shopper = client_from("203.0.113.7")
    await ask(shopper)
    await ask(shopper)

    refusals = [await ask(shopper) for _ in range(5)]
    cheap = await ask(shopper, '{ a: product(slug: "a") { name } b: product(slug: "b") { name } }')

    assert {error_codes(body)[0] for body in refusals} == {"RATE_LIMITED"}
    assert available(cheap) == 0


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[Redis]:
    # Nothing listens on the port: every call is refused, as in an outage.
    redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    yield redis
    await redis.aclose()


async def test_without_redis_queries_are_served_unthrottled(
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
    unreachable_redis: Redis,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    use_bucket(size=10, restore_rate=1, redis=unreachable_redis, retry_after_seconds=5)
    shopper = client_from("203.0.113.7")

    with caplog.at_level(logging.WARNING, logger="resolvers.cost_bucket"):
        during = [await ask(shopper) for _ in range(4)]  # 16 points from a bucket of 10
        clock.now += 5
        retried = await ask(shopper)

    for body in [*during, retried]:
        assert body["data"] == {"a": None, "b": None, "c": None, "d": None}
        assert body["extensions"]["cost"] == {
            "requestedQueryCost": 4,
            "actualQueryCost": 4,
            "throttleStatus": None,
        }
    # One failure, then Redis is left alone for 5 seconds; then tried (and failing) again.
    failures = [r for r in caplog.records if "failed open" in r.getMessage()]
    assert len(failures) == 2


async def test_max_query_cost_still_holds_without_redis(
    client_from: Callable[[str], httpx.AsyncClient],
    use_bucket: Callable[..., QueryCostBucket],
    unreachable_redis: Redis,
) -> None:
    use_bucket(size=10, restore_rate=1, redis=unreachable_redis)

    body = await ask(
        client_from("203.0.113.7"),
        "{ a: products(first: 100) { edges { node { category { products(first: 100) { edges { node { name } } } } } } } }",
    )

    assert error_codes(body) == ["QUERY_TOO_COMPLEX"]


async def test_throttling_can_be_switched_off(
    client_from: Callable[[str], httpx.AsyncClient], use_bucket: Callable[..., QueryCostBucket]
) -> None:
    use_bucket(size=10, restore_rate=1, enabled=False)
    shopper = client_from("203.0.113.7")

    bodies = [await ask(shopper) for _ in range(5)]

    assert all("errors" not in body for body in bodies)
    assert {body["extensions"]["cost"]["throttleStatus"] for body in bodies} == {None}
