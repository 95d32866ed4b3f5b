"""Automatic persisted queries, as Apollo Client's persisted-queries link uses them: the hash alone
first (over GET), the document with its hash when the API answers PERSISTED_QUERY_NOT_FOUND, then
the hash alone again. Documents live in the cache Redis and an in-process LRU."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from redis.asyncio import Redis

from documents.accounts import User
from integrations.local_servers import free_port
from resolvers.persisted_queries import PersistedQueries, document_hash
from settings import Settings
from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter, client_at, error_codes

PRODUCT_NAMES = "query ProductNames { products(first: 10) { edges { node { name } } } }"
REGISTER = """
mutation Register {
  register(input: {email: "mallory@example.com", password: "a good passphrase", name: "M"}) {
    errors { code }
  }
}
"""
TWO_QUERIES = """
query Count { products { totalCount } }
query Names { products { edges { node { name } } } }
"""
# Issue 11's query: over MAX_QUERY_COST.
EXPENSIVE = """
{ products(first:100, filter:{priceMin:"0.00"}){ edges { node { category { products(first:100){ edges {
  node { category { products(first:100){ edges { node { name } } } } } } } } } } } }
"""
UNKNOWN_HASH = "0" * 64


def persisted(sha256_hash: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256_hash}}


async def get_by_hash(client: httpx.AsyncClient, sha256_hash: str, **params: str) -> httpx.Response:
    extensions = json.dumps(persisted(sha256_hash))
    return await client.get("/graphql", params={"extensions": extensions, **params})


async def post_by_hash(client: httpx.AsyncClient, sha256_hash: str) -> httpx.Response:
    return await client.post("/graphql", json={"extensions": persisted(sha256_hash)})


async def register(
    client: httpx.AsyncClient, query: str, sha256_hash: str | None = None, **fields: Any
) -> httpx.Response:
    sha256_hash = sha256_hash or document_hash(query)
    body = {"query": query, "extensions": persisted(sha256_hash), **fields}
    return await client.post("/graphql", json=body)


def not_found(response: httpx.Response) -> bool:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    return body.get("data") is None


def store_of(app: Any) -> PersistedQueries:
    store: PersistedQueries = app.state.services.persisted_queries
    return store


def small_store(redis: Redis, settings: Settings, **limits: int) -> PersistedQueries:
    """A store of this run's keys with small limits (`limits` replaces some)."""
    sizes = {"ttl_seconds": 60, "max_document_bytes": 4096, "lru_size": 10, **limits}
    return PersistedQueries(redis, key_prefix=settings.redis_key_prefix, **sizes)


async def stored_keys(redis: Redis, settings: Settings) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=f"{settings.redis_key_prefix}apq:*")]


async def test_an_unknown_hash_is_not_found_over_post_and_get(client: httpx.AsyncClient) -> None:
    assert not_found(await post_by_hash(client, UNKNOWN_HASH))
    assert not_found(await get_by_hash(client, UNKNOWN_HASH))


async def test_a_registered_document_runs_by_its_hash_over_get_with_the_same_data(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    await make_product(await make_category("Shoes"), name="Runner")
    sha256_hash = document_hash(PRODUCT_NAMES)

    registered = await register(client, PRODUCT_NAMES)
    by_hash = await get_by_hash(client, sha256_hash)

    assert registered.status_code == 200
    assert by_hash.status_code == 200
    assert by_hash.json()["data"] == registered.json()["data"]
    assert by_hash.json()["data"]["products"]["edges"] == [{"node": {"name": "Runner"}}]
    [key] = await stored_keys(redis, settings)
    assert await redis.get(key) == PRODUCT_NAMES.encode()
    assert 0 < await redis.ttl(key) <= settings.persisted_query_ttl_seconds


async def test_a_hash_that_does_not_match_the_document_is_a_bad_request_and_not_stored(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    wrong_hash = document_hash(TWO_QUERIES)

    response = await register(client, PRODUCT_NAMES, wrong_hash)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": "provided sha does not match query", "extensions": {"code": "BAD_REQUEST"}}
    ]
    assert await stored_keys(redis, settings) == []
    assert not_found(await get_by_hash(client, wrong_hash))


async def test_a_malformed_hash_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await post_by_hash(client, "not-a-hash")

    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]


async def test_another_version_is_not_supported(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"extensions": persisted(document_hash(PRODUCT_NAMES), version=2)}
    )

    assert response.status_code == 200
    assert response.json()["errors"] == [
        {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
    ]


async def test_after_a_redis_restart_the_lru_serves_and_after_a_process_restart_the_client_re_registers(
    app: Any, client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    sha256_hash = document_hash(PRODUCT_NAMES)
    await register(client, PRODUCT_NAMES)

    await redis.delete(*await stored_keys(redis, settings))
    from_lru = await get_by_hash(client, sha256_hash)
    store_of(app).forget_local()
    lost = await get_by_hash(client, sha256_hash)
    registered_again = await register(client, PRODUCT_NAMES)
    served_again = await get_by_hash(client, sha256_hash)

    assert from_lru.json()["data"] == {"products": {"edges": []}}
    assert not_found(lost)
    assert registered_again.status_code == 200
    assert served_again.json()["data"] == {"products": {"edges": []}}
    assert len(await stored_keys(redis, settings)) == 1


async def test_another_process_serves_a_document_from_redis(
    app: Any, client: httpx.AsyncClient
) -> None:
    sha256_hash = document_hash(PRODUCT_NAMES)
    await register(client, PRODUCT_NAMES)
    store_of(app).forget_local()  # as a process that never saw the registration

    response = await get_by_hash(client, sha256_hash)

    assert response.json()["data"] == {"products": {"edges": []}}


async def test_a_mutation_by_hash_over_get_is_refused_and_does_not_run(
    client: httpx.AsyncClient,
) -> None:
    sha256_hash = document_hash(REGISTER)
    registered = await register(client, REGISTER)
    await User.delete_all()

    response = await get_by_hash(client, sha256_hash)

    assert registered.status_code == 200
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert await User.count() == 0


async def test_a_document_that_does_not_validate_is_not_stored(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    query = "{ products { nameThatDoesNotExist } }"

    response = await register(client, query)

    assert error_codes(response.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert await stored_keys(redis, settings) == []
    assert not_found(await get_by_hash(client, document_hash(query)))


async def test_the_query_cost_limit_applies_to_a_persisted_document(
    client: httpx.AsyncClient, redis: Redis, settings: Settings
) -> None:
    response = await register(client, EXPENSIVE)

    assert error_codes(response.json()) == ["QUERY_TOO_COMPLEX"]
    assert await stored_keys(redis, settings) == []


async def test_the_operation_name_rules_apply_to_a_persisted_document(
    client: httpx.AsyncClient,
) -> None:
    sha256_hash = document_hash(TWO_QUERIES)
    registered = await register(client, TWO_QUERIES, operationName="Count")

    without_name = await get_by_hash(client, sha256_hash)
    named = await get_by_hash(client, sha256_hash, operationName="Count")

    assert registered.json()["data"] == {"products": {"totalCount": 0}}
    assert without_name.status_code == 400
    assert "operationName" in without_name.json()["errors"][0]["message"]
    assert named.json()["data"] == {"products": {"totalCount": 0}}


async def test_while_redis_is_down_the_lru_serves_and_unknown_hashes_are_not_found(
    client: httpx.AsyncClient, replace_services: Callable[..., None], settings: Settings
) -> None:
    # Nothing listens on the port: every Redis call is refused, as in an outage.
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    replace_services(persisted_queries=small_store(down, settings))
    try:
        registered = await register(client, PRODUCT_NAMES)
        from_lru = await get_by_hash(client, document_hash(PRODUCT_NAMES))
        unknown = await get_by_hash(client, UNKNOWN_HASH)
    finally:
        await down.aclose()

    assert registered.status_code == 200
    assert from_lru.json()["data"] == {"products": {"edges": []}}
    assert not_found(unknown)


async def test_the_lru_keeps_only_its_size_of_documents() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}", socket_connect_timeout=0.5)
    store = PersistedQueries(
        down,
        key_prefix="t:",
        ttl_seconds=60,
        max_document_bytes=4096,
        lru_size=2,
        retry_after_seconds=3600,
    )
    documents = [f"{{ a{index}: __typename }}" for index in range(3)]
    try:
        for document in documents:
            await store.register(document_hash(document), document, client="tests")
        await store.lookup(document_hash(documents[1]))  # the most recently used stays
        await store.register(document_hash("{ __typename }"), "{ __typename }", client="tests")
        kept = [await store.lookup(document_hash(document)) for document in documents]
    finally:
        await down.aclose()

    assert kept == [None, documents[1], None]


async def test_a_document_over_the_size_limit_runs_but_is_not_stored(
    client: httpx.AsyncClient,
    replace_services: Callable[..., None],
    settings: Settings,
    redis: Redis,
) -> None:
    replace_services(
        persisted_queries=small_store(redis, settings, max_document_bytes=len(PRODUCT_NAMES) - 1)
    )

    registered = await register(client, PRODUCT_NAMES)

    assert registered.json()["data"] == {"products": {"edges": []}}
    assert await stored_keys(redis, settings) == []
    assert not_found(await get_by_hash(client, document_hash(PRODUCT_NAMES)))


async def test_a_hashed_get_hits_the_query_cache_entry_the_full_document_filled(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    registered = await register(client, PRODUCT_NAMES)
    mongo_commands.reset()

    by_hash = await get_by_hash(client, document_hash(PRODUCT_NAMES))

    assert registered.json()["extensions"]["cache"] == "MISS"
    # A public GET answer carries only `data` (README, "GET and CDNs"): that it came from the
    # cache shows in MongoDB not being asked.
    assert by_hash.json() == {"data": registered.json()["data"]}
    assert mongo_commands.commands == []


def typename_with_comment(padding: int) -> str:
    """A document that costs nothing to run and is new for every `padding`."""
    return "{ __typename }\n# " + "x" * padding


async def test_a_client_past_its_share_of_registrations_is_served_but_stores_nothing(
    app: Any, replace_services: Callable[..., None], settings: Settings, redis: Redis
) -> None:
    replace_services(
        persisted_queries=small_store(redis, settings, max_registrations_per_client_minute=3)
    )
    documents = [typename_with_comment(padding) for padding in range(5)]

    async with client_at(app, "203.0.113.7") as greedy, client_at(app, "198.51.100.1") as other:
        registered = [await register(greedy, document) for document in documents]
        by_hash = [await get_by_hash(greedy, document_hash(document)) for document in documents]
        another_client = await register(other, PRODUCT_NAMES)
        another_by_hash = await get_by_hash(greedy, document_hash(PRODUCT_NAMES))

    assert [response.json()["data"] for response in registered] == [{"__typename": "Query"}] * 5
    assert [response.json().get("data") for response in by_hash[:3]] == [
        {"__typename": "Query"}
    ] * 3
    assert all(not_found(response) for response in by_hash[3:])
    assert another_client.json()["data"] == {"products": {"edges": []}}
    assert another_by_hash.json()["data"] == {"products": {"edges": []}}
    assert len(await stored_keys(redis, settings)) == 4


async def test_a_comment_counts_towards_the_size_limit(
    client: httpx.AsyncClient, settings: Settings, redis: Redis
) -> None:
    document = typename_with_comment(settings.persisted_query_max_bytes)

    registered = await register(client, document)

    assert registered.json()["data"] == {"__typename": "Query"}
    assert await stored_keys(redis, settings) == []
    assert not_found(await get_by_hash(client, document_hash(document)))
