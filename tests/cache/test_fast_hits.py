"""Cache hits of anonymous GETs answered before GraphQL (schema/fast_hits.py): the same bytes and
headers as the normal path, one Redis command and no MongoDB one, the normal path for anything
else, writes seen at once, and the query-cost bucket still charged."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.cache_invalidations import PendingInvalidation, record_invalidation
from documents.catalog import Product
from integrations.local_servers import LocalServer, free_port, start_redis
from resolvers.cost_bucket import QueryCostBucket
from resolvers.persisted_queries import document_hash
from resolvers.query_cache import (
    CacheDependencies,
    QueryCache,
    cache_key,
    product_tags,
)
from schema.caching import KnownDocument
from schema.fast_hits import FastHits
from schema.middleware import RequestIdLogFilter
from server import create_app
from settings import Environment, Settings
from tests.factories import global_id, make_category, make_product
from tests.support import (
    MongoCommandCounter,
    admin_token,
    app_sharing_services,
    get_params,
    graphql,
    redis_commands,
    user_token,
)

pytestmark = pytest.mark.usefixtures("app")

PRODUCTS = "query Products($first: Int) { products(first: $first) { edges { node { name } } } }"
PRODUCT = "query Product($id: ID!) { product(id: $id) { name finalPrice { amount } } }"
PRODUCT_BY_SLUG = "query Page($slug: String!) { product(slug: $slug) { finalPrice { amount } } }"
UPDATE_PRODUCT = """
mutation UpdateProduct($input: UpdateProductInput!) {
  updateProduct(input: $input) { product { finalPrice { amount } } errors { code } }
}
"""
ALLOWED_ORIGIN = "http://localhost:3000"
CHECK_INTERVAL = 1.0


class ManualClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fast_hits_of(app: Starlette) -> FastHits:
    fast_hits: FastHits = app.state.fast_hits
    return fast_hits


params = get_params


async def raw_get(
    client: httpx.AsyncClient, query_params: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers as sent (names, values, order) and body as sent (not decompressed)."""
    request_headers = {"accept-encoding": "identity", "x-request-id": "same-id", **(headers or {})}
    async with client.stream(
        "GET", "/graphql", params=query_params, headers=request_headers
    ) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
        return response.status_code, list(response.headers.raw), body


async def get(
    client: httpx.AsyncClient, query_params: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.get(
        "/graphql", params=query_params, headers={"accept-encoding": "identity", **(headers or {})}
    )


def price_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    amount: str = response.json()["data"]["product"]["finalPrice"]["amount"]
    return amount


async def change_price(client: httpx.AsyncClient, product: Product, price: str) -> None:
    token = await admin_token(client)
    body = await graphql(
        client, UPDATE_PRODUCT, {"input": {"id": global_id(product), "price": price}}, token=token
    )
    assert body["data"]["updateProduct"]["errors"] == []


@pytest.fixture
async def catalog() -> list[Product]:
    shoes = await make_category("Shoes")
    return [
        await make_product(shoes, name=f"Running shoe model {n}", brand="Acme", price=10_000 + n)
        for n in range(30)
    ]


@pytest.fixture
async def silent_redis() -> AsyncIterator[Redis]:
    """A Redis that accepts connections and never answers: every call times out."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    redis = Redis.from_url(
        f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
        socket_timeout=0.2,
        socket_connect_timeout=0.2,
    )
    yield redis
    await redis.aclose()
    silent.close()


@pytest.fixture
def swap_query_cache(replace_services: Callable[..., None]) -> Callable[[QueryCache], None]:
    def swap(cache: QueryCache) -> None:
        replace_services(query_cache=cache)

    return swap


# --- the same answer either way ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "headers"),
    [
        (1, {}),  # a small answer: never gzipped
        (30, {}),  # a large one a client does not want gzipped: Vary says it could be
        (30, {"accept-encoding": "gzip"}),
        (30, {"accept-encoding": "gzip, br", "origin": ALLOWED_ORIGIN}),
        (1, {"origin": "https://elsewhere.example", "cookie": "refresh_token=abc"}),
    ],
)
async def test_a_hit_is_sent_as_the_normal_path_sends_it(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    first: int,
    headers: dict[str, str],
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCTS, {"first": first})

    missed = await raw_get(client, request, headers)  # the normal path: a miss, then stored
    served_before = fast_hits.served
    fast = await raw_get(client, request, headers)
    served_fast = fast_hits.served - served_before
    fast_hits.forget()  # as after a restart: the normal path answers the hit
    normal_hit = await raw_get(client, request, headers)

    assert served_fast == 1
    assert fast_hits.served - served_before == 1
    assert fast == missed == normal_hit
    status, sent_headers, _ = fast
    assert status == 200
    assert dict(sent_headers)[b"cache-control"].startswith(b"public")


async def test_a_production_hit_has_the_same_headers_hsts_included(
    app: Starlette, catalog: list[Product], settings: Settings
) -> None:
    production = app_sharing_services(
        settings.model_copy(update={"environment": Environment.PRODUCTION}), app
    )
    request = params(PRODUCTS, {"first": 1})
    transport = httpx.ASGITransport(app=production)
    async with httpx.AsyncClient(transport=transport, base_url="https://shop") as http:
        answers = [await raw_get(http, request) for _ in range(2)]

    assert production.state.fast_hits.served == 1
    assert answers[0] == answers[1]
    assert (b"strict-transport-security", b"max-age=31536000") in answers[1][1]


async def test_a_fast_hit_without_a_request_id_gets_a_new_one(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    request = params(PRODUCTS, {"first": 1})
    await get(client, request)
    served_before = fast_hits_of(app).served

    ids = [(await get(client, request)).headers["x-request-id"] for _ in range(2)]

    assert fast_hits_of(app).served == served_before + 2
    assert ids[0] != ids[1]
    assert all(len(request_id) == 32 for request_id in ids)


async def test_a_query_string_over_the_limit_is_refused_as_before(
    app: Starlette, catalog: list[Product], settings: Settings
) -> None:
    # A 2 KiB limit: httpx itself will not send a query string of more than 64 KiB.
    small = app_sharing_services(settings.model_copy(update={"max_json_request_bytes": 2048}), app)
    request = params(PRODUCTS, {"first": 1})
    padded = {**request, "extensions": json.dumps({"pad": "x" * 2048})}
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await get(http, request)
        await get(http, request)
        response = await get(http, padded)

    assert small.state.fast_hits.served == 1
    assert response.status_code == 414
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_the_gzipped_hit_is_the_bytes_gzip_middleware_sends(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    request = params(PRODUCTS, {"first": 30})
    await raw_get(client, request)
    zipped = await get(client, request, {"accept-encoding": "gzip"})
    plain = await get(client, request)

    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # httpx decodes it
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_a_matching_if_none_match_gets_the_same_304_either_way(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product], encoding: str
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCTS, {"first": 30})
    etag = dict((await raw_get(client, request, {"accept-encoding": encoding}))[1])[b"etag"]
    headers = {"accept-encoding": encoding, "if-none-match": f'"other", W/{etag.decode()}'}

    served_before = fast_hits.served
    fast = await raw_get(client, request, headers)
    fast_hits.forget()
    normal = await raw_get(client, request, headers)

    assert fast_hits.served - served_before == 1
    assert fast == normal
    assert fast[0] == 304
    assert fast[2] == b""


async def test_a_fast_hit_asks_mongodb_nothing_and_redis_one_command(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    settings: Settings,
    mongo_commands: MongoCommandCounter,
) -> None:
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    assert (await get(client, request)).status_code == 200  # the lease is fresh from here on
    served_before = fast_hits_of(app).served
    mongo_commands.reset()

    assert settings.redis_url is not None
    async with redis_commands(settings.redis_url) as commands:
        response = await get(client, request)

    assert price_of(response) == "100.00"
    assert fast_hits_of(app).served == served_before + 1
    assert [command.split()[0] for command in commands] == ["EVALSHA"]
    assert mongo_commands.commands == []
    assert mongo_commands.set_aside == []


def metric_samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("commerce_")
    }


async def test_a_fast_hit_is_counted_and_logged_as_a_hit_of_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    access = logging.getLogger("commerce.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        before = metric_samples((await client.get("/metrics")).text)
        served_before = fast_hits.served
        fast = await get(client, request, {"x-request-id": "fast-1"})
        served_fast = fast_hits.served - served_before
        fast_hits.forget()
        await get(client, request, {"x-request-id": "normal-1"})
        after = metric_samples((await client.get("/metrics")).text)
    finally:
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)

    def moved(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert served_fast == 1
    fast_line, normal_line = [line for line in lines.getvalue().splitlines() if "/graphql" in line]
    shape = re.compile(r"^(\S+) GET /graphql 200 [\d.]+ms (.*)$")
    fast_match, normal_match = shape.match(fast_line), shape.match(normal_line)
    assert fast_match is not None, fast_line
    assert normal_match is not None, normal_line
    # A product and its price: 2 points.
    assert fast_match.groups() == ("fast-1", "operation=Product cache=HIT cost=2")
    assert normal_match.groups() == ("normal-1", "operation=Product cache=HIT cost=2")
    assert moved("commerce_query_cache_requests_total", status="HIT") == 2
    durations = "commerce_request_duration_seconds_count"
    assert moved(durations, route="graphql", operation="Product") == 2
    assert moved("commerce_http_responses_total", route="graphql", status="200") == 2
    assert moved("commerce_graphql_query_cost_sum") == 4
    assert price_of(fast) == "100.00"


# --- what goes on to the normal path ------------------------------------------------------------


async def test_signed_in_and_guest_cart_requests_take_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    request = params(PRODUCTS, {"first": 1})
    await get(client, request)
    token = await user_token(client)
    served_before = fast_hits_of(app).served

    signed_in = await get(client, request, {"authorization": f"Bearer {token}"})
    with_cart = await get(client, request, {"x-cart-token": "a-guest-cart"})

    assert fast_hits_of(app).served == served_before
    for response in (signed_in, with_cart):
        assert response.headers["cache-control"] == "private, no-store"
        assert response.json()["data"]["products"]["edges"]


async def test_requests_the_fast_path_does_not_answer_get_the_normal_answer(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    request = params(PRODUCTS, {"first": 1})
    await get(client, request)
    served_before = fast_hits_of(app).served

    post = await client.post("/graphql", json={"query": PRODUCTS, "variables": {"first": 1}})
    streamed = await get(client, request, {"accept": "text/event-stream"})
    unknown_operation = await get(client, {**request, "operationName": "Other"})
    bad_variables = await get(client, {**request, "variables": "[1]"})
    both = await get(client, {**request, "documentId": "sha256:" + "0" * 64})
    null_persisted = await get(client, {**request, "extensions": '{"persistedQuery": null}'})
    new_document = await get(client, params("{ products(first: 2) { totalCount } }"))

    assert fast_hits_of(app).served == served_before
    assert post.json()["extensions"]["cache"] == "HIT"
    assert streamed.status_code == 200
    refused = (unknown_operation, bad_variables, both, null_persisted)
    assert [response.status_code for response in refused] == [400] * 4
    assert new_document.json() == {"data": {"products": {"totalCount": 30}}}


async def test_other_variables_of_a_known_document_miss_then_hit_without_the_normal_path(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = fast_hits_of(app)
    await get(client, params(PRODUCT, {"id": global_id(catalog[0])}))
    served_before = fast_hits.served

    other = params(PRODUCT, {"id": global_id(catalog[1])})
    first, second = await get(client, other), await get(client, other)
    # Variables in another order and the operation named: the same key.
    named = await get(
        client, params(PRODUCT, {"id": global_id(catalog[1])}, operationName="Product")
    )

    assert price_of(first) == price_of(second) == price_of(named) == "100.01"
    assert fast_hits.served == served_before + 2


async def test_a_document_named_by_its_hash_is_recognized_while_the_process_holds_it(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = fast_hits_of(app)
    sha256_hash = document_hash(PRODUCTS)
    persisted = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}})
    registered = await client.post(
        "/graphql", json={"query": PRODUCTS, "extensions": json.loads(persisted)}
    )
    assert registered.status_code == 200
    by_hash = {"extensions": persisted, "variables": json.dumps({"first": 2})}
    by_id = {"documentId": f"sha256:{sha256_hash}", "variables": json.dumps({"first": 2})}

    responses = [await get(client, by_hash), await get(client, by_hash), await get(client, by_id)]
    served = fast_hits.served
    app.state.services.persisted_queries.forget_local()  # the normal path must look it up
    looked_up = await get(client, by_id)

    assert {response.content for response in [*responses, looked_up]} == {responses[0].content}
    assert fast_hits.served == served  # forgotten: answered by the normal path, which refills it
    assert (await get(client, by_id)).status_code == 200
    assert fast_hits.served == served + 1


async def test_the_map_of_known_documents_keeps_the_most_recently_used() -> None:
    fast_hits = FastHits(size=2)
    known = KnownDocument(digest="d", default_operation_name=None)
    for query in ("{ a }", "{ b }"):
        fast_hits.learn({"query": query}, known)
    text = ("text", document_hash("{ a }"))
    assert fast_hits.recognize(text) == known  # "{ a }" is now the most recently used

    fast_hits.learn({"query": "{ c }"}, known)

    assert len(fast_hits) == 2
    assert fast_hits.recognize(text) == known
    assert fast_hits.recognize(("text", document_hash("{ b }"))) is None


async def test_a_query_string_asked_again_is_not_parsed_again_while_its_document_is_known(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCTS, {"first": 1})
    await get(client, request)
    response = await get(client, request)
    query_string = response.request.url.query

    remembered = fast_hits.keyed(query_string)
    fast_hits.forget()

    assert remembered is not None
    assert remembered.key == cache_key(PRODUCTS, "Products", {"first": 1}, "anonymous")
    assert fast_hits.keyed(query_string) is None


@pytest.mark.parametrize("switched_off", ["cache_fast_hits", "cache_enabled"])
async def test_without_fast_hits_or_the_cache_every_request_takes_the_normal_path(
    settings: Settings, switched_off: str
) -> None:
    app = create_app(settings.model_copy(update={switched_off: False}))

    assert app.state.fast_hits is None


# --- invalidation stays exact ---------------------------------------------------------------------


async def test_a_write_is_seen_by_the_very_next_get(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    assert price_of(await get(client, request)) == "100.00"
    served_before = fast_hits.served

    await change_price(client, catalog[0], "120.00")
    after = await get(client, request)
    again = await get(client, request)

    assert price_of(after) == "120.00"
    assert price_of(again) == "120.00"
    assert fast_hits.served == served_before + 1  # the miss went the normal path


async def test_gets_racing_a_write_see_the_old_or_the_new_price_and_after_it_only_the_new(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    token = await admin_token(client)

    async def write() -> None:
        body = await graphql(
            client,
            UPDATE_PRODUCT,
            {"input": {"id": global_id(catalog[0]), "price": "120.00"}},
            token=token,
        )
        assert body["data"]["updateProduct"]["errors"] == []

    racing = await asyncio.gather(*[get(client, request) for _ in range(20)], write())
    after = [await get(client, request) for _ in range(3)]

    assert {price_of(response) for response in racing[:-1]} <= {"100.00", "120.00"}
    assert [price_of(response) for response in after] == ["120.00"] * 3


async def test_a_changed_or_lost_tag_version_makes_the_fast_path_miss(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    redis: Redis,
    settings: Settings,
) -> None:
    fast_hits = fast_hits_of(app)
    request = params(PRODUCT_BY_SLUG, {"slug": catalog[0].slug})
    await get(client, request)
    await get(client, request)
    served_before = fast_hits.served
    tag = f"{settings.redis_key_prefix}qc:tag:products:slug:{catalog[0].slug}"

    await catalog[0].set({Product.price: 9_000, Product.final_price: 9_000})
    await redis.set(tag, "another-version")  # as a write's invalidation does
    changed = await get(client, request)
    await catalog[0].set({Product.price: 8_000, Product.final_price: 8_000})
    await redis.delete(tag)  # evicted: the entries that read it may never match again
    lost = await get(client, request)

    assert (price_of(changed), price_of(lost)) == ("90.00", "80.00")
    assert fast_hits.served == served_before


async def test_a_result_an_invalidation_raced_is_never_stored_for_the_fast_path(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product]
) -> None:
    cache: QueryCache = app.state.services.query_cache
    slug = catalog[0].slug
    request = params(PRODUCT_BY_SLUG, {"slug": slug})
    await get(client, request)  # the document is known; its entry is replaced below
    key = cache_key(PRODUCT_BY_SLUG, "Page", {"slug": slug}, "anonymous")
    await cache.invalidate_product(catalog[0])
    lookup = await cache.lookup(key)

    # The read behind `data` predates a write that lands before it is stored.
    await cache.invalidate_product(catalog[0])
    dependencies = CacheDependencies()
    dependencies("products", "slug", slug)
    await cache.store(
        key, {"product": {"finalPrice": {"amount": "1.00"}}}, dependencies, lookup.epoch, client="c"
    )
    served_before = fast_hits_of(app).served

    assert price_of(await get(client, request)) == "100.00"
    assert fast_hits_of(app).served == served_before


async def test_an_invalidation_left_pending_is_applied_before_the_fast_path_serves_again(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    redis: Redis,
    settings: Settings,
    swap_query_cache: Callable[[QueryCache], None],
) -> None:
    clock = ManualClock()
    swap_query_cache(
        QueryCache(
            redis,
            key_prefix=settings.redis_key_prefix,
            ttl_seconds=300,
            pending_check_seconds=CHECK_INTERVAL,
            clock=clock,
        )
    )
    fast_hits = fast_hits_of(app)
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    assert price_of(await get(client, request)) == "100.00"

    # Committed with its write by a process that died before applying it to Redis.
    await catalog[0].set({Product.price: 12_000, Product.final_price: 12_000})
    await record_invalidation(product_tags(catalog[0]))
    clock.now += CHECK_INTERVAL  # this process's lease runs out: it checks before serving
    served_before = fast_hits.served
    response = await get(client, request)

    assert price_of(response) == "120.00"
    assert fast_hits.served == served_before
    assert await PendingInvalidation.count() == 0


# --- Redis failing -------------------------------------------------------------------------------


async def test_a_redis_that_lost_its_scripts_still_serves_hits(
    app: Starlette, client: httpx.AsyncClient, catalog: list[Product], redis: Redis
) -> None:
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)
    served_before = fast_hits_of(app).served

    await redis.script_flush()  # as a restarted Redis would have
    response = await get(client, request)

    assert price_of(response) == "100.00"
    assert fast_hits_of(app).served == served_before + 1
    assert app.state.services.query_cache.available


@pytest.fixture
async def outage_redis(tmp_path: Any) -> AsyncIterator[LocalServer]:
    server = start_redis(tmp_path / "redis", free_port())
    yield server
    server.stop()


async def test_redis_down_answers_from_mongodb_after_one_failed_read(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    outage_redis: LocalServer,
    swap_query_cache: Callable[[QueryCache], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis = Redis.from_url(outage_redis.uri, socket_timeout=0.5, socket_connect_timeout=0.5)
    cache = QueryCache(redis, key_prefix="down:", ttl_seconds=60, retry_after_seconds=5)
    swap_query_cache(cache)
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    try:
        await get(client, request)
        await get(client, request)
        served_before = fast_hits_of(app).served
        outage_redis.stop()

        caplog.clear()
        during = await get(client, request)
    finally:
        await redis.aclose()

    assert price_of(during) == "100.00"
    assert fast_hits_of(app).served == served_before
    assert caplog.text.count("query cache lookup failed") == 1
    assert not cache.available


async def test_a_redis_that_does_not_answer_costs_a_request_one_timeout_not_two(
    app: Starlette,
    client: httpx.AsyncClient,
    catalog: list[Product],
    redis: Redis,
    settings: Settings,
    silent_redis: Redis,
    swap_query_cache: Callable[[QueryCache], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = params(PRODUCT, {"id": global_id(catalog[0])})
    await get(client, request)  # the document is known
    swap_query_cache(QueryCache(silent_redis, key_prefix=settings.redis_key_prefix, ttl_seconds=60))

    caplog.clear()
    response = await get(client, request)

    assert price_of(response) == "100.00"
    assert caplog.text.count("query cache lookup timed out") == 1


# --- query cost -------------------------------------------------------------------------------


@pytest.fixture
async def shopper(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def bucket_on(redis: Redis, settings: Settings, clock: ManualClock) -> QueryCostBucket:
    return QueryCostBucket(
        redis, key_prefix=settings.redis_key_prefix, size=10, restore_rate=1, clock=clock
    )


# Costs 2 (a page and its count) + 2 x 1 (a product): 4, requested and actual.
PAGE_OF_TWO = params(PRODUCTS, {"first": 2})


@pytest.mark.parametrize("same_redis", [True, False], ids=["same-redis", "own-redis"])
async def test_fast_hits_draw_their_cost_and_a_short_bucket_gets_the_normal_refusal(
    app: Starlette,
    shopper: httpx.AsyncClient,
    catalog: list[Product],
    redis: Redis,
    settings: Settings,
    outage_redis: LocalServer,
    replace_services: Callable[..., None],
    same_redis: bool,
) -> None:
    clock = ManualClock(1_000_000.0)
    bucket_redis = redis if same_redis else Redis.from_url(outage_redis.uri)
    bucket = bucket_on(bucket_redis, settings, clock)
    replace_services(cost_bucket=bucket)
    fast_hits = fast_hits_of(app)
    try:
        await get(shopper, PAGE_OF_TWO)  # the normal path: 4 points
        served_before = fast_hits.served
        assert settings.redis_url is not None
        async with redis_commands(settings.redis_url) as commands:
            fast = await get(shopper, PAGE_OF_TWO)  # 4 more: 2 left
        refused_fast = await get(shopper, PAGE_OF_TWO)
        fast_hits.forget()
        refused_normal = await get(shopper, PAGE_OF_TWO)
        clock.now += 2  # 4 points again, all taken
        after_refill = await get(shopper, PAGE_OF_TWO)
        level = await bucket_redis.hget(f"{settings.redis_key_prefix}cost:ip:203.0.113.7", "level")
    finally:
        if not same_redis:
            await bucket_redis.aclose()

    assert fast.status_code == 200
    assert fast.json()["data"]["products"]["edges"]
    assert fast_hits.served == served_before + 1  # the refusals and the relearning went normal
    assert [command.split()[0] for command in commands] == ["EVALSHA"]
    for refused in (refused_fast, refused_normal):
        body = refused.json()
        assert body["errors"][0]["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 2}
        assert refused.headers["cache-control"] == "private, no-store"
    assert refused_fast.content == refused_normal.content
    assert after_refill.status_code == 200
    assert float(level) == 0.0
