"""Where the query cache lives. Without REDIS_URL, two embedded redis-servers: the rate limits and
the job queue on one that never evicts a key, the query cache on one capped in memory that evicts
its least recently used entries. With REDIS_URL, the cache shares it unless CACHE_REDIS_URL says
otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis
from starlette.applications import Starlette

from integrations.local_servers import free_port, start_redis
from server import build_services
from server.app import connect_cache_redis
from server.commands import start_embedded_servers, stop_servers
from settings import Settings
from tests.support import another_app


def memory_config(url: str) -> dict[str, str]:
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        config: dict[str, str] = client.config_get("maxmemory*")
        return {name: config[name] for name in ("maxmemory", "maxmemory-policy")}
    finally:
        client.close()


def test_the_cache_gets_an_embedded_server_of_its_own_with_a_memory_cap(
    tmp_path: Path, server_uris: tuple[str, str]
) -> None:
    configured = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mongodb_uri=server_uris[0],
        data_dir=tmp_path,
        embedded_redis_port=free_port(),
        embedded_cache_redis_port=free_port(),
        embedded_cache_redis_max_memory_mb=16,
    )

    settings, servers = start_embedded_servers(configured)
    try:
        assert settings.redis_url is not None
        assert settings.cache_redis_url is not None
        assert settings.query_cache_redis_url == settings.cache_redis_url != settings.redis_url
        assert memory_config(settings.redis_url) == {
            "maxmemory": "0",
            "maxmemory-policy": "noeviction",
        }
        assert memory_config(settings.cache_redis_url) == {
            "maxmemory": str(16 * 1024 * 1024),
            "maxmemory-policy": "allkeys-lru",
        }
    finally:
        stop_servers(servers)
    assert [server.name for server in servers] == ["redis-server", "redis-server"]


@pytest.mark.parametrize(
    ("cache_redis_url", "used"),
    [(None, "redis://main:6379/0"), ("redis://cache:6379/0", "redis://cache:6379/0")],
)
def test_with_redis_url_the_cache_uses_it_unless_told_otherwise(
    cache_redis_url: str | None, used: str
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        mongodb_uri="mongodb://db:27017/?replicaSet=rs0",
        redis_url="redis://main:6379/0",
        cache_redis_url=cache_redis_url,
    )

    started, servers = start_embedded_servers(settings)

    assert servers == []
    assert started.query_cache_redis_url == used


async def test_the_services_keep_the_cache_in_the_cache_redis(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    tmp_path: Path,
    replace_services: Callable[..., None],
) -> None:
    server = start_redis(tmp_path / "cache", free_port())
    configured = settings.model_copy(update={"cache_redis_url": server.uri})
    cache_redis = connect_cache_redis(configured, app.state.redis)
    services = build_services(configured, app.state.mongo, app.state.redis, cache_redis)
    try:
        replace_services(query_cache=services.query_cache)
        statuses = [
            (await client.post("/graphql", json={"query": "{ __typename }"})).json()["extensions"][
                "cache"
            ]
            for _ in range(2)
        ]
        in_cache_redis = [key async for key in cache_redis.scan_iter(match="*qc:entry:*")]
        in_main_redis = [
            key
            async for key in app.state.redis.scan_iter(
                match=f"{settings.redis_key_prefix}qc:entry:*"
            )
        ]
    finally:
        await services.outbox.close()
        await cache_redis.aclose()
        server.stop()

    assert statuses == ["MISS", "HIT"]
    assert (len(in_cache_redis), in_main_redis) == (1, [])
    assert connect_cache_redis(settings, app.state.redis) is app.state.redis


async def test_startup_warns_when_the_cache_shares_the_main_redis(
    app: Starlette, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_server = start_redis(tmp_path / "cache", free_port())
    own_cache = settings.model_copy(update={"cache_redis_url": cache_server.uri})
    warnings = {}
    try:
        for name, configured in (("shared", settings), ("own", own_cache)):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="commerce"):
                async with another_app(configured, app):
                    pass
            warnings[name] = [
                record.getMessage()
                for record in caplog.records
                if "share REDIS_URL's Redis" in record.getMessage()
            ]
    finally:
        cache_server.stop()

    assert settings.cache_redis_url is None  # the suite's app: REDIS_URL only
    assert len(warnings["shared"]) == 1
    assert "rate limits" in warnings["shared"][0]
    assert warnings["own"] == []
