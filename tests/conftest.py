"""Real MongoDB (one-node replica set) and Redis for the whole session, on free ports.

Set TEST_MONGODB_URI / TEST_REDIS_URL to use running servers instead; the suite then works in a
database and under a key prefix of its own, so it never touches anyone's data.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pymongo import monitoring
from redis.asyncio import Redis
from starlette.applications import Starlette

from integrations.local_servers import free_port, start_mongod, start_redis, start_redis_cluster
from integrations.search.tantivy_engine import TantivySearch
from resolvers.search_index import SearchIndexFollower
from server import create_app
from settings import Environment, Settings
from tests.fakes.mongo_proxy import MongoProxy
from tests.support import MongoCommandCounter, clear_stored_state

COMMAND_COUNTER = MongoCommandCounter()
# Registered before any client exists, so every client the app creates reports to it.
monitoring.register(COMMAND_COUNTER)


@pytest.fixture(scope="session")
def server_uris(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    mongodb_uri = os.environ.get("TEST_MONGODB_URI")
    redis_url = os.environ.get("TEST_REDIS_URL")
    started = []
    root: Path = tmp_path_factory.mktemp("servers")
    if not mongodb_uri:
        started.append(start_mongod(root / "mongo", free_port()))
        mongodb_uri = started[-1].uri
    if not redis_url:
        started.append(start_redis(root / "redis", free_port()))
        redis_url = started[-1].uri
    yield mongodb_uri, redis_url
    for server in reversed(started):
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-master Redis Cluster from the same redis-server binary, started only when a test
    asks for it (tests/cache/test_redis_cluster.py); the URL of one of its nodes."""
    nodes = start_redis_cluster(tmp_path_factory.mktemp("redis-cluster"), masters=3)
    yield nodes[0].uri
    for node in reversed(nodes):
        node.stop()


@pytest.fixture(scope="session")
def settings(server_uris: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    run_id = uuid.uuid4().hex[:12]
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.TEST,
        mongodb_uri=server_uris[0],
        redis_url=server_uris[1],
        mongodb_database=f"test_{run_id}",
        redis_key_prefix=f"test:{run_id}:",
        shop_currency="INR",
        bcrypt_rounds=4,  # the cost is a setting; the tests need the behaviour, not the slowness
        data_dir=data_dir,
        admin_signup_key="test-admin-signup-key-long-enough",
        # Every test client is 127.0.0.1 and stands for many clients; tests/api/test_query_cost.py
        # serves through buckets of its own. MAX_QUERY_COST keeps its default.
        query_cost_throttle_enabled=False,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        await application.state.mongo.drop_database(settings.mongodb_database)


@pytest.fixture
async def redis(app: Starlette) -> Redis:
    return app.state.redis


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty collections and this run's Redis keys after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    await clear_stored_state(request.getfixturevalue("app"), request.getfixturevalue("settings"))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def mongo_commands() -> MongoCommandCounter:
    COMMAND_COUNTER.reset()
    return COMMAND_COUNTER


@pytest.fixture
async def search_index(
    app: Starlette, tmp_path: Path, replace_services: Callable[..., None]
) -> AsyncIterator[SearchIndexFollower]:
    """The API searching a Tantivy index of its own, and the follower that keeps it from the
    session's MongoDB as the worker does: `catch_up()` applies every write made so far."""
    writer = await TantivySearch.open(tmp_path / "search-index", writable=True)
    reader = TantivySearch.reader(tmp_path / "search-index")
    replace_services(search=reader)
    yield SearchIndexFollower(
        writer, query_cache=app.state.services.query_cache, commit_interval_seconds=0.05
    )
    await reader.close()
    await writer.close()


@pytest.fixture
def replace_services(app: Starlette) -> Iterator[Callable[..., None]]:
    """Lets a test serve requests with some services swapped (another cache, a fake's client)."""
    original = app.state.services

    def replace(**services: object) -> None:
        app.state.services = dataclasses.replace(original, **services)

    yield replace
    app.state.services = original


# How long MongoDB operations may take in an app behind `mongo_proxy`: short, so that tests of
# an outage are quick, long enough for the requests that work before it on a busy machine.
PROXIED_MONGODB_TIMEOUT_SECONDS = 1.0


@pytest.fixture
async def mongo_proxy(app: Starlette) -> AsyncIterator[MongoProxy]:
    """A proxy to the test mongod, for an app to start behind and then lose MongoDB
    (`MongoProxy.stall`, `MongoProxy.shut`)."""
    primary: str = (await app.state.mongo.admin.command("hello"))["primary"]
    host, port = primary.rsplit(":", 1)
    proxy = await MongoProxy((host, int(port))).start()
    yield proxy
    await proxy.shut()


@pytest.fixture
def proxied_settings(settings: Settings, mongo_proxy: MongoProxy) -> Settings:
    """The test settings, with MongoDB reached through `mongo_proxy` and short timeouts."""
    return settings.model_copy(
        update={
            "mongodb_uri": mongo_proxy.uri,
            "mongodb_server_selection_timeout_seconds": PROXIED_MONGODB_TIMEOUT_SECONDS,
            "mongodb_connect_timeout_seconds": PROXIED_MONGODB_TIMEOUT_SECONDS,
            "mongodb_operation_timeout_seconds": PROXIED_MONGODB_TIMEOUT_SECONDS,
        }
    )
