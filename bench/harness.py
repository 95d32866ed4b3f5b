"""What the benchmarks here share: private mongod and redis-server, the API as a subprocess,
machine facts, the results file and the command-line plumbing.

Everything runs against servers started on free ports in a temporary directory, so the user's
`.data/` and the default ports are never touched, and everything started is stopped again, also
on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from integrations.local_servers import (
    LocalServer,
    cache_size_for_memory,
    free_port,
    machine_memory_gb,
    start_mongod,
    start_redis,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATABASE = "bench"
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.1
BUSY_LOAD_AVERAGE = 1.5


class BenchError(RuntimeError):
    """The benchmark cannot produce meaningful numbers; the message says why."""


# --- machine facts ----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware"):
                return value.strip()
    except OSError:
        pass
    return "unknown"


def machine_facts() -> dict[str, Any]:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (the uvicorn supervisor and its workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and brackets, so split after it.
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children.get(current, [])
    return tree


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (processes gone count as 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _CLOCK_TICKS


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process in MiB (VmRSS), or None if it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else None


def worker_rss_mb(server_pid: int) -> dict[int, float]:
    """RSS of each of the API's workers (the supervisor's children but multiprocessing's
    resource tracker), by pid."""
    sizes = {}
    for pid in process_tree(server_pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if pid != server_pid and b"resource_tracker" not in command:
            sizes[pid] = rss_mb(pid)
    return {pid: size for pid, size in sizes.items() if size is not None}


def warn_if_busy() -> None:
    one_minute = os.getloadavg()[0]
    if one_minute > BUSY_LOAD_AVERAGE:
        print(
            f"note: load average is {one_minute:.2f} (> {BUSY_LOAD_AVERAGE}); other work on this "
            "machine will skew the numbers",
            file=sys.stderr,
        )


# --- local servers ----------------------------------------------------------------------------


@dataclass
class Backends:
    mongod: LocalServer
    redis: LocalServer | None


@contextlib.contextmanager
def backends(work_dir: Path, *, with_redis: bool = True) -> Iterator[Backends]:
    """A private mongod (and redis-server) on free ports, data under `work_dir`."""
    started: list[LocalServer] = []
    try:
        # Sized as `make run` sizes it: the big-catalog run outgrows the small default.
        cache_gb = cache_size_for_memory(machine_memory_gb())
        mongod = start_mongod(work_dir / "mongo", free_port(), cache_size_gb=cache_gb)
        started.append(mongod)
        redis = None
        if with_redis:
            redis = start_redis(work_dir / "redis", free_port())
            started.append(redis)
        yield Backends(mongod, redis)
    finally:
        for server in reversed(started):
            server.stop()


def server_environment(backends: Backends, work_dir: Path, **overrides: str) -> dict[str, str]:
    """Environment for `python -m server ...` pointing at the private servers only, running this
    checkout's code (first on PYTHONPATH, whatever the virtualenv has installed)."""
    assert backends.redis is not None
    env = dict(os.environ)
    python_path = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        {
            "ENVIRONMENT": "development",
            "MONGODB_URI": backends.mongod.uri,
            "MONGODB_DATABASE": DATABASE,
            "REDIS_URL": backends.redis.uri,
            "REDIS_KEY_PREFIX": "bench:",
            # Never used while both URIs are set; pointed away from `.data/` all the same.
            "DATA_DIR": str(work_dir / "unused-data-dir"),
            "GRAPHIQL": "false",
            # Every load client connects from 127.0.0.1 and stands for many shoppers: no
            # per-client bucket of query cost (MAX_QUERY_COST still applies).
            "QUERY_COST_THROTTLE_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(python_path),
        }
    )
    env.update(overrides)
    return env


def server_command(
    arguments: list[str], env: dict[str, str], *, timeout: float
) -> tuple[float, str]:
    """`python -m server <arguments>` to its end: (wall seconds, its output); BenchError with
    the output's end when it fails."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "server", *arguments],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall_seconds = time.perf_counter() - started
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise BenchError(
            f"`python -m server {' '.join(arguments)}` exited with {completed.returncode}:\n"
            f"{output[-4000:]}"
        )
    return wall_seconds, output


# --- the API under test -----------------------------------------------------------------------


_LOG_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback")
# "2025-01-01 12:00:00,123 WARNING name [request-id] message" -> "WARNING name message"
_LOG_PREFIX = re.compile(r"^\S+ \S+ (\w+) (\S+) \[[^\]]*\] ")


def summarize_warnings(lines: list[str], limit: int = 3) -> list[str]:
    """The first few distinct messages, without timestamps and request ids."""
    distinct: dict[str, None] = {}
    for line in lines:
        distinct.setdefault(_LOG_PREFIX.sub(r"\1 \2 ", line)[:300], None)
        if len(distinct) >= limit:
            break
    return list(distinct)


class ApiServer:
    """`python -m server serve` (or another `command` answering GET /readyz) in its own process
    group, so a terminal Ctrl-C reaches only us."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        command: list[str] | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.log_path = log_path
        self.port = int(env["PORT"])
        self.base_url = f"http://{HOST}:{self.port}"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command or [sys.executable, "-m", "server", "serve"],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
            )

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def warnings_since(self, offset: int) -> list[str]:
        """WARNING and ERROR lines the server logged after byte `offset` of its log."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if _LOG_PROBLEM.search(line)]

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(server log unreadable: {error})"
        return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while True:
                code = self.process.poll()
                if code is not None:
                    raise BenchError(
                        f"the API server exited with {code} during start-up:\n{self.log_tail()}"
                    )
                try:
                    response = client.get("/readyz")
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as error:
                    last = repr(error)
                if time.monotonic() >= deadline:
                    raise BenchError(
                        f"GET /readyz did not answer 200 within {timeout:.0f}s (last: {last}):\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(POLL_INTERVAL_SECONDS)

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown), wait; SIGKILL the process group as a last resort."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- results and command line -----------------------------------------------------------------


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def save(report: dict[str, Any]) -> Path:
    """Write the report to `bench/results/<its timestamp>.json` (git-ignored)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{report['timestamp']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _interrupt_once(signum: int, frame: object) -> None:
    """First Ctrl-C (or SIGTERM) unwinds into the cleanup; further ones must not interrupt it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_in_work_dir(bench: Callable[[Path], None]) -> int:
    """Run `bench(work_dir)` with a fresh temporary directory, removed afterwards; the exit code.

    A `BenchError` aborts with its message; Ctrl-C or SIGTERM unwinds through the cleanup of
    whatever the bench started.
    """
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    warn_if_busy()
    work_dir = Path(tempfile.mkdtemp(prefix="commerce-bench-"))
    try:
        bench(work_dir)
    except BenchError as error:
        print(f"bench aborted: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        # The servers are stopped by their context managers; only files remain.
        shutil.rmtree(work_dir, ignore_errors=True)
    return 0
