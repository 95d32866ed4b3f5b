"""`/metrics`: counters move by what the requests did (responses, latency per operation, query
cache statuses, query cost, refusals), pools and the job queue are shown, and the endpoint is
protected (a bearer token, or this machine outside production)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from redis.asyncio import Redis
from starlette.applications import Starlette

from documents.errors import RateLimitedError
from integrations.jobs import JobQueue, RetryPolicy
from integrations.local_servers import free_port
from resolvers.cost_bucket import QueryCostBucket
from resolvers.metrics import MAX_OPERATION_LABELS, ProcessMetrics, process_metrics
from resolvers.rate_limits import RateLimiter
from server.app import build_outbox
from settings import Environment, Settings
from tests.factories import make_category, make_product
from tests.support import app_sharing_services, client_at, error_codes

PRODUCT_PAGE = "query ProductPage($slug: String!) { product(slug: $slug) { name } }"
UNNAMED = "{ categories(first: 5) { edges { node { name } } } }"
FOUR_POINTS = """
{ a: product(slug: "a") { name } b: product(slug: "b") { name }
  c: product(slug: "c") { name } d: product(slug: "d") { name } }
"""
TOKEN = "a-metrics-token-of-32-characters"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def written(metrics: ProcessMetrics) -> Samples:
    """The values of `metrics` as prometheus-client holds them (nothing flushed first)."""
    samples = parse(generate_latest(metrics.registry).decode())
    return {key: number for key, number in samples.items() if key[0].startswith("commerce_")}


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables})


@pytest.fixture
def client_with(app: Starlette, settings: Settings) -> Callable[..., Any]:
    """A client of an app built with `settings` changed by `changes`, calling from `ip`."""

    @asynccontextmanager
    async def client(ip: str = "127.0.0.1", **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        configured = app_sharing_services(settings.model_copy(update=changes), app)
        async with client_at(configured, ip) as http:
            yield http

    return client


async def test_requests_move_their_counters_by_what_they_did(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category("Shoes")
    await make_product(category, slug="runner")
    before = await scrape(client)

    miss = (await post(client, PRODUCT_PAGE, slug="runner")).json()
    hit = (await post(client, PRODUCT_PAGE, slug="runner")).json()
    unnamed = (await post(client, UNNAMED)).json()
    invalid = await post(client, "{ nosuchfield }")
    await client.get("/healthz")
    after = await scrape(client)

    assert [miss["extensions"]["cache"], hit["extensions"]["cache"]] == ["MISS", "HIT"]
    assert unnamed["extensions"]["cache"] == "MISS"
    durations = "commerce_request_duration_seconds_count"
    assert moved(before, after, durations, route="graphql", operation="ProductPage") == 2
    assert moved(before, after, durations, route="graphql", operation="unnamed") == 1
    assert moved(before, after, durations, route="graphql", operation="none") == 1
    assert moved(before, after, durations, route="health", operation="none") == 1
    responses = "commerce_http_responses_total"
    # A document that does not validate is answered 200, with its errors.
    assert invalid.status_code == 200
    assert moved(before, after, responses, route="graphql", status="200") == 4
    assert moved(before, after, responses, route="health", status="200") == 1
    # The first scrape is counted once it has been answered.
    assert moved(before, after, responses, route="metrics", status="200") == 1
    cache = "commerce_query_cache_requests_total"
    assert moved(before, after, cache, status="MISS") == 2
    assert moved(before, after, cache, status="HIT") == 1
    assert moved(before, after, cache, status="BYPASS") == 0
    costs = [hit["extensions"]["cost"]["actualQueryCost"] for _ in range(2)]
    costs.append(unnamed["extensions"]["cost"]["actualQueryCost"])
    assert moved(before, after, "commerce_graphql_query_cost_count") == 3
    assert moved(before, after, "commerce_graphql_query_cost_sum") == sum(costs)


async def test_operation_names_are_bounded() -> None:
    metrics = ProcessMetrics()
    metrics.name_operations(["FromTheManifest"])

    labels = [metrics.operation_label(f"Operation{n}") for n in range(MAX_OPERATION_LABELS + 5)]

    assert labels[:MAX_OPERATION_LABELS] == [f"Operation{n}" for n in range(MAX_OPERATION_LABELS)]
    assert labels[MAX_OPERATION_LABELS:] == ["other"] * 5
    assert metrics.operation_label("FromTheManifest") == "FromTheManifest"
    assert metrics.operation_label("Operation3") == "Operation3"
    assert metrics.operation_label("") == "unnamed"
    assert metrics.operation_label(None) == "none"
    assert ProcessMetrics().operation_label("not a\nname") == "other"


def test_buffered_metrics_are_written_as_they_would_be_at_once() -> None:
    buffered, at_once = ProcessMetrics(), ProcessMetrics()
    at_once.write_through = True
    requests = [
        ("graphql", 200, 0.0004, "ProductPage", "HIT", 7),
        ("graphql", 200, 0.0123, "ProductPage", "MISS", 7),
        ("graphql", 200, 10.0, "", "BYPASS", 0),  # on a bucket's upper bound
        ("graphql", 400, 42.0, None, None, None),  # past the last bound
        ("health", 200, 0.001, None, None, None),
        ("media", 404, 0.003, None, None, None),
    ]
    for request in requests:
        buffered.observe_request(*request)
        at_once.observe_request(*request)

    unwritten = written(buffered)
    buffered.flush()

    assert written(buffered) == written(at_once)
    assert value(unwritten, "commerce_request_duration_seconds_count", route="health",
                 operation="none") == 0  # fmt: skip
    assert value(written(at_once), "commerce_request_duration_seconds_bucket", route="graphql",
                 operation="unnamed", le="10.0") == 1  # fmt: skip
    assert value(written(at_once), "commerce_request_duration_seconds_bucket", route="graphql",
                 operation="none", le="10.0") == 0  # fmt: skip


async def test_cost_refusals_are_counted(
    client: httpx.AsyncClient,
    client_with: Callable[..., Any],
    redis: Redis,
    settings: Settings,
    replace_services: Callable[..., None],
) -> None:
    before = await scrape(client)
    async with client_with(max_query_cost=3) as strict:
        too_complex = (await post(strict, FOUR_POINTS)).json()
    replace_services(
        cost_bucket=QueryCostBucket(
            redis, key_prefix=settings.redis_key_prefix, size=6, restore_rate=0.001
        )
    )
    served = (await post(client, FOUR_POINTS)).json()
    throttled = (await post(client, FOUR_POINTS)).json()
    after = await scrape(client)

    assert error_codes(too_complex) == ["QUERY_TOO_COMPLEX"]
    assert "errors" not in served
    assert error_codes(throttled) == ["RATE_LIMITED"]
    refusals = "commerce_query_cost_refusals_total"
    assert moved(before, after, refusals, reason="too_complex") == 1
    assert moved(before, after, refusals, reason="throttled") == 1
    # Refused operations are timed under their name like any other.
    assert moved(before, after, "commerce_request_duration_seconds_count", route="graphql",
                 operation="unnamed") == 3  # fmt: skip


async def test_rate_limit_refusals_are_counted_per_action(
    client: httpx.AsyncClient, app: Starlette, settings: Settings
) -> None:
    limiter = RateLimiter(
        app.state.services.rate_limiter.connection_pool,
        key_prefix=f"{settings.redis_key_prefix}{uuid.uuid4().hex}:",
        limits={"register:ip": "1/minute"},
    )
    before = await scrape(client)

    await limiter.check("register", ip="203.0.113.5")
    with pytest.raises(RateLimitedError):
        await limiter.check("register", ip="203.0.113.5")
    after = await scrape(client)

    refusals = "commerce_rate_limit_refusals_total"
    assert moved(before, after, refusals, action="register", reason="limit") == 1
    assert moved(before, after, refusals, action="login", reason="limit") == 0


async def test_pools_of_mongodb_and_redis_are_shown(client: httpx.AsyncClient) -> None:
    category = await make_category()
    await make_product(category, slug="pooled")
    before = await scrape(client)

    await post(client, PRODUCT_PAGE, slug="pooled")
    after = await scrape(client)

    assert value(after, "commerce_mongodb_pool_connections", state="open") >= 1
    # Every operation has given its connection back by the time the answer is sent.
    assert value(after, "commerce_mongodb_pool_connections", state="in_use") == 0
    assert moved(before, after, "commerce_mongodb_pool_wait_seconds_count") >= 1
    assert value(after, "commerce_redis_pool_connections", pool="main", state="idle") >= 1
    assert value(after, "commerce_redis_pool_connections", pool="main", state="in_use") == 0
    assert value(after, "commerce_redis_pool_max_connections", pool="main") == 100
    assert value(after, "commerce_redis_pool_max_connections", pool="rate_limits") == 100


async def failing_job() -> None:
    raise RuntimeError("the job fails")


async def test_job_queue_depth_and_failures_are_read_from_redis(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # The app's queue, as a worker process would open it: its counts start from zero, while the
    # app's own queue object has counted the jobs of earlier tests.
    assert settings.redis_url
    queue = JobQueue(
        settings.redis_url,
        name=f"{settings.redis_key_prefix}jobs",
        connect_timeout_seconds=settings.redis_timeout_seconds,
    )
    once = RetryPolicy(attempts=1, first_delay_seconds=0, max_delay_seconds=0)
    try:
        for key in ("first", "second"):
            await queue.enqueue("fails", key=key, kwargs={}, retry=once, timeout_seconds=5)

        waiting = await scrape(client)
        worker = queue.worker(
            {"fails": failing_job}, concurrency=1, periodic=[], shutdown_grace_seconds=1
        )
        ran = await worker.run_until_idle()
        done = await scrape(client)
    finally:
        await queue.close()

    assert ran == 2
    assert value(waiting, "commerce_job_queue_up") == 1
    assert value(waiting, "commerce_job_queue_jobs", state="queued") == 2
    assert value(done, "commerce_job_queue_jobs", state="queued") == 0
    assert value(done, "commerce_job_workers") == 1
    assert moved(waiting, done, "commerce_jobs_total", outcome="failed") == 2
    assert moved(waiting, done, "commerce_jobs_total", outcome="complete") == 0


async def test_metrics_answer_without_the_job_queue_when_redis_is_down(
    client: httpx.AsyncClient, settings: Settings, replace_services: Callable[..., None]
) -> None:
    outbox = build_outbox(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    )
    replace_services(outbox=outbox)
    try:
        samples = await scrape(client)
    finally:
        await outbox.close()

    assert value(samples, "commerce_job_queue_up") == 0
    assert ("commerce_job_queue_jobs", frozenset({("state", "queued")})) not in samples
    # The rest of the metrics are there all the same.
    assert ("commerce_query_cache_requests_total", frozenset({("status", "HIT")})) in samples


async def test_outside_production_metrics_are_for_this_machine_only(
    client_with: Callable[..., Any],
) -> None:
    async with client_with("127.0.0.1") as local, client_with("203.0.113.9") as remote:
        assert (await local.get("/metrics")).status_code == 200
        refused = await remote.get("/metrics")

    assert refused.status_code == 403
    assert "commerce_" not in refused.text


async def test_a_token_is_required_when_set(client_with: Callable[..., Any]) -> None:
    async with client_with("203.0.113.9", metrics_token=SecretStr(TOKEN)) as remote:
        without = await remote.get("/metrics")
        wrong = await remote.get("/metrics", headers={"authorization": "Bearer not-the-token"})
        basic = await remote.get("/metrics", headers={"authorization": f"Basic {TOKEN}"})
        right = await remote.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    async with client_with("127.0.0.1", metrics_token=SecretStr(TOKEN)) as local:
        local_without = await local.get("/metrics")

    assert [without.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert without.headers["www-authenticate"].startswith("Bearer")
    assert local_without.status_code == 401  # with a token set, this machine needs it too
    assert right.status_code == 200
    assert "commerce_http_responses_total" in right.text


async def test_production_refuses_metrics_without_a_token(
    client_with: Callable[..., Any],
) -> None:
    async with client_with("127.0.0.1", environment=Environment.PRODUCTION) as local:
        refused = await local.get("/metrics")
    async with client_with(
        "10.0.0.7", environment=Environment.PRODUCTION, metrics_token=SecretStr(TOKEN)
    ) as scraper:
        served = await scraper.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})

    assert refused.status_code == 403
    assert "METRICS_TOKEN" in refused.text
    assert served.status_code == 200


async def test_metrics_can_be_switched_off(client_with: Callable[..., Any]) -> None:
    async with client_with(metrics_enabled=False) as http:
        assert (await http.get("/metrics")).status_code == 404


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ValueError, match="METRICS_TOKEN must be at least 24 characters"):
        Settings(_env_file=None, metrics_token="short")  # type: ignore[call-arg]
    assert Settings(_env_file=None, metrics_token=" ").metrics_token is None  # type: ignore[call-arg]


def test_the_process_keeps_one_set_of_metrics() -> None:
    assert process_metrics() is process_metrics()
