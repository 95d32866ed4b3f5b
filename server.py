"""Composition root: settings, lifespan, `create_app`, routes, middleware and the command line.

    python -m server run            embedded MongoDB + Redis when no URIs are set, seed, serve,
                                    with a job worker beside the API
    python -m server serve          serve only (MONGODB_URI and REDIS_URL point at running servers)
    python -m server worker         run background jobs (emails) until stopped; --once: what is due
    python -m server seed           load the demo catalog if the database has no products
    python -m server export-schema  write schema.graphql
    python -m server create-admin --email EMAIL   promote (or create) an admin

Nothing imports this module except the tests and uvicorn's workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import uvicorn
from beanie import init_beanie
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from documents.accounts import (
    AccountError,
    User,
    check_password_policy,
    hash_password,
    normalize_email,
)
from documents.catalog import Category, Product
from documents.demo_catalog import load_demo_catalog
from documents.outbox import OutboxPolicy
from documents.registry import ALL_DOCUMENTS
from integrations.email import EmailSender, build_email_sender
from integrations.google import GoogleSignIn
from integrations.images import build_image_store
from integrations.jobs import JobQueue, RetryPolicy
from integrations.local_servers import (
    LocalServer,
    LocalServerError,
    running_mongod_uri,
    running_redis_uri,
    spawn_attached,
    start_mongod,
    start_redis,
)
from resolvers.accounts.access_tokens import AccessTokens
from resolvers.accounts.admin import make_admin
from resolvers.outbox import EmailOutbox
from resolvers.query_cache import QueryCache
from resolvers.rate_limits import RateLimiter
from resolvers.services import Services
from schema import demo_images, oauth
from schema.catalog_admin import transfer as catalog_transfer
from schema.http import GraphQLEndpoint
from schema.middleware import BodySizeLimitMiddleware, RequestIdLogFilter, RequestIdMiddleware
from schema.root import build_schema
from settings import Environment, Settings

logger = logging.getLogger("commerce")
READINESS_TIMEOUT_SECONDS = 2.0
SCHEMA_FILE = Path(__file__).parent / "schema.graphql"
MEDIA_PATH = "/media"
# Where the stand-in email sender puts the mail it "sends" (development, or no SendGrid key).
SENT_EMAILS_COLLECTION = "sent_emails"
# How long jobs under way get to finish when a worker stops, and how long `run` waits for that.
WORKER_SHUTDOWN_GRACE_SECONDS = 20.0


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # SendGrid's HTTP client logs request headers, the API key among them, at DEBUG.
    logging.getLogger("python_http_client").setLevel(max(logging.INFO, logging.getLogger().level))


def connect_mongo(settings: Settings) -> AsyncMongoClient:
    assert settings.mongodb_uri, "MONGODB_URI is resolved before the app starts"
    return AsyncMongoClient(
        settings.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000, appname="commerce"
    )


def connect_redis(settings: Settings) -> Redis:
    """A client whose requests wait for a free pooled connection instead of failing.

    A full pool is load, not an outage: failing there would switch the query cache off exactly
    when it helps most.
    """
    assert settings.redis_url, "REDIS_URL is resolved before the app starts"
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


async def init_documents(client: AsyncMongoClient, settings: Settings) -> None:
    """Bind the documents to the database and create their indexes."""
    await init_beanie(
        database=client[settings.mongodb_database],
        document_models=ALL_DOCUMENTS,
    )


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
    assert settings.redis_url
    queue = JobQueue(
        settings.redis_url,
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


def build_services(settings: Settings, mongo: AsyncMongoClient, redis: Redis) -> Services:
    """The integrations and shared services, each picked once from the settings."""
    assert settings.redis_url
    google = None
    if settings.google_client_id and settings.google_client_secret:
        google = GoogleSignIn(
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            discovery_url=settings.google_discovery_url,
        )
    return Services(
        query_cache=QueryCache(
            redis,
            key_prefix=settings.redis_key_prefix,
            ttl_seconds=settings.cache_ttl_seconds,
            enabled=settings.cache_enabled,
            retry_after_seconds=settings.cache_retry_after_seconds,
            max_entry_bytes=settings.cache_max_entry_bytes,
        ),
        access_tokens=AccessTokens(settings),
        rate_limiter=RateLimiter(
            settings.redis_url,
            key_prefix=settings.redis_key_prefix,
            limits=settings.rate_limits,
            enabled=settings.rate_limits_enabled,
        ),
        email=build_email(settings, mongo),
        outbox=build_outbox(settings),
        images=build_image_store(
            cloudinary_url=(
                settings.cloudinary_url.get_secret_value() if settings.cloudinary_url else None
            ),
            local_root=settings.media_dir,
            local_base_url=f"{settings.public_url}{MEDIA_PATH}",
            cloudinary_upload_prefix=settings.cloudinary_upload_prefix,
        ),
        google=google,
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


def create_app(settings: Settings) -> Starlette:
    """The ASGI app. Its lifespan opens the MongoDB and Redis clients and closes them on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        mongo = connect_mongo(settings)
        redis = connect_redis(settings)
        try:
            await init_documents(mongo, settings)
            app.state.settings = settings
            app.state.mongo = mongo
            app.state.redis = redis
            app.state.services = build_services(settings, mongo, redis)
            describe_services(app.state.services)
            yield
        finally:
            if hasattr(app.state, "services"):
                await app.state.services.outbox.close()
            await redis.aclose()
            await mongo.close()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        checks = {
            "mongodb": request.app.state.mongo.admin.command("ping"),
            "redis": request.app.state.redis.ping(),
        }
        results = {}
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check, READINESS_TIMEOUT_SECONDS)
                results[name] = "ok"
            except Exception as error:
                logger.warning("readiness check %s failed: %s", name, error)
                results[name] = "unavailable"
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **results},
            status_code=200 if ready else 503,
        )

    graphql = GraphQLEndpoint(
        build_schema(
            max_query_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
        ),
        settings=settings,
    )
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/auth/google/login", oauth.google_login, methods=["GET"]),
        Route("/auth/google/callback", oauth.google_callback, methods=["GET"]),
        Route(catalog_transfer.EXPORT_PATH, catalog_transfer.export_products, methods=["GET"]),
        Route(demo_images.DEMO_IMAGE_PATH, demo_images.demo_image, methods=["GET"]),
    ]
    if settings.cloudinary_url is None:
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        routes.append(
            Mount(MEDIA_PATH, app=StaticFiles(directory=settings.media_dir), name="media")
        )
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app


def app_from_environment() -> Starlette:
    """Factory for uvicorn (and its worker processes): settings from the environment."""
    settings = Settings()
    configure_logging(settings)
    return create_app(settings)


async def seed_if_empty(settings: Settings, *, products: int | None = None) -> None:
    """Load the demo catalog unless the database already has products."""
    client = connect_mongo(settings)
    try:
        await init_documents(client, settings)
        if await Product.find_one() is not None or await Category.find_one() is not None:
            logger.info("catalog already present in %s; not seeding", settings.mongodb_database)
            return
        count = settings.seed_products if products is None else products
        summary = await load_demo_catalog(
            count,
            public_url=settings.public_url,
            seed=settings.seed_random_seed,
            currency=settings.shop_currency,
        )
        logger.info(
            "seeded %d categories, %d subcategories and %d products in %.1fs",
            summary.categories,
            summary.subcategories,
            summary.products,
            summary.seconds,
        )
    finally:
        await client.close()


async def create_admin(settings: Settings, email: str, name: str) -> int:
    """Promote the account with `email` to admin; create it (password from ADMIN_PASSWORD, or
    asked for on a terminal) when there is none."""
    client = connect_mongo(settings)
    try:
        await init_documents(client, settings)
        address = normalize_email(email)
        password_hash = None
        if await User.find_one(User.email == address) is None:
            password = os.environ.get("ADMIN_PASSWORD") or (
                getpass.getpass(f"Password for the new admin {address}: ")
                if sys.stdin.isatty()
                else ""
            )
            check_password_policy(password, email=address)
            password_hash = hash_password(password, rounds=settings.bcrypt_rounds)
        user = await make_admin(address, password_hash=password_hash, name=name)
    except AccountError as error:
        print(f"Could not create the admin: {error.message}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    print(f"{user.email} is an admin")
    return 0


async def run_worker(settings: Settings, *, once: bool = False) -> int:
    """Send the outbox's emails until SIGINT or SIGTERM (jobs under way then get
    WORKER_SHUTDOWN_GRACE_SECONDS to finish); with `once`, send what is due and return."""
    mongo = connect_mongo(settings)
    outbox = build_outbox(settings)
    try:
        await init_documents(mongo, settings)
        email = build_email(settings, mongo)
        describe_email(email)
        worker = outbox.worker(
            email,
            concurrency=settings.worker_concurrency,
            shutdown_grace_seconds=WORKER_SHUTDOWN_GRACE_SECONDS,
        )
        if once:
            ran = await worker.run_until_idle()
            logger.info("worker: ran %d jobs; nothing else is due", ran)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        logger.info(
            "worker: running jobs from the %s queue (%d at a time), outbox relay every %ss; "
            "Ctrl-C or SIGTERM stops it",
            outbox.queue.name,
            settings.worker_concurrency,
            settings.outbox_relay_interval_seconds,
        )
        await worker.run_until_stopped(stop)
        logger.info("worker: stopped")
        return 0
    finally:
        await outbox.close()
        await mongo.close()


def start_worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    """`python -m server worker` as a child sharing this terminal, for `run`."""
    assert settings.mongodb_uri
    assert settings.redis_url
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "REDIS_URL": settings.redis_url}
    process = spawn_attached([sys.executable, "-m", "server", "worker"], env=env)
    logger.info("started the job worker (pid %d); Ctrl-C stops it with the API", process.pid)
    return process


def stop_worker_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=WORKER_SHUTDOWN_GRACE_SECONDS + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    logger.info("stopped the job worker")


def start_embedded_servers(
    settings: Settings, *, with_redis: bool = True, join_running: bool = False
) -> tuple[Settings, list[LocalServer]]:
    """Start mongod and/or redis-server for the URIs that are not set, data under DATA_DIR.

    `with_redis=False` is for commands that only need MongoDB. With `join_running`, a mongod or
    redis-server already serving DATA_DIR on its embedded port (the ones `make run` started) is
    used as it is: it is not started here, and so not among the servers returned to be stopped.
    """
    servers: list[LocalServer] = []
    updates: dict[str, str] = {}
    mongo_dir = settings.data_dir / "mongo"
    try:
        if settings.mongodb_uri is None:
            running = (
                running_mongod_uri(mongo_dir, settings.embedded_mongo_port)
                if join_running
                else None
            )
            if running is not None:
                updates["mongodb_uri"] = running
                logger.info("using the embedded MongoDB already running at %s", running)
            else:
                started = time.monotonic()
                mongod = start_mongod(mongo_dir, settings.embedded_mongo_port)
                servers.append(mongod)
                updates["mongodb_uri"] = mongod.uri
                logger.info(
                    "embedded MongoDB replica set at %s (data in %s, %.1fs)",
                    mongod.uri,
                    mongo_dir,
                    time.monotonic() - started,
                )
        if with_redis and settings.redis_url is None:
            redis_dir = settings.data_dir / "redis"
            running = (
                running_redis_uri(redis_dir, settings.embedded_redis_port) if join_running else None
            )
            if running is not None:
                updates["redis_url"] = running
                logger.info("using the embedded Redis already running at %s", running)
            else:
                redis = start_redis(redis_dir, settings.embedded_redis_port)
                servers.append(redis)
                updates["redis_url"] = redis.uri
                logger.info("embedded Redis at %s", redis.uri)
    except BaseException:
        stop_servers(servers)
        raise
    return settings.model_copy(update=updates), servers


def stop_servers(servers: list[LocalServer]) -> None:
    for server in reversed(servers):
        server.stop()
        logger.info("stopped embedded %s", server.name)


def serve(settings: Settings) -> None:
    """Run uvicorn; worker processes build the app from the environment."""
    assert settings.mongodb_uri
    assert settings.redis_url
    os.environ["MONGODB_URI"] = settings.mongodb_uri
    os.environ["REDIS_URL"] = settings.redis_url
    logger.info(
        "GraphQL at http://%s:%d/graphql%s",
        "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host,  # noqa: S104
        settings.port,
        " (GraphiQL in a browser)" if settings.graphiql else "",
    )
    uvicorn.run(
        "server:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start embedded servers if needed, seed, serve")
    commands.add_parser("serve", help="serve against MONGODB_URI and REDIS_URL")
    worker = commands.add_parser("worker", help="run background jobs: send the outbox's emails")
    worker.add_argument(
        "--once", action="store_true", help="send what is due, then exit (cron, one-off runs)"
    )
    seed = commands.add_parser("seed", help="load the demo catalog into an empty database")
    seed.add_argument("--products", type=int, default=None, help="how many (default SEED_PRODUCTS)")
    commands.add_parser("export-schema", help="write schema.graphql")
    admin = commands.add_parser("create-admin", help="promote an account to admin, or create one")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Admin")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as error:
        print(f"Invalid configuration (environment or .env):\n{error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "export-schema":
        SCHEMA_FILE.write_text(str(build_schema()) + "\n")
        return 0

    # Seeding and making an admin need only MongoDB; they and a worker are run while `make run`
    # is up: they join its servers rather than fail to start second ones on the same ports.
    mongo_only = args.command in ("seed", "create-admin")
    try:
        settings, servers = start_embedded_servers(
            settings, with_redis=not mongo_only, join_running=mongo_only or args.command == "worker"
        )
    except LocalServerError as error:
        print(f"Could not start an embedded server: {error}", file=sys.stderr)
        return 1
    try:
        if args.command == "create-admin":
            return asyncio.run(create_admin(settings, args.email, args.name))
        if args.command == "worker":
            return asyncio.run(run_worker(settings, once=args.once))
        if args.command in ("run", "seed"):
            asyncio.run(seed_if_empty(settings, products=getattr(args, "products", None)))
        if args.command == "serve":
            serve(settings)
        if args.command == "run":
            worker_process = start_worker_process(settings)
            try:
                serve(settings)
            finally:
                stop_worker_process(worker_process)
    finally:
        stop_servers(servers)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # uvicorn re-raises Ctrl-C after its graceful shutdown; the servers are stopped by then.
        sys.exit(130)
