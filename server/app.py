"""The ASGI app: settings to clients, services, routes and middleware (`create_app`).

Tests build their app with `create_app(settings)`; uvicorn's workers with `app_from_environment`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

import httpx
import pymongo
from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route

from documents.catalog import Category
from documents.outbox import OutboxPolicy
from documents.registry import ALL_DOCUMENTS, create_indexes, upgrade_documents
from integrations.email import EmailSender, build_email_sender
from integrations.google import GoogleSignIn
from integrations.images import LOCAL_CONTENT_TYPES, build_image_store
from integrations.jobs import JobQueue, RetryPolicy
from integrations.payments import build_payment_provider
from loaders.category_cache import CategoryCache
from resolvers.accounts.access_tokens import AccessTokens
from resolvers.cost_bucket import QueryCostBucket
from resolvers.metrics import MongoPoolMetrics, keep_metrics, process_metrics
from resolvers.outbox import EmailOutbox
from resolvers.payments.service import PaymentService, PaymentSettings
from resolvers.persisted_queries import PersistedQueries
from resolvers.query_cache import QueryCache
from resolvers.query_cache.tags import categories_named
from resolvers.rate_limits import RateLimiter
from resolvers.redis_clients import RedisClient
from resolvers.services import Services
from schema import demo_images, dev_pay, oauth, webhooks
from schema.answers import GZIP_LEVEL, GZIP_MINIMUM_BYTES
from schema.catalog_admin import transfer as catalog_transfer
from schema.compiled_reads.reads import CompiledReads
from schema.fast_hits import FastHits, FastHitsMiddleware
from schema.graphiql.page import GRAPHIQL_ASSET_ROUTE, graphiql_asset
from schema.http import GraphQLEndpoint, database_outage_response, not_found_response
from schema.media import MEDIA_PATH, MediaFiles
from schema.middleware import (
    RETRY_AFTER_SECONDS,
    AllowListCORSMiddleware,
    BodySizeLimitMiddleware,
    RequestIdLogFilter,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
    UnexpectedErrorMiddleware,
)
from schema.observability import (
    METRICS_PATH,
    JsonLogFormatter,
    RequestObservationMiddleware,
    metrics_endpoint,
    operation_names,
)
from schema.root import CommerceSchema, build_schema
from schema.trusted_documents import TrustedDocuments, load_trusted_documents
from schema.webhooks import WEBHOOK_PATH
from server.heap import settle_heap
from server.search import search_reader
from settings import Environment, PaymentProviderName, Settings

logger = logging.getLogger("commerce")
READINESS_TIMEOUT_SECONDS = 2.0
# Index builds and upgrades of old documents at startup may wait far longer for a reply than a
# request's commands may (MONGODB_OPERATION_TIMEOUT_SECONDS), on a large collection.
STARTUP_MONGO_TIMEOUT_SECONDS = 600.0
# Where the stand-in email sender puts the mail it "sends" (development, or no SendGrid key).
SENT_EMAILS_COLLECTION = "sent_emails"
# Where the stand-in payment provider keeps its orders, payments and refunds.
STANDIN_PAYMENTS_COLLECTION = "standin_payments"
# Request headers a browser on an allowed origin may send (README, "Browsers on another origin
# (CORS)"): the JSON body, the access token, a request id, the guest cart, Apollo's CSRF-preflight
# headers for uploads, and Apollo Client's client-awareness headers.
CORS_ALLOW_HEADERS = [
    "content-type",
    "authorization",
    "x-request-id",
    "x-cart-token",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "graphql-preflight",
    "apollographql-client-name",
    "apollographql-client-version",
]
TEXT_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(
        JsonLogFormatter() if settings.logs_as_json else logging.Formatter(TEXT_LOG_FORMAT)
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # Neither format shows a record's thread, process name or source line: not gathering them
    # saves about 4 µs a record (the logging HOWTO's "Optimization"), with one line a request.
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    # SendGrid's HTTP client logs request headers, the API key among them, at DEBUG.
    logging.getLogger("python_http_client").setLevel(max(logging.INFO, logging.getLogger().level))


def connect_mongo(settings: Settings, *, pool_metrics: bool = False) -> AsyncMongoClient:
    """A client that gives up on MongoDB within seconds when it is down or stalls.

    It looks for a usable server for MONGODB_SERVER_SELECTION_TIMEOUT_SECONDS, opens connections
    within MONGODB_CONNECT_TIMEOUT_SECONDS and waits MONGODB_OPERATION_TIMEOUT_SECONDS for each
    reply (a stalled mongod keeps connections open and never answers). Waiting for a free pooled
    connection is not bounded: a full pool is load, not an outage, as for Redis. With
    `pool_metrics`, its connection pool's use is recorded in the metrics.
    """
    assert settings.mongodb_uri, "MONGODB_URI is resolved before the app starts"
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        tzinfo=UTC,  # the same instant; bson decodes dates a quarter faster than to its own utc
        appname="commerce",
        serverSelectionTimeoutMS=_milliseconds(settings.mongodb_server_selection_timeout_seconds),
        connectTimeoutMS=_milliseconds(settings.mongodb_connect_timeout_seconds),
        socketTimeoutMS=_milliseconds(settings.mongodb_operation_timeout_seconds),
        event_listeners=[MongoPoolMetrics()] if pool_metrics else [],
    )


def _milliseconds(seconds: float) -> int:
    return round(seconds * 1000)


def connect_redis(settings: Settings, url: str | None = None) -> RedisClient:
    """A client of `url` (default REDIS_URL) whose requests wait for a free pooled connection
    instead of failing; with REDIS_CLUSTER, a cluster client that found the others from that
    node (README, "Scale-out").

    A full pool is load, not an outage: failing there would switch the query cache off exactly
    when it helps most.
    """
    url = url or settings.redis_url
    assert url, "REDIS_URL is resolved before the app starts"
    if settings.redis_cluster:
        return RedisCluster.from_url(url, **cluster_options(settings))
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


async def refuse_mismatched_redis(settings: Settings) -> None:
    """Refuse to start (RuntimeError) when a Redis is a node of a Redis Cluster where the settings
    want a plain one: the job queue's (saq cannot use a cluster), or, without REDIS_CLUSTER,
    REDIS_URL's or CACHE_REDIS_URL's (commands on other nodes' slots would all fail). A Redis that
    does not answer is let through: that only degrades the service."""
    plain = {"JOBS_REDIS_URL (else REDIS_URL), the job queue's": settings.job_queue_redis_url}
    if not settings.redis_cluster:
        plain["REDIS_URL"] = settings.redis_url
        plain["CACHE_REDIS_URL"] = settings.cache_redis_url
    for name, url in plain.items():
        if url and await _is_cluster_node(url, settings.redis_timeout_seconds):
            fix = "give the job queue a plain Redis" if "JOBS" in name else "set REDIS_CLUSTER=true"
            raise RuntimeError(f"{name} Redis is a node of a Redis Cluster: {fix}")


async def _is_cluster_node(url: str, timeout_seconds: float) -> bool:
    client = Redis.from_url(
        url,
        socket_timeout=timeout_seconds,
        socket_connect_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 0),  # one try: startup does not wait for a Redis that is down
    )
    try:
        info = await client.info("cluster")
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
    return bool(info.get("cluster_enabled"))


def cluster_options(settings: Settings) -> dict[str, float]:
    """How a Redis Cluster client connects: REDIS_MAX_CONNECTIONS to each node, and waiting
    REDIS_TIMEOUT_SECONDS at most for a connection or a reply."""
    return {
        "max_connections": settings.redis_max_connections,
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
    }


async def init_documents(client: AsyncMongoClient, settings: Settings) -> None:
    """Bind the documents to the database, create their indexes and upgrade old documents.

    Fails within seconds when MongoDB does not answer; once it has, index builds and upgrades
    get STARTUP_MONGO_TIMEOUT_SECONDS (a deadline for them all, which replaces the reply timeout).
    """
    await client.admin.command("ping")
    with pymongo.timeout(STARTUP_MONGO_TIMEOUT_SECONDS):
        await init_beanie(
            database=client[settings.mongodb_database],
            document_models=ALL_DOCUMENTS,
        )
        await create_indexes()
        await upgrade_documents()


def build_email(settings: Settings, mongo: AsyncMongoClient) -> EmailSender:
    """SendGrid with an API key, else the stand-in storing each email in `sent_emails`."""
    return build_email_sender(
        sendgrid_api_key=(
            settings.sendgrid_api_key.get_secret_value() if settings.sendgrid_api_key else None
        ),
        from_email=settings.email_from,
        from_name=settings.email_from_name,
        sendgrid_host=settings.sendgrid_host,
        sent_emails=mongo[settings.mongodb_database][SENT_EMAILS_COLLECTION],
        # Emails hold one-time links and codes: fine in a developer's log, not in production's.
        log_bodies=settings.environment is not Environment.PRODUCTION,
    )


def build_outbox(settings: Settings) -> EmailOutbox:
    """The email outbox and the job queue it hands emails to. Close it when done."""
    assert settings.job_queue_redis_url
    queue = JobQueue(
        settings.job_queue_redis_url,
        name=f"{settings.redis_key_prefix}jobs",
        connect_timeout_seconds=settings.redis_timeout_seconds,
    )
    return EmailOutbox(
        queue,
        policy=OutboxPolicy(
            lease=timedelta(seconds=settings.outbox_lease_seconds),
            requeue_after=timedelta(seconds=settings.outbox_requeue_after_seconds),
            retention=timedelta(days=settings.outbox_retention_days),
            max_attempts=settings.email_max_attempts,
        ),
        retry=RetryPolicy(
            attempts=settings.email_max_attempts,
            first_delay_seconds=settings.email_retry_delay_seconds,
            max_delay_seconds=settings.email_retry_max_delay_seconds,
        ),
        relay_interval_seconds=settings.outbox_relay_interval_seconds,
    )


def build_payments(settings: Settings, mongo: AsyncMongoClient, queue: JobQueue) -> PaymentService:
    """Razorpay with keys, the stand-in without (outside production), or none: see
    `Settings.payments`. The stand-in keeps its state in MongoDB and delivers its webhooks to
    this API's own webhook URL, as Razorpay would."""
    chosen = settings.payments
    provider = None
    if chosen is not None:
        key_id, key_secret, webhook_secret = settings.payment_secrets()
        webhook_url = f"{settings.public_url}{WEBHOOK_PATH}"

        async def deliver(body: bytes, headers: dict[str, str]) -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(webhook_url, content=body, headers=headers)
                answer.raise_for_status()

        provider = build_payment_provider(
            provider=chosen.value,
            key_id=key_id,
            key_secret=key_secret,
            webhook_secret=webhook_secret,
            api_base_url=settings.razorpay_api_url,
            timeout_seconds=settings.razorpay_timeout_seconds,
            standin_collection=mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION],
            deliver_webhook=deliver,
        )
    return PaymentService(
        provider,
        queue,
        PaymentSettings(
            shop_name=settings.shop_name,
            reservation=timedelta(minutes=settings.payment_reservation_minutes),
            reconcile_after=timedelta(seconds=settings.payment_reconcile_after_seconds),
            sweep_interval_seconds=settings.payment_sweep_interval_seconds,
        ),
    )


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """The abuse limits, on a pool of their own: a burst of cached reads cannot take the
    connections sign-in needs. Like the cache's, the pool waits (up to REDIS_TIMEOUT_SECONDS) for
    a free connection instead of failing; sign-in limits refuse what they cannot decide. With
    REDIS_CLUSTER, a cluster client of their own instead."""
    assert settings.redis_url
    pool = None
    if not settings.redis_cluster:
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
    return RateLimiter(
        pool,
        key_prefix=settings.redis_key_prefix,
        limits=settings.rate_limits,
        enabled=settings.rate_limits_enabled,
        cluster_url=settings.redis_url if settings.redis_cluster else None,
        cluster_options=cluster_options(settings),
    )


def redis_pools(redis: RedisClient, cache_redis: RedisClient, services: Services) -> dict[str, Any]:
    """The Redis connection pools whose use the metrics sample, by name: none of a cluster's
    clients (a pool per node, opened as nodes are met)."""
    clients = {"main": redis, "cache": cache_redis if cache_redis is not redis else None}
    pools: dict[str, Any] = {
        name: client.connection_pool
        for name, client in clients.items()
        if isinstance(client, Redis)
    }
    if services.rate_limiter.connection_pool is not None:
        pools["rate_limits"] = services.rate_limiter.connection_pool
    return pools


def connect_cache_redis(settings: Settings, redis: RedisClient) -> RedisClient:
    """The client of the query cache's Redis: `redis` itself unless CACHE_REDIS_URL names
    another server. Close it (when it is not `redis`) with the other clients."""
    if settings.query_cache_redis_url == settings.redis_url:
        return redis
    return connect_redis(settings, settings.query_cache_redis_url)


def build_services(
    settings: Settings,
    mongo: AsyncMongoClient,
    redis: RedisClient,
    cache_redis: RedisClient | None = None,
) -> Services:
    """The integrations and shared services, each picked once from the settings. The query
    cache uses `cache_redis` (default `redis`)."""
    assert settings.redis_url
    google = None
    if settings.google_client_id and settings.google_client_secret:
        google = GoogleSignIn(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            discovery_url=settings.google_discovery_url,
        )
    outbox = build_outbox(settings)
    query_cache = QueryCache(
        cache_redis or redis,
        key_prefix=settings.redis_key_prefix,
        ttl_seconds=settings.cache_ttl_seconds,
        enabled=settings.cache_enabled,
        retry_after_seconds=settings.cache_retry_after_seconds,
        max_entry_bytes=settings.cache_max_entry_bytes,
        pending_check_seconds=settings.cache_pending_check_seconds,
        max_entries_per_client_minute=settings.cache_max_entries_per_client_minute,
    )
    categories = CategoryCache()

    def forget_changed_categories(tags: set[str]) -> None:
        named = categories_named(tags)
        if named is None or named:
            categories.forget(named)

    query_cache.on_invalidation(forget_changed_categories)
    return Services(
        query_cache=query_cache,
        access_tokens=AccessTokens(settings),
        rate_limiter=build_rate_limiter(settings),
        email=build_email(settings, mongo),
        outbox=outbox,
        payments=build_payments(settings, mongo, outbox.queue),
        images=build_image_store(
            cloudinary_url=(
                settings.cloudinary_url.get_secret_value() if settings.cloudinary_url else None
            ),
            local_root=settings.media_dir,
            local_base_url=f"{settings.public_url}{MEDIA_PATH}",
            cloudinary_upload_prefix=settings.cloudinary_upload_prefix,
        ),
        google=google,
        cost_bucket=QueryCostBucket(
            redis,
            key_prefix=settings.redis_key_prefix,
            size=settings.query_cost_bucket_size,
            restore_rate=settings.query_cost_restore_rate,
            enabled=settings.query_cost_throttle_enabled,
            retry_after_seconds=settings.cache_retry_after_seconds,
        ),
        persisted_queries=PersistedQueries(
            cache_redis or redis,
            key_prefix=settings.redis_key_prefix,
            ttl_seconds=settings.persisted_query_ttl_seconds,
            max_document_bytes=settings.persisted_query_max_bytes,
            max_registrations_per_client_minute=(
                settings.persisted_query_max_registrations_per_client_minute
            ),
            lru_size=settings.persisted_query_lru_size,
            retry_after_seconds=settings.cache_retry_after_seconds,
        ),
        search=search_reader(settings),
        categories=categories,
    )


def describe_email(email: EmailSender) -> None:
    logger.info(
        "email: %s%s",
        email.name,
        f" (stand-in: emails are stored in the {SENT_EMAILS_COLLECTION} collection, not sent)"
        if email.name == "stored"
        else "",
    )


def describe_services(services: Services) -> None:
    """Say at startup which integrations are real and which are local stand-ins."""
    describe_email(services.email)
    logger.info(
        "jobs: emails go through the outbox to the %s queue; a worker sends them "
        "(python -m server worker, or make run)",
        services.outbox.queue.name,
    )
    logger.info(
        "images: %s%s",
        services.images.name,
        f" (stand-in: files under the media directory, served at {MEDIA_PATH})"
        if services.images.name == "local"
        else "",
    )
    logger.info("google sign-in: %s", "enabled" if services.google else "off (no GOOGLE_CLIENT_ID)")
    describe_payments(services.payments)


def describe_payments(payments: PaymentService) -> None:
    descriptions = {
        "razorpay": "razorpay",
        "standin": "stand-in (no money moves; pay on /dev/pay/<razorpay order id>, which sends "
        f"Razorpay's webhooks to {WEBHOOK_PATH})",
        "off": "off (no RAZORPAY_KEY_ID in production): only cash on delivery",
    }
    logger.info("payments: %s", descriptions[payments.name])


def warn_if_cache_shares_redis(settings: Settings) -> None:
    """Say at startup when the query cache and the persisted queries share the Redis that holds
    the rate limits, the query-cost buckets and the job queue: anyone can add cache entries and
    persisted queries, and a Redis that never evicts refuses every write once they fill it."""
    if settings.redis_url and settings.query_cache_redis_url == settings.redis_url:
        logger.warning(
            "query cache entries and persisted queries share REDIS_URL's Redis (no "
            "CACHE_REDIS_URL of their own) with the rate limits, the query-cost buckets and "
            "the job queue. "
            "Give them a Redis of their own that evicts (maxmemory, maxmemory-policy "
            "allkeys-lru): a shared Redis that fills up without evicting refuses those writes "
            "too"
        )


async def _answers(name: str, check: Awaitable[object]) -> str:
    """Whether `check` (a ping) succeeds within READINESS_TIMEOUT_SECONDS: "ok" or "unavailable"."""
    try:
        await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS)
    except Exception as error:
        logger.warning("readiness check %s failed: %s", name, error or type(error).__name__)
        return "unavailable"
    return "ok"


def build_api_schema(settings: Settings, tracer_provider: Any | None = None) -> CommerceSchema:
    """The schema with the limits and introspection the settings ask for, traced with an
    OpenTelemetry `tracer_provider` if given."""
    return build_schema(
        max_query_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_fields=settings.max_query_fields,
        introspection=settings.allows_introspection,
        tracer_provider=tracer_provider,
    )


def tracer_provider_of(settings: Settings) -> Any | None:
    """With OTEL_ENABLED, an OpenTelemetry tracer provider exporting over OTLP as the standard
    OTEL_* variables say (schema/tracing.py); None otherwise."""
    if not settings.otel_enabled:
        return None
    from schema.tracing import provider_from_environment

    return provider_from_environment()


def trusted_documents_of(settings: Settings, schema: CommerceSchema) -> TrustedDocuments:
    """TRUSTED_DOCUMENTS_MANIFEST's documents, each checked against `schema` (raises
    TrustedDocumentsError); none without a manifest."""
    path = settings.trusted_documents_manifest
    if path is None:
        return TrustedDocuments()
    return load_trusted_documents(path, schema, only=settings.trusted_documents_only)


def cors_options(settings: Settings) -> dict[str, Any]:
    """How `AllowListCORSMiddleware` answers browsers on other origins (README, "Browsers on
    another origin (CORS)")."""
    return {
        "allow_origins": settings.cors_origins,
        "allow_credentials": True,
        "allow_methods": ["GET", "POST"],
        "allow_headers": CORS_ALLOW_HEADERS,
        "expose_headers": ["X-Request-ID"],
        "max_age": settings.cors_max_age_seconds,
    }


def follow_categories(
    categories: CategoryCache, settings: Settings
) -> Callable[[], Awaitable[None]]:
    """Keep `categories` while following their change stream, on a client of its own: the
    stream's waiting read holds a connection all the time, which is then not one of the
    requests' pool (nor counted in its metrics). Returns what stops it."""
    client = connect_mongo(settings)
    collection = client[settings.mongodb_database][Category.get_collection_name()]
    # Each wait for changes ends well before the client's socket timeout.
    max_await_seconds = settings.mongodb_operation_timeout_seconds / 2
    # `follow` outlives every failure of MongoDB's; only cancelling ends it.
    task = asyncio.create_task(
        categories.follow(collection, max_await_ms=_milliseconds(max_await_seconds)),
        name="category cache",
    )

    async def stop() -> None:
        task.cancel()
        # At once, but for a cancel the driver swallowed: the loop sees that one when its
        # wait for changes ends (loaders/category_cache.py, `_cancel_requested`).
        done, _ = await asyncio.wait([task], timeout=max_await_seconds + 1)
        if done:
            with contextlib.suppress(asyncio.CancelledError):
                task.result()  # `follow` ends only cancelled; anything else is raised here
        else:
            logger.warning("category cache: its change stream did not stop; left behind")
        await client.close()

    return stop


def create_app(
    settings: Settings, *, tracer_provider: Any | None = None, serving: bool = False
) -> Starlette:
    """The ASGI app. Its lifespan opens the MongoDB and Redis clients and closes them on shutdown.

    With OTEL_ENABLED, operations are traced with `tracer_provider`, by default one exporting over
    OTLP as the OTEL_* variables say (shut down with the app)."""
    metrics = process_metrics() if settings.metrics_enabled else None
    if metrics is not None:
        metrics.write_through = settings.metrics_flush_seconds == 0
    tracing = (tracer_provider or tracer_provider_of(settings)) if settings.otel_enabled else None
    owns_tracing = tracing is not None and tracer_provider is None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        mongo = connect_mongo(settings, pool_metrics=metrics is not None)
        redis = connect_redis(settings)
        cache_redis = connect_cache_redis(settings, redis)
        metrics_upkeep = None
        stop_following: Callable[[], Awaitable[None]] | None = None
        try:
            await refuse_mismatched_redis(settings)
            await init_documents(mongo, settings)
            app.state.settings = settings
            app.state.mongo = mongo
            app.state.redis = redis
            app.state.cache_redis = cache_redis
            app.state.services = build_services(settings, mongo, redis, cache_redis)
            describe_services(app.state.services)
            warn_if_cache_shares_redis(settings)
            stop_following = follow_categories(app.state.services.categories, settings)
            if metrics is not None:
                app.state.redis_pools = redis_pools(redis, cache_redis, app.state.services)
                metrics_upkeep = asyncio.create_task(
                    keep_metrics(
                        metrics,
                        app.state.redis_pools,
                        flush_seconds=settings.metrics_flush_seconds,
                    ),
                    name="metrics upkeep",
                )
            if settings.payments is PaymentProviderName.STANDIN and settings.host not in (
                "127.0.0.1",
                "localhost",
                "::1",
            ):
                logger.warning(
                    "payments: the stand-in listens on %s: anyone who reaches it can pay any "
                    "order on /dev/pay and sign webhooks with its development secrets; keep it "
                    "on 127.0.0.1, or set Razorpay test keys",
                    settings.host,
                )
            if serving:
                settle_heap()
            yield
        finally:
            if stop_following is not None:
                await stop_following()
            if metrics_upkeep is not None:
                metrics_upkeep.cancel()  # it writes what is left
                with contextlib.suppress(asyncio.CancelledError):
                    await metrics_upkeep
            if owns_tracing and tracing is not None:
                tracing.shutdown()  # sends the spans not exported yet
            if hasattr(app.state, "services"):
                await app.state.services.outbox.close()
                await app.state.services.rate_limiter.close()
            if cache_redis is not redis:
                await cache_redis.aclose()
            await redis.aclose()
            await mongo.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        """Ready while MongoDB answers. Redis down only degrades the service (the cache, the
        abuse limits and the job queue are optional by design): 200 with "degraded", so a
        load balancer does not turn a cache outage into a full one."""
        state = request.app.state
        checks = {
            "mongodb": state.mongo.admin.command("ping"),
            "redis": state.redis.ping(),
        }
        if state.cache_redis is not state.redis:
            checks["cacheRedis"] = state.cache_redis.ping()
        answers = dict(
            zip(
                checks,
                await asyncio.gather(*(_answers(name, check) for name, check in checks.items())),
                strict=True,
            )
        )
        status = (
            "unavailable"
            if answers["mongodb"] != "ok"
            else "degraded"
            if any(answer != "ok" for answer in answers.values())
            else "ready"
        )
        unavailable = status == "unavailable"
        return JSONResponse(
            {"status": status, **answers},
            status_code=503 if unavailable else 200,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if unavailable else None,
        )

    schema = build_api_schema(settings, tracing)
    trusted_documents = trusted_documents_of(settings, schema)
    if metrics is not None:
        metrics.name_operations(operation_names(trusted_documents.documents.values()))
    if settings.trusted_documents_manifest is not None:
        logger.info(
            "trusted documents: %d from %s%s",
            len(trusted_documents.documents),
            settings.trusted_documents_manifest,
            ", and nothing else runs" if trusted_documents.only else "",
        )
    fast_hits = (
        FastHits(trusted_documents) if settings.cache_enabled and settings.cache_fast_hits else None
    )
    # Tracing wants every operation's span, which only the normal path makes.
    compiled_reads = (
        CompiledReads(schema, trusted_only=trusted_documents.only)
        if settings.compiled_reads and tracing is None
        else None
    )
    graphql = GraphQLEndpoint(
        schema,
        settings=settings,
        trusted_documents=trusted_documents,
        fast_hits=fast_hits,
        compiled_reads=compiled_reads,
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/auth/google/login", oauth.google_login, methods=["GET"]),
        Route("/auth/google/callback", oauth.google_callback, methods=["GET"]),
        Route(catalog_transfer.EXPORT_PATH, catalog_transfer.export_products, methods=["GET"]),
        Route(demo_images.DEMO_IMAGE_PATH, demo_images.demo_image, methods=["GET"]),
        Route(WEBHOOK_PATH, webhooks.razorpay_webhook, methods=["POST"]),
    ]
    if metrics is not None:
        routes.append(Route(METRICS_PATH, metrics_endpoint, methods=["GET"]))
    if settings.environment is not Environment.PRODUCTION:
        routes += [
            Route(dev_pay.DEV_PAY_PATH, dev_pay.dev_pay_page, methods=["GET"]),
            Route(dev_pay.DEV_PAY_PATH, dev_pay.dev_pay_submit, methods=["POST"]),
        ]
    if settings.serves_graphiql:
        routes.append(Route(GRAPHIQL_ASSET_ROUTE, graphiql_asset, methods=["GET"]))
    if settings.cloudinary_url is None:
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        media = MediaFiles(directory=settings.media_dir, content_types=LOCAL_CONTENT_TYPES)
        routes.append(Mount(MEDIA_PATH, app=media, name="media"))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={PyMongoError: database_outage_response, 404: not_found_response},
    )
    app.add_middleware(UnexpectedErrorMiddleware)
    # Browsers and CDNs (README, "GET and CDNs"): answers of GZIP_MINIMUM_BYTES or more, gzipped.
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=GZIP_LEVEL)
    # Every body is held to the small limit; /graphql raises it for an authorized upload.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_json_request_bytes)
    # Outside the body limit, so preflights are answered before anything refuses them; inside the
    # request-id and security-header middlewares, so its answers get those headers too.
    cors = cors_options(settings)
    app.add_middleware(AllowListCORSMiddleware, **cors)
    # Inside the request id (its log line carries it), outside whatever may answer for the route.
    app.add_middleware(RequestObservationMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts_seconds=settings.hsts_seconds)
    if fast_hits is not None:
        # Cache hits of anonymous GETs, answered with their stored (gzipped) bytes before
        # everything else (README, "Query cache"), with the headers the middlewares above add,
        # and observed (metrics, the request's log line) as they would observe it.
        app.add_middleware(
            FastHitsMiddleware, settings=settings, fast_hits=fast_hits, cors=cors, metrics=metrics
        )
    app.state.fast_hits = fast_hits
    app.state.compiled_reads = compiled_reads
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn (and its worker processes): settings from the environment."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings, serving=True)
