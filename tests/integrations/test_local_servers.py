"""Tests for the local mongod / redis-server child processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from integrations.local_servers import (
    LocalServer,
    LocalServerError,
    free_port,
    running_mongod_uri,
    running_redis_uri,
    start_mongod,
    start_redis,
)
from tests.support import accepts_connections


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _replica_set_state(server: LocalServer) -> tuple[dict[str, Any], dict[str, Any]]:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        server.uri, serverSelectionTimeoutMS=5000
    )
    try:
        hello = client.admin.command("hello")
        config = client.admin.command("replSetGetConfig")["config"]
        return hello, config
    finally:
        client.close()


def test_mongod_is_a_primary_with_transactions_and_keeps_data_across_restarts(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "mongo"
    port = free_port()
    server = start_mongod(data_dir, port)
    try:
        assert server.name == "mongod"
        assert server.uri == f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
        assert server.log_path == data_dir / "mongod.log"
        assert server.log_path.is_file()
        hello, config = _replica_set_state(server)
        assert hello["isWritablePrimary"] is True
        assert hello["setName"] == "rs0"
        assert [m["host"] for m in config["members"]] == [f"127.0.0.1:{port}"]
        replica_set_id = config["settings"]["replicaSetId"]

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(server.uri)
        try:
            orders = client.shop.orders
            with client.start_session() as session:
                with session.start_transaction():
                    orders.insert_one({"_id": "committed", "total": 10}, session=session)
                    orders.insert_one({"_id": "also-committed", "total": 5}, session=session)
                with session.start_transaction():
                    orders.insert_one({"_id": "aborted"}, session=session)
                    session.abort_transaction()
            assert sorted(doc["_id"] for doc in orders.find()) == ["also-committed", "committed"]
        finally:
            client.close()
    finally:
        server.stop()
    assert server.process.returncode == 0
    server.stop()  # idempotent

    # Same port: the stored config is reused, not initiated again.
    server = start_mongod(data_dir, port)
    try:
        hello, config = _replica_set_state(server)
        assert hello["isWritablePrimary"] is True
        assert config["settings"]["replicaSetId"] == replica_set_id
        client = pymongo.MongoClient(server.uri)
        try:
            assert client.shop.orders.count_documents({}) == 2
        finally:
            client.close()
    finally:
        server.stop()

    # Another port: the one member is re-pointed at the new host, same replica set.
    new_port = free_port()
    server = start_mongod(data_dir, new_port)
    try:
        hello, config = _replica_set_state(server)
        assert hello["isWritablePrimary"] is True
        assert hello["hosts"] == [f"127.0.0.1:{new_port}"]
        assert [m["host"] for m in config["members"]] == [f"127.0.0.1:{new_port}"]
        assert config["settings"]["replicaSetId"] == replica_set_id
        client = pymongo.MongoClient(server.uri)
        try:
            assert client.shop.orders.find_one({"_id": "committed"}) == {
                "_id": "committed",
                "total": 10,
            }
        finally:
            client.close()
    finally:
        server.stop()
    assert not accepts_connections(new_port)


def test_a_running_mongod_is_found_only_for_its_own_data_dir_and_port(
    tmp_path: Path, listening_socket: socket.socket
) -> None:
    data_dir = tmp_path / "mongo"
    port = free_port()
    assert running_mongod_uri(data_dir, port) is None  # nothing runs yet

    server = start_mongod(data_dir, port)
    try:
        assert running_mongod_uri(data_dir, port) == server.uri
        assert running_mongod_uri(tmp_path / "mongo" / ".." / "mongo", port) == server.uri
        assert running_mongod_uri(tmp_path / "other", port) is None
        assert running_mongod_uri(data_dir, free_port()) is None
        # Something listening that is not mongod at all.
        assert running_mongod_uri(data_dir, listening_socket.getsockname()[1], timeout=0.5) is None
    finally:
        server.stop()
    assert running_mongod_uri(data_dir, port) is None


def test_a_running_redis_is_found_only_for_its_own_data_dir_and_port(
    tmp_path: Path, listening_socket: socket.socket
) -> None:
    data_dir = tmp_path / "redis"
    port = free_port()
    assert running_redis_uri(data_dir, port) is None  # nothing runs yet

    server = start_redis(data_dir, port)
    try:
        assert running_redis_uri(data_dir, port) == server.uri
        assert running_redis_uri(tmp_path / "redis" / ".." / "redis", port) == server.uri
        assert running_redis_uri(tmp_path / "other", port) is None
        assert running_redis_uri(data_dir, free_port()) is None
        # Something listening that is not redis-server at all.
        assert running_redis_uri(data_dir, listening_socket.getsockname()[1], timeout=0.5) is None
    finally:
        server.stop()
    assert running_redis_uri(data_dir, port) is None


def test_redis_set_get_and_stop(tmp_path: Path) -> None:
    port = free_port()
    server = start_redis(tmp_path / "redis", port)
    try:
        assert server.name == "redis-server"
        assert server.uri == f"redis://127.0.0.1:{port}/0"
        assert server.log_path == tmp_path / "redis" / "redis.log"
        client = redis.Redis.from_url(server.uri)
        try:
            assert client.set("greeting", "hello")
            assert client.get("greeting") == b"hello"
        finally:
            client.close()
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert not accepts_connections(port)
    server.stop()  # idempotent


def test_taken_port_raises_before_starting_anything(
    tmp_path: Path, listening_socket: socket.socket
) -> None:
    port = listening_socket.getsockname()[1]
    with pytest.raises(LocalServerError, match=f"port {port} .*already in use"):
        start_redis(tmp_path / "redis", port)
    with pytest.raises(LocalServerError, match=f"port {port} .*already in use"):
        start_mongod(tmp_path / "mongo", port)
    assert not (tmp_path / "redis" / "redis.log").exists()
    assert not (tmp_path / "mongo" / "mongod.log").exists()


def test_second_mongod_on_same_data_dir_reports_the_lock(tmp_path: Path) -> None:
    data_dir = tmp_path / "mongo"
    server = start_mongod(data_dir, free_port())
    try:
        with pytest.raises(LocalServerError, match=r"mongod\.lock") as excinfo:
            start_mongod(data_dir, free_port(), timeout=30)
        assert "DBPathInUse" in str(excinfo.value)
    finally:
        server.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from integrations.local_servers import start_redis\n"
        "server = start_redis(Path(sys.argv[1]), int(sys.argv[2]))\n"
        "print(server.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    port = free_port()
    parent = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", script, str(tmp_path / "redis"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert accepts_connections(port)
        assert os.getpgid(child_pid) == child_pid  # own process group
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()

    deadline = time.monotonic() + 10
    while accepts_connections(port) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not accepts_connections(port)
