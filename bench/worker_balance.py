"""How two workers share the connections (README, "Several workers, each its own socket"):
uvicorn's own multi-worker mode (one listening socket) against `python -m server serve`
(a SO_REUSEPORT socket per worker), interleaved, on `GET /healthz` with wrk.

    .venv/bin/python bench/worker_balance.py [--rounds 3] [--seconds 10] [--connections 50]

This is a benchmark, not a test: it prints a Markdown table and asserts nothing. Per worker, it
reports the requests it answered (from its own prometheus-client counter file) and the CPU it
used during the run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from harness import (
    ApiServer,
    BenchError,
    backends,
    cpu_seconds,
    load_average,
    positive_int,
    run_in_work_dir,
    server_environment,
)
from prometheus_client.multiprocess import MultiProcessCollector

from integrations.local_servers import free_port

READY_SECONDS = 120
MODES = {
    "one shared socket (uvicorn --workers 2)": [
        sys.executable, "-m", "uvicorn", "server:app_from_environment", "--factory",
        "--workers", "2", "--host", "127.0.0.1", "--loop", "uvloop", "--http", "httptools",
        "--no-access-log",
    ],
    "a SO_REUSEPORT socket per worker (python -m server serve)": None,
}  # fmt: skip


def answered_by_worker(metrics_dir: Path) -> dict[int, float]:
    """Requests to /healthz each worker answered, by pid, from its own counter file."""
    answered = {}
    for path in metrics_dir.glob("counter_*.db"):
        answered[int(path.stem.rsplit("_", 1)[1])] = sum(
            sample.value
            for family in MultiProcessCollector.merge([str(path)], accumulate=True)
            for sample in family.samples
            if sample.name == "commerce_http_responses_total"
            and sample.labels.get("route") == "health"
        )
    return answered


def wait_for_workers(server: ApiServer, count: int) -> list[int]:
    """The pids of the server's `count` workers, once each has logged its start-up: wrk's
    connections, all opened at once, would otherwise all go to the first worker up."""
    server.wait_ready()
    deadline = time.monotonic() + READY_SECONDS
    while True:
        log = server.log_path.read_text(errors="replace")
        started = re.findall(r"Started server process \[(\d+)\]", log)
        if log.count("Application startup complete") >= count and len(started) >= count:
            return [int(pid) for pid in started[:count]]
        if time.monotonic() > deadline:
            raise BenchError(f"{count} workers did not start:\n{server.log_tail()}")
        time.sleep(0.2)


def run_mode(name: str, args: argparse.Namespace, work_dir: Path, env: dict[str, str]) -> str:
    port = free_port()
    temporary = work_dir / f"tmp-{port}"
    temporary.mkdir()
    metrics_dir = temporary / "metrics"
    metrics_dir.mkdir()
    command = MODES[name]
    env = {
        **env,
        "PORT": str(port),
        "WORKERS": "2",
        "TMPDIR": str(temporary),
        "METRICS_FLUSH_SECONDS": "0",
        # `serve` makes its own directory under TMPDIR; uvicorn's CLI takes this one.
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    server = ApiServer(
        env,
        work_dir / f"api-{port}.log",
        command=None if command is None else [*command, "--port", str(port)],
    )
    try:
        workers = wait_for_workers(server, 2)
        cpu_before = {pid: cpu_seconds([pid]) for pid in workers}
        result = subprocess.run(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s",
             f"{server.base_url}/healthz"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        cpu = {pid: cpu_seconds([pid]) - cpu_before[pid] for pid in workers}
        directories = [metrics_dir, *temporary.glob("commerce-metrics-*")]
        answered: dict[int, float] = {}
        for directory in directories:
            answered |= answered_by_worker(directory)
    finally:
        server.stop()
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if match is None:
        raise BenchError(f"wrk said:\n{result.stdout}\n{result.stderr}")
    counts = sorted((answered.get(pid, 0) for pid in workers), reverse=True)
    total = sum(counts) or 1
    shares = " / ".join(f"{count / total:.0%}" for count in counts)
    cpu_text = " / ".join(f"{cpu[pid] / args.seconds:.0%}" for pid in sorted(cpu, key=cpu.get))
    return f"| {name} | {float(match.group(1)):,.0f} | {shares} | {cpu_text} |"


def bench(args: argparse.Namespace, work_dir: Path) -> None:
    rows = []
    with backends(work_dir) as servers:
        env = server_environment(servers, work_dir)
        for round_number in range(args.rounds):
            for name in MODES:
                row = run_mode(name, args, work_dir, env)
                print(f"round {round_number + 1}: {row}", file=sys.stderr)
                rows.append(row)
                time.sleep(1)
    print(f"\nwrk -t2 -c{args.connections} -d{args.seconds}s GET /healthz, load {load_average()}\n")
    print("| mode | req/s | requests per worker | CPU per worker |")
    print("|---|---:|---|---|")
    print("\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--seconds", type=positive_int, default=10)
    parser.add_argument("--connections", type=positive_int, default=50)
    args = parser.parse_args()
    return run_in_work_dir(lambda work_dir: bench(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
