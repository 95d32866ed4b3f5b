"""The app on a Redis Cluster (REDIS_CLUSTER; README, "Scale-out"): a real three-master cluster,
the query cache's misses, hits (the fast path too) and invalidations, persisted queries, the
query-cost bucket and the rate limits, and every key the entry script reads in one slot."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import RedisCluster
from starlette.applications import Starlette

from documents.catalog import Product
from integrations.local_servers import free_port
from resolvers.persisted_queries import document_hash
from resolvers.query_cache import QueryCache
from server import create_app, init_documents
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, global_id, make_category, make_product, make_user
from tests.support import LOGIN, admin_token, graphql

PRODUCTS = "query Products($first: Int) { products(first: $first) { edges { node { name } } } }"
PRODUCT = "query Product($id: ID!) { product(id: $id) { name finalPrice { amount } } }"
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { finalPrice { amount } } errors { code } }
}
"""


@pytest.fixture(scope="module")
async def cluster_app(
    app: Starlette, settings: Settings, redis_cluster_url: str
) -> AsyncIterator[Starlette]:
    """The app with REDIS_CLUSTER against the cluster, its job queue on the plain test Redis,
    query costs throttled (buckets that do not refill within a test) and two sign-in tries a
    minute per account and address."""
    configured = settings.model_copy(
        update={
            "redis_cluster": True,
            "redis_url": redis_cluster_url,
            "jobs_redis_url": settings.redis_url,
            "query_cost_throttle_enabled": True,
            "query_cost_restore_rate": 0.001,  # what a query takes stays taken, for a test
            "rate_limits": {**settings.rate_limits, "login:account_ip": "2/minute"},
        }
    )
    clustered = create_app(configured)
    try:
        async with clustered.router.lifespan_context(clustered):
            yield clustered
    finally:
        # Beanie binds the documents to one client per process: the shared app's again.
        await init_documents(app.state.mongo, app.state.settings)


@pytest.fixture
async def cluster(cluster_app: Starlette) -> AsyncIterator[RedisCluster]:
    """The app's cluster client; the cluster is emptied after each test."""
    client: RedisCluster = cluster_app.state.redis
    yield client
    await client.flushall()


@pytest.fixture
async def client(cluster_app: Starlette, cluster: RedisCluster) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cluster_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def catalog() -> list[Product]:
    shoes = await make_category("Shoes")
    return [await make_product(shoes, price=10_000 + n) for n in range(3)]


async def get(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> httpx.Response:
    response = await client.get(
        "/graphql", params={"query": query, "variables": json.dumps(variables)}
    )
    assert response.status_code == 200, response.text
    return response


def price_of(response: httpx.Response) -> str:
    amount: str = response.json()["data"]["product"]["finalPrice"]["amount"]
    return amount


async def keys_matching(cluster: RedisCluster, pattern: str) -> list[bytes]:
    return [key async for key in cluster.scan_iter(match=pattern)]


async def test_the_cluster_has_three_masters_and_the_app_uses_it(
    cluster_app: Starlette, cluster: RedisCluster
) -> None:
    assert await cluster.ping()  # the client finds the nodes on its first command
    assert len(cluster.get_primaries()) == 3
    assert cluster_app.state.services.query_cache.redis is cluster


async def test_an_entry_its_tag_versions_and_the_epoch_share_one_slot(
    client: httpx.AsyncClient, cluster: RedisCluster, catalog: list[Product], settings: Settings
) -> None:
    await get(client, PRODUCTS, {"first": 3})
    await get(client, PRODUCT, {"id": global_id(catalog[0])})

    keys = await keys_matching(cluster, f"{{{settings.redis_key_prefix}qc}}:*")
    slots = {await cluster.cluster_keyslot(key.decode()) for key in keys}

    kinds = {key.decode().split("}:", 1)[1].split(":", 1)[0] for key in keys}
    assert kinds == {"entry", "tag", "epoch"}
    assert len([key for key in keys if b"}:entry:" in key]) == 2
    assert len(slots) == 1


async def test_a_miss_is_stored_and_the_next_get_is_a_fast_hit(
    cluster_app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = cluster_app.state.fast_hits
    served_before = fast_hits.served

    first = await get(client, PRODUCTS, {"first": 3})
    served_after_first = fast_hits.served
    second = await get(client, PRODUCTS, {"first": 3})

    assert len(first.json()["data"]["products"]["edges"]) == 3
    assert second.content == first.content  # the stored bytes, as sent
    assert (served_after_first, fast_hits.served) == (served_before, served_before + 1)


async def test_a_write_is_seen_by_the_next_get_and_then_cached_again(
    cluster_app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    variables = {"id": global_id(catalog[0])}
    await get(client, PRODUCT, variables)
    assert price_of(await get(client, PRODUCT, variables)) == "100.00"
    token = await admin_token(client)

    body = await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(catalog[0]), "price": "120.00"}},
        token=token,
    )
    served_before = cluster_app.state.fast_hits.served
    after = await get(client, PRODUCT, variables)
    again = await get(client, PRODUCT, variables)

    assert body["data"]["updateProduct"]["errors"] == []
    assert (price_of(after), price_of(again)) == ("120.00", "120.00")
    # The write retired the entry: the next GET ran (and stored it anew), the one after hit.
    assert cluster_app.state.fast_hits.served == served_before + 1


async def test_other_entries_keep_hitting_after_a_write_they_do_not_show(
    client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    shown = {"id": global_id(catalog[1])}
    await get(client, PRODUCT, shown)
    token = await admin_token(client)

    await graphql(
        client,
        UPDATE_PRODUCT,
        {"input": {"id": global_id(catalog[0]), "price": "120.00"}},
        token=token,
    )
    # The normal path (a POST) says how it was answered.
    response = await client.post("/graphql", json={"query": PRODUCT, "variables": shown})

    assert response.json()["extensions"]["cache"] == "HIT"
    assert price_of(response) == "100.01"


async def test_hits_are_charged_to_the_query_cost_bucket_on_its_own_slot(
    client: httpx.AsyncClient, cluster: RedisCluster, catalog: list[Product], settings: Settings
) -> None:
    bucket = f"{settings.redis_key_prefix}cost:ip:127.0.0.1"
    await get(client, PRODUCTS, {"first": 3})
    after_miss = float(await cluster.hget(bucket, "level"))

    await get(client, PRODUCTS, {"first": 3})  # a fast hit, charged by a script of its own

    assert float(await cluster.hget(bucket, "level")) < after_miss
    entry_slot = await cluster.cluster_keyslot(f"{{{settings.redis_key_prefix}qc}}:epoch")
    assert await cluster.cluster_keyslot(bucket) != entry_slot


async def test_persisted_queries_are_kept_in_the_cluster(
    cluster_app: Starlette, client: httpx.AsyncClient, cluster: RedisCluster, settings: Settings
) -> None:
    sha = document_hash(PRODUCTS)
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha}})
    params = {"extensions": extensions, "variables": json.dumps({"first": 1})}

    unknown = (await client.get("/graphql", params=params)).json()
    registered = await client.get("/graphql", params={**params, "query": PRODUCTS})
    cluster_app.state.services.persisted_queries.forget_local()  # as another process
    known = await client.get("/graphql", params=params)

    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.json()["data"] == {"products": {"edges": []}}
    assert known.json()["data"] == {"products": {"edges": []}}
    assert await cluster.exists(f"{settings.redis_key_prefix}apq:{sha}") == 1


async def test_sign_in_limits_are_counted_in_the_cluster(client: httpx.AsyncClient) -> None:
    await make_user("limited@example.com")
    attempt = {"input": {"email": "limited@example.com", "password": "wrong password"}}

    codes = [
        [
            error["code"]
            for error in (await graphql(client, LOGIN, attempt))["data"]["login"]["errors"]
        ]
        for _ in range(2)
    ]
    refused = await graphql(
        client, LOGIN, {"input": {**attempt["input"], "password": DEFAULT_PASSWORD}}
    )

    assert codes == [["INVALID_CREDENTIALS"]] * 2
    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_cluster_that_cannot_be_reached_leaves_queries_to_mongodb(
    cluster_app: Starlette, client: httpx.AsyncClient, catalog: list[Product], settings: Settings
) -> None:
    unreachable = RedisCluster.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    services = cluster_app.state.services
    cluster_app.state.services = dataclasses.replace(
        services,
        query_cache=QueryCache(unreachable, key_prefix=settings.redis_key_prefix, ttl_seconds=60),
    )
    try:
        response = await client.post(
            "/graphql", json={"query": PRODUCT, "variables": {"id": global_id(catalog[0])}}
        )
    finally:
        cluster_app.state.services = services
        await unreachable.aclose()

    assert response.status_code == 200
    assert response.json()["extensions"]["cache"] == "UNAVAILABLE"
    assert price_of(response) == "100.00"


@pytest.mark.parametrize(
    ("cluster_mode", "queue_on_cluster", "problem"),
    [
        (True, True, "the job queue's Redis is a node of a Redis Cluster"),
        (False, False, "REDIS_URL Redis is a node of a Redis Cluster: set REDIS_CLUSTER=true"),
    ],
)
async def test_a_cluster_node_where_a_plain_redis_belongs_is_refused_at_startup(
    app: Starlette,
    settings: Settings,
    redis_cluster_url: str,
    cluster_mode: bool,
    queue_on_cluster: bool,
    problem: str,
) -> None:
    configured = settings.model_copy(
        update={
            "redis_cluster": cluster_mode,
            "redis_url": redis_cluster_url,
            "jobs_redis_url": redis_cluster_url if queue_on_cluster else settings.redis_url,
        }
    )
    refused = create_app(configured)

    with pytest.raises(RuntimeError, match=re.escape(problem)):
        async with refused.router.lifespan_context(refused):
            pass
