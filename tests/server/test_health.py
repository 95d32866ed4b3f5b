"""Liveness and readiness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from starlette.applications import Starlette

from integrations.local_servers import free_port, start_redis


async def test_healthz_answers_while_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_ready_when_mongodb_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "mongodb": "ok", "redis": "ok"}


@pytest.fixture
def stopped_redis(app: Starlette, tmp_path: Path) -> Iterator[Redis]:
    server = start_redis(tmp_path, free_port())
    redis = Redis.from_url(server.uri, socket_timeout=0.5, socket_connect_timeout=0.5)
    server.stop()
    original = app.state.redis
    app.state.redis = redis
    yield redis
    app.state.redis = original


async def test_readyz_is_503_when_redis_is_down(
    client: httpx.AsyncClient, stopped_redis: Redis
) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "mongodb": "ok", "redis": "unavailable"}
    await stopped_redis.aclose()


@pytest.fixture
def unreachable_mongo(app: Starlette) -> Iterator[AsyncMongoClient[Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        f"mongodb://127.0.0.1:{free_port()}/?directConnection=true", serverSelectionTimeoutMS=200
    )
    original = app.state.mongo
    app.state.mongo = client
    yield client
    app.state.mongo = original


async def test_readyz_is_503_when_mongodb_is_down(
    client: httpx.AsyncClient, unreachable_mongo: AsyncMongoClient[Any]
) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "mongodb": "unavailable", "redis": "ok"}
    await unreachable_mongo.close()
