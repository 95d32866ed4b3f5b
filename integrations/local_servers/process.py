"""Child processes for local servers: starting, tying them to our lifetime, waiting, stopping."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import redis
from pymongo.errors import PyMongoError

HOST = "127.0.0.1"

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


class LocalServerError(RuntimeError):
    """A local server could not be found, started or initialised."""


@dataclass
class LocalServer:
    """A running server child process and how to reach it."""

    name: str
    uri: str
    process: subprocess.Popen[bytes]
    log_path: Path
    # How this server was started (same port, same data directory), for `start_again`.
    starter: Callable[[], LocalServer] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        """The port the server listens on, from its URI."""
        port = urlsplit(self.uri).port
        assert port is not None, self.uri
        return port

    def start_again(self) -> None:
        """Start the server again as it was started, after its process exited, and wait until it
        is ready; this object then stands for the new process. Raises LocalServerError as the
        first start would."""
        if self.starter is None:
            raise LocalServerError(f"{self.name} was not started by this launcher")
        if self.process.poll() is None:
            raise LocalServerError(f"{self.name} (pid {self.process.pid}) is still running")
        self.process = self.starter().process

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
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


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


def spawn(args: list[str]) -> subprocess.Popen[bytes]:
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


def spawn_attached(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    output: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a child that writes to our terminal (or to `output`, stdout and stderr both) and
    dies with us (a worker beside the API, an API a test talks to over HTTP).

    Like the servers, it has a process group of its own: a terminal Ctrl-C reaches only the
    parent, which stops its children in order.
    """
    return subprocess.Popen(  # noqa: S603
        args,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        env=dict(env),
        cwd=cwd,
        close_fds=True,
        preexec_fn=_die_with_parent_hook(),
        process_group=0,
    )


def ensure_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Same option the servers use, so a port merely in TIME_WAIT does not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalServerError(
                    f"Cannot start {name}: port {port} on {HOST} is already in use. "
                    "Stop whatever is listening there or choose another port."
                ) from exc
            raise LocalServerError(
                f"Cannot start {name}: cannot bind {HOST}:{port}: {exc}"
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


def poll_until_ready(
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


def wait_for_port(server: LocalServer, port: int, deadline: float, hint: str) -> None:
    # A raw connect is cheap; client libraries back off for hundreds of ms between failed attempts.
    def accepting() -> bool:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True

    poll_until_ready(server, deadline, f"listen on {HOST}:{port}", hint, accepting)


# --- mongod replica set -----------------------------------------------------------------------
