"""`ServerSupervisor`: an embedded server that dies is started again, on its port and data
directory, with backoff while it cannot start. Real processes restart here, so the tests poll for
them with a deadline."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from integrations.local_servers import (
    LocalServer,
    ServerSupervisor,
    free_port,
    start_mongod,
    start_redis,
)

RESTART_DEADLINE_SECONDS = 60.0


def eventually(
    check: Callable[[], bool], deadline_seconds: float = RESTART_DEADLINE_SECONDS
) -> bool:
    """Whether `check` comes true before the deadline (a process restarting takes its time)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (OSError, redis.RedisError, pymongo.errors.PyMongoError):
            pass
        time.sleep(0.05)
    return False


def redis_directory(server: LocalServer) -> str:
    client = redis.Redis.from_url(server.uri, socket_timeout=1, socket_connect_timeout=1)
    try:
        directory = client.config_get("dir")["dir"]
        return directory.decode() if isinstance(directory, bytes) else str(directory)
    finally:
        client.close()


def killed(server: LocalServer) -> int:
    """SIGKILL the server's process, as the OOM killer or a stray `kill -9` would; its pid."""
    pid = server.process.pid
    server.process.kill()
    server.process.wait()
    return pid


@pytest.fixture
def supervised() -> Iterator[Callable[..., ServerSupervisor]]:
    started: list[tuple[ServerSupervisor, list[LocalServer]]] = []

    def supervise(servers: list[LocalServer], **timings: Any) -> ServerSupervisor:
        supervisor = ServerSupervisor(
            servers, **{"poll_interval_seconds": 0.05, "first_delay_seconds": 0.05, **timings}
        ).start()
        started.append((supervisor, servers))
        return supervisor

    yield supervise
    for supervisor, servers in started:
        supervisor.stop()
        for server in servers:
            server.stop()


def test_a_killed_redis_server_is_started_again_on_its_port_and_data_directory(
    tmp_path: Path, supervised: Callable[..., ServerSupervisor], caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "redis"
    port = free_port()
    server = start_redis(data_dir, port)
    supervised([server])

    with caplog.at_level(logging.INFO, logger="commerce.local_servers"):
        old_pid = killed(server)
        back = eventually(lambda: server.process.pid != old_pid and redis_directory(server) != "")

    assert back
    assert server.port == port
    assert server.process.poll() is None
    assert redis_directory(server) == str(data_dir.resolve())
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"(pid {old_pid}) exited with code -9" in message for message in messages)
    assert any(f"running again on port {port}" in message for message in messages)


def test_a_server_that_cannot_start_is_tried_again_later_and_later_until_it_can(
    tmp_path: Path, supervised: Callable[..., ServerSupervisor], caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    server = start_redis(tmp_path / "redis", port)
    killed(server)
    # Someone else takes the port while the server is down: starting it again fails.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", port))
    squatter.listen()

    with caplog.at_level(logging.INFO, logger="commerce.local_servers"):
        supervised([server], first_delay_seconds=0.1)
        try:
            assert eventually(lambda: len(failures(caplog)) >= 2)
        finally:
            squatter.close()
        back = eventually(lambda: redis_directory(server) != "")

    assert back
    # Each failed start doubles the wait: 0.1 s first, doubled for the death right after the
    # supervisor started and again for each failed start.
    assert failures(caplog)[:2] == ["0.4", "0.8"]
    failed = [record.getMessage() for record in caplog.records if "next try" in record.getMessage()]
    assert all("already in use" in message for message in failed)


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The waits announced after each failed start, in order."""
    return [
        match.group(1)
        for record in list(caplog.records)
        if (match := re.search(r"next try in ([0-9.]+)s", record.getMessage()))
    ]


def test_a_killed_mongod_comes_back_with_its_data_as_a_primary(
    tmp_path: Path, supervised: Callable[..., ServerSupervisor]
) -> None:
    server = start_mongod(tmp_path / "mongo", free_port())
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        server.uri, serverSelectionTimeoutMS=2000
    )
    try:
        client.shop.orders.insert_one({"_id": "before the crash"})
        supervised([server])

        old_pid = killed(server)
        back = eventually(
            lambda: (
                server.process.pid != old_pid
                and bool(client.admin.command("hello").get("isWritablePrimary"))
            )
        )

        assert back
        assert client.shop.orders.find_one({}) == {"_id": "before the crash"}
    finally:
        client.close()
