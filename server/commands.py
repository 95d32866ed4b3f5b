"""The commerce API's command line: serve, run the job worker, seed, recount, rebuild the search
index, export the schema, make admins.

Embedded MongoDB and Redis are started (or joined) when no URIs are set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from uvicorn.config import STARTUP_FAILURE

from documents.accounts import (
    AccountError,
    User,
    check_password_policy,
    hash_password,
    normalize_email,
)
from documents.catalog import Category, Product
from documents.catalog_counts import recount_catalog
from documents.demo_catalog import load_demo_catalog
from integrations.local_servers import (
    LocalServer,
    LocalServerError,
    ServerSupervisor,
    cache_size_for_memory,
    machine_memory_gb,
    running_mongod_uri,
    running_redis_uri,
    start_mongod,
    start_redis,
)
from resolvers.accounts.admin import make_admin
from resolvers.metrics import MULTIPROCESS_DIRECTORY_VARIABLE
from resolvers.query_cache import CATALOG_TAG
from schema.root import build_schema
from schema.trusted_documents import TrustedDocumentsError
from server.app import (
    build_api_schema,
    configure_logging,
    connect_mongo,
    init_documents,
    trusted_documents_of,
)
from server.reuse_port import ReusePortSupervisor
from server.search import rebuild_search_index
from server.worker import run_worker, start_worker_process, stop_worker_process
from settings import SearchEngineName, Settings

logger = logging.getLogger("commerce")
# How long one of the seed's MongoDB operations (a batch of inserts, an index build) may take.
SEED_OPERATION_SECONDS = 600.0
SCHEMA_FILE = Path(__file__).parent.parent / "schema.graphql"


async def seed_if_empty(settings: Settings, *, products: int | None = None) -> None:
    """Load the demo catalog unless the database already has products. A batch of thousands of
    inserts is not a request: on a busy machine one may take longer than a request's
    MONGODB_OPERATION_TIMEOUT_SECONDS, so the seed waits for MongoDB as long as it takes."""
    client = connect_mongo(
        settings.model_copy(update={"mongodb_operation_timeout_seconds": SEED_OPERATION_SECONDS})
    )
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


async def recount(settings: Settings, *, check_only: bool) -> int:
    """Count the storefront's product lists from the products and compare them with the kept
    counts; correct those that differ unless `check_only`. Exits 1 when a check found any."""
    client = connect_mongo(
        settings.model_copy(update={"mongodb_operation_timeout_seconds": SEED_OPERATION_SECONDS})
    )
    try:
        await init_documents(client, settings)
        started = time.perf_counter()
        found = await recount_catalog(correct=not check_only, invalidate=[CATALOG_TAG])
    finally:
        await client.close()
    for key, (stored, counted) in list(found.corrected.items())[:_RECOUNT_LINES]:
        print(f"{key}: kept {stored}, counted {counted}")
    if len(found.corrected) > _RECOUNT_LINES:
        print(f"... and {len(found.corrected) - _RECOUNT_LINES} more")
    verb = "differ" if check_only else "corrected"
    print(
        f"{found.checked} list counts checked in {time.perf_counter() - started:.1f}s, "
        f"{len(found.corrected)} {verb}"
    )
    # Only a check that found a difference fails: a repair that corrected something succeeded.
    return 1 if check_only and found.corrected else 0


_RECOUNT_LINES = 20


async def search_rebuild(settings: Settings) -> int:
    """Build the search index again from the products (README, "Search")."""
    if settings.search_engine is not SearchEngineName.TANTIVY:
        print(
            f"SEARCH_ENGINE={settings.search_engine} keeps no index: there is none to rebuild",
            file=sys.stderr,
        )
        return 2
    client = connect_mongo(
        settings.model_copy(update={"mongodb_operation_timeout_seconds": SEED_OPERATION_SECONDS})
    )
    try:
        await init_documents(client, settings)
        started = time.perf_counter()
        count = await rebuild_search_index(settings)
    finally:
        await client.close()
    print(f"search index rebuilt: {count} products in {time.perf_counter() - started:.1f}s")
    return 0


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
                cache_gb, cache_origin = embedded_mongo_cache(settings)
                mongod = start_mongod(
                    mongo_dir, settings.embedded_mongo_port, cache_size_gb=cache_gb
                )
                servers.append(mongod)
                updates["mongodb_uri"] = mongod.uri
                logger.info(
                    "embedded MongoDB replica set at %s (data in %s, %g GB cache %s, %.1fs)",
                    mongod.uri,
                    mongo_dir,
                    cache_gb,
                    cache_origin,
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
            if settings.cache_redis_url is None:
                cache_url, cache_server = embedded_cache_redis(settings, join_running=join_running)
                updates["cache_redis_url"] = cache_url
                servers += [cache_server] if cache_server else []
    except BaseException:
        stop_servers(servers)
        raise
    return settings.model_copy(update=updates), servers


def embedded_mongo_cache(settings: Settings) -> tuple[float, str]:
    """The embedded mongod's WiredTiger cache in GB, and where that size comes from (for the
    log): EMBEDDED_MONGO_CACHE_GB, else the machine's memory."""
    if settings.embedded_mongo_cache_gb is not None:
        return settings.embedded_mongo_cache_gb, "from EMBEDDED_MONGO_CACHE_GB"
    memory = machine_memory_gb()
    return cache_size_for_memory(memory), f"for {memory:.0f} GiB of memory"


def embedded_cache_redis(
    settings: Settings, *, join_running: bool
) -> tuple[str, LocalServer | None]:
    """The query cache's own redis-server, beside the embedded one: its eviction policy is per
    server, and the cache's drops least recently used entries at its memory cap, while the main
    one (rate limits, job queue) never drops a key. Its URL, and the server if started here."""
    cache_dir = settings.data_dir / "redis-cache"
    port = settings.embedded_cache_redis_port
    running = running_redis_uri(cache_dir, port) if join_running else None
    if running is not None:
        logger.info("using the embedded cache Redis already running at %s", running)
        return running, None
    max_memory_mb = settings.embedded_cache_redis_max_memory_mb
    server = start_redis(
        cache_dir, port, max_memory_mb=max_memory_mb, eviction_policy="allkeys-lru"
    )
    logger.info(
        "embedded cache Redis at %s (%d MB, least recently used evicted)", server.uri, max_memory_mb
    )
    return server.uri, server


def stop_servers(servers: list[LocalServer]) -> None:
    for server in reversed(servers):
        server.stop()
        logger.info("stopped embedded %s", server.name)


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on `host`:`port` now (bound as uvicorn binds it, with
    SO_REUSEADDR, so a port only left in TIME_WAIT counts as free)."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True  # uvicorn reports a host it cannot resolve
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError:
                return False
    return True


@contextlib.contextmanager
def metrics_directory(workers: int) -> Iterator[Path | None]:
    """With several workers, a fresh PROMETHEUS_MULTIPROC_DIR for this start, removed at the end:
    each worker writes its metrics there and /metrics adds them all up. With one, none: its
    metrics stay in the process (a directory given in the environment is not used either way,
    as values left there by an earlier start would count again)."""
    os.environ.pop(MULTIPROCESS_DIRECTORY_VARIABLE, None)
    if workers == 1:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="commerce-metrics-"))
    os.environ[MULTIPROCESS_DIRECTORY_VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        os.environ.pop(MULTIPROCESS_DIRECTORY_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)


def serve(settings: Settings) -> None:
    """Run uvicorn; worker processes build the app from the environment."""
    assert settings.mongodb_uri
    assert settings.redis_url
    os.environ["MONGODB_URI"] = settings.mongodb_uri
    os.environ["REDIS_URL"] = settings.redis_url
    if settings.cache_redis_url:
        os.environ["CACHE_REDIS_URL"] = settings.cache_redis_url
    logger.info(
        "GraphQL at http://%s:%d/graphql%s",
        "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host,  # noqa: S104
        settings.port,
        " (GraphiQL in a browser)" if settings.serves_graphiql else "",
    )
    config = uvicorn.Config(
        "server:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        # JSON lines: uvicorn's own records go through our handler, as every other does.
        log_config=None if settings.logs_as_json else uvicorn.config.LOGGING_CONFIG,
        # The request line (schema/observability.py) says more than uvicorn's access log.
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    with metrics_directory(settings.workers):
        if settings.workers == 1:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:
                raise SystemExit(STARTUP_FAILURE)
        else:
            # Not uvicorn's own workers, which share one socket: see server/reuse_port.py.
            ReusePortSupervisor(config).run()


def tracing_installed() -> bool:
    """Whether the `otel` extra (OpenTelemetry's SDK and OTLP exporter) is installed."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start embedded servers if needed, seed, serve, run jobs")
    commands.add_parser("serve", help="serve against MONGODB_URI and REDIS_URL")
    worker = commands.add_parser("worker", help="run background jobs: send the outbox's emails")
    worker.add_argument(
        "--once", action="store_true", help="send what is due, then exit (cron, one-off runs)"
    )
    seed = commands.add_parser("seed", help="load the demo catalog into an empty database")
    seed.add_argument("--products", type=int, default=None, help="how many (default SEED_PRODUCTS)")
    recount_parser = commands.add_parser(
        "recount", help="count the product lists again and correct the kept counts"
    )
    recount_parser.add_argument(
        "--check", action="store_true", help="only compare; exit 1 if any count differs"
    )
    commands.add_parser("search-rebuild", help="build the search index again from the products")
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
    if args.command in ("run", "serve"):
        if settings.otel_enabled and not tracing_installed():
            print(
                "OTEL_ENABLED needs OpenTelemetry: pip install 'commerce-graphql[otel]'",
                file=sys.stderr,
            )
            return 2
        # Checked here, before any server starts, to stop with one line; each worker process
        # loads it again when it builds its app.
        try:
            trusted_documents_of(settings, build_api_schema(settings))
        except TrustedDocumentsError as error:
            print(f"Invalid trusted documents: {error}", file=sys.stderr)
            return 2

    # Before any server starts or the seed runs: a second `make run` stops here, with one line.
    if args.command in ("run", "serve") and not port_is_free(settings.host, settings.port):
        print(
            f"Port {settings.port} on {settings.host} is in use (another `make run`?). Stop "
            "what listens there, or serve on another port: PORT=8001 make run (and "
            "EMBEDDED_MONGO_PORT, EMBEDDED_REDIS_PORT, EMBEDDED_CACHE_REDIS_PORT for the "
            "embedded servers, see the README)",
            file=sys.stderr,
        )
        return 1

    # Seeding and making an admin need only MongoDB; they and a worker are run while `make run`
    # is up: they join its servers rather than fail to start second ones on the same ports.
    mongo_only = args.command in ("seed", "create-admin", "recount", "search-rebuild")
    try:
        settings, servers = start_embedded_servers(
            settings, with_redis=not mongo_only, join_running=mongo_only or args.command == "worker"
        )
    except LocalServerError as error:
        print(f"Could not start an embedded server: {error}", file=sys.stderr)
        return 1
    # The long-running commands get their embedded servers back if one dies (development).
    supervisor = (
        ServerSupervisor(servers).start()
        if servers and args.command in ("run", "serve", "worker")
        else None
    )
    try:
        if args.command == "create-admin":
            return asyncio.run(create_admin(settings, args.email, args.name))
        if args.command == "recount":
            return asyncio.run(recount(settings, check_only=args.check))
        if args.command == "search-rebuild":
            return asyncio.run(search_rebuild(settings))
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
        if supervisor is not None:
            supervisor.stop()
        stop_servers(servers)
    return 0
