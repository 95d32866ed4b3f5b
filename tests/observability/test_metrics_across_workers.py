"""Metrics added up across worker processes: processes sharing PROMETHEUS_MULTIPROC_DIR (dead
ones keep their counts, lose their live gauges), and `python -m server serve` with two workers,
which makes the directory for its start and removes it at the end."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymongo
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from integrations.local_servers import free_port
from settings import Settings

ROOT = Path(__file__).parent.parent.parent
STARTUP_TIMEOUT_SECONDS = 120

# Records `count` requests and a Redis pool with `in_use` connections, as one worker would, then
# prints "recorded" and waits for a line on stdin before it exits.
RECORDER = """
import sys
from resolvers.metrics import process_metrics

class Pool:
    def __init__(self, in_use):
        self._in_use_connections = [object()] * in_use
        self._available_connections = []
        self.max_connections = 100

count, in_use = int(sys.argv[1]), int(sys.argv[2])
metrics = process_metrics()
for _ in range(count):
    metrics.observe_request("graphql", 200, 0.002, "ProductPage", "HIT", 7)
metrics.sample_redis_pools({"main": Pool(in_use)})
metrics.flush()
print("recorded", flush=True)
sys.stdin.readline()
"""
RENDERER = """
import sys
from resolvers.metrics import process_metrics

sys.stdout.write(process_metrics().render().decode())
"""


def python(code: str, *args: str, directory: Path, **options: object) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
    }
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        **options,  # type: ignore[call-overload]
    )


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def render(directory: Path) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    renderer = python(RENDERER, directory=directory)
    out, _ = renderer.communicate(timeout=60)
    assert renderer.returncode == 0
    return samples(out)


def pool_in_use(rendered: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float | None:
    return rendered.get(
        ("commerce_redis_pool_connections", frozenset({("pool", "main"), ("state", "in_use")}))
    )


def test_processes_sharing_the_directory_are_added_up(tmp_path: Path) -> None:
    first = python(RECORDER, "3", "4", directory=tmp_path)
    second = python(RECORDER, "5", "6", directory=tmp_path)
    for recorder in (first, second):
        assert recorder.stdout is not None
        assert recorder.stdout.readline().strip() == "recorded"

    both_alive = render(tmp_path)
    first.communicate("stop\n", timeout=60)  # the first worker exits
    one_alive = render(tmp_path)
    second.communicate("stop\n", timeout=60)

    durations = (
        "commerce_request_duration_seconds_count",
        frozenset({("route", "graphql"), ("operation", "ProductPage")}),
    )
    hits = ("commerce_query_cache_requests_total", frozenset({("status", "HIT")}))
    cost = ("commerce_graphql_query_cost_sum", frozenset())
    assert [both_alive[durations], both_alive[hits], both_alive[cost]] == [8, 8, 56]
    assert pool_in_use(both_alive) == 10
    # A dead worker's requests still count; its connections do not.
    assert [one_alive[durations], one_alive[hits]] == [8, 8]
    assert pool_in_use(one_alive) == 6


@contextlib.contextmanager
def two_worker_server(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`python -m server serve` with WORKERS=2 on a free port, temporary files under a directory
    of its own; its base URL and that directory. Stopped with SIGINT, its database dropped."""
    assert settings.mongodb_uri
    assert settings.redis_url
    database = f"test_workers_{uuid.uuid4().hex[:8]}"
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(temporary),
        "ENVIRONMENT": "test",
        "MONGODB_URI": settings.mongodb_uri,
        "REDIS_URL": settings.redis_url,
        "MONGODB_DATABASE": database,
        "REDIS_KEY_PREFIX": f"test:{database}:",
        "DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "WORKERS": "2",
        "GRAPHIQL": "false",
        # Each request's metrics written at once: a scrape sees the other worker's at once too.
        "METRICS_FLUSH_SECONDS": "0",
        # Left by a developer's shell: the server makes its own directory all the same.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "not-this-one"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        cwd=tmp_path,  # no .env here
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_forward, args=(server, lines), daemon=True).start()
    try:
        started = 0
        while started < 2:
            line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
            assert line, f"the server exited during start-up with {server.wait()}"
            started += "Application startup complete" in line
        yield f"http://127.0.0.1:{port}", temporary
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(settings.mongodb_uri)
        client.drop_database(database)
        client.close()


def _forward(server: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert server.stderr is not None
    for line in server.stderr:
        lines.put(line)
    lines.put("")


def test_serve_with_two_workers_adds_up_their_metrics(settings: Settings, tmp_path: Path) -> None:
    requests = 24
    with two_worker_server(settings, tmp_path) as (base_url, temporary):
        (directory,) = temporary.glob("commerce-metrics-*")
        # No keep-alive: each request comes on a connection of its own, for either worker.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base_url, limits=no_reuse, timeout=10) as http:
            for _ in range(requests):
                assert http.get("/healthz").status_code == 200
            scrapes = [samples(http.get("/metrics").text) for _ in range(6)]
        writers = {path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}
        answered = health_answers_by_worker(directory)
        listening = listening_sockets(int(base_url.rsplit(":", 1)[1]))

    health = ("commerce_http_responses_total", frozenset({("route", "health"), ("status", "200")}))
    # Whichever worker answers a scrape, it adds up both workers' files.
    assert {scrape[health] for scrape in scrapes} == {requests}
    assert len(writers) == 2, writers
    # Each worker accepts on a socket of its own (SO_REUSEPORT; uvicorn's own workers share
    # one), and the kernel spreads new connections over them by a hash of their addresses: both
    # answered (all 24 on one has a chance of 2 in 2**24).
    assert listening == 2
    assert len(answered) == 2, answered
    assert min(answered.values()) > 0, answered
    assert sum(answered.values()) == requests
    mongo = ("commerce_mongodb_pool_connections", frozenset({("state", "open")}))
    assert all(scrape[mongo] >= 2 for scrape in scrapes)  # each worker has its own client
    # The directory was this start's own, and is gone with it.
    assert not directory.exists()
    assert not (tmp_path / "not-this-one").exists()


def health_answers_by_worker(directory: Path) -> dict[str, float]:
    """How many /healthz requests each worker (by pid, from its own counter file) answered."""
    answered = {}
    for path in directory.glob("counter_*.db"):
        pid = path.stem.rsplit("_", 1)[1]
        answered[pid] = sum(
            sample.value
            for family in MultiProcessCollector.merge([str(path)], accumulate=True)
            for sample in family.samples
            if sample.name == "commerce_http_responses_total"
            and sample.labels == {"route": "health", "status": "200"}
        )
    return answered


def listening_sockets(port: int) -> int:
    """How many IPv4 sockets listen on `port` (Linux: /proc/net/tcp, state 0A is LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(
        1
        for row in rows
        if (fields := row.split())[1].endswith(f":{port:04X}") and fields[3] == "0A"
    )


def test_a_dead_worker_is_replaced_with_a_socket_of_its_own(
    settings: Settings, tmp_path: Path
) -> None:
    """A killed worker's socket leaves with it (the supervisor kept no copy, so new connections
    go on to the other worker) and its replacement listens on a new one."""
    with two_worker_server(settings, tmp_path) as (base_url, temporary):
        (directory,) = temporary.glob("commerce-metrics-*")
        port = int(base_url.rsplit(":", 1)[1])
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base_url, limits=no_reuse, timeout=10) as http:
            for _ in range(24):
                assert http.get("/healthz").status_code == 200
            first, second = health_answers_by_worker(directory)
            os.kill(int(first), signal.SIGKILL)
            deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
            # Connections queued on its socket as it died are reset: none are sent until it is
            # gone from the port.
            while listening_sockets(port) > 1:
                assert time.monotonic() < deadline, "the killed worker's socket stayed"
            answered_while_one = []
            # Until the replacement listens: every fresh connection is answered meanwhile.
            while listening_sockets(port) < 2 or len(answered_while_one) < 8:
                assert time.monotonic() < deadline, "no replacement worker"
                answered_while_one.append(http.get("/healthz").status_code)
            for _ in range(24):
                assert http.get("/healthz").status_code == 200
        workers = set(health_answers_by_worker(directory))

    assert set(answered_while_one) == {200}
    assert listening_sockets(port) == 0
    # The replacement answered too, beside the survivor and the dead one's counts.
    assert len(workers - {first, second}) == 1, workers
