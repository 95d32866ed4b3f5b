"""Real clients (Node scripts: Apollo Client, playwright-core driving Debian's chromium) against
the API served for real (`tests/live_server.py`). `make clients` installs what they need."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from integrations.local_servers import LocalServer, free_port, start_redis
from settings import Settings
from tests.live_server import LiveServer

CLIENTS_DIR = Path(__file__).resolve().parent
INSTALLED_STAMP = CLIENTS_DIR / "node_modules" / ".installed-stamp"
# Debian's chromium, or the binary CHROMIUM names (chromium.mjs reads the same variable).
CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
# A script that runs longer has hung: each finishes in a few seconds.
SCRIPT_TIMEOUT_SECONDS = 90.0


def allowed_origin(port: int) -> str:
    return f"http://localhost:{port}"


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """The client scripts' directory, once Node, their npm packages and chromium are there;
    otherwise the test fails with what to run."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (Node.js 20 or newer)")
    lockfile = CLIENTS_DIR / "package-lock.json"
    if not INSTALLED_STAMP.exists() or INSTALLED_STAMP.stat().st_mtime < lockfile.stat().st_mtime:
        missing.append("the npm packages of tests/clients (from package-lock.json)")
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (Debian's chromium, or set CHROMIUM=/path)")
    if missing:
        pytest.fail(f"Missing {', '.join(missing)}: run `make clients` first.", pytrace=False)
    return CLIENTS_DIR


@pytest.fixture(scope="session")
def page_origin_port() -> int:
    """The port of the pages the browser tests serve from an origin the API allows."""
    return free_port()


@pytest.fixture(scope="session")
def cache_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The live server's query cache and persisted queries, in a Redis of its own, as in
    production: tests may flush it without touching anything else."""
    server = start_redis(tmp_path_factory.mktemp("cache-redis"), free_port())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(
    settings: Settings,
    cache_redis: LocalServer,
    page_origin_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    server = LiveServer(
        settings,
        tmp_path_factory.mktemp("live-api"),
        CACHE_REDIS_URL=cache_redis.uri,
        CORS_ALLOW_ORIGINS=allowed_origin(page_origin_port),
    ).start()
    yield server
    server.stop()


@pytest.fixture
async def live_api(
    app: Starlette, live_server: LiveServer, cache_redis: LocalServer
) -> AsyncIterator[LiveServer]:
    """The live server, with the database and Redis emptied after the test (through `app`, which
    also lets the test seed with `tests.factories`), and its cache Redis flushed. A process that
    stored persisted queries keeps them in memory as well: it is restarted before the next test,
    so that each test starts with none."""
    if live_server.restart_pending:
        live_server.restart()
    yield live_server
    client = Redis.from_url(cache_redis.uri)
    try:
        live_server.restart_pending = bool(await client.keys("*apq:*"))
        await client.flushdb()
    finally:
        await client.aclose()


async def run_node(script: Path, *args: str) -> dict[str, Any]:
    """Run a client script to its end; its JSON summary (the last line it printed)."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        *args,
        cwd=script.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SCRIPT_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{script.name} did not finish in {SCRIPT_TIMEOUT_SECONDS:.0f} s")
    output = stdout.decode()
    assert process.returncode == 0, (
        f"{script.name} failed ({process.returncode}):\n{stderr.decode()}\n{output}"
    )
    summary: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return summary
