"""What the request observation costs per request (README, "Observability"): the middleware, the
metrics (in-process and multiprocess values) and the log line (text and JSON), beside the access
log line of uvicorn's that it replaces. No servers: a trivial ASGI app called in a loop.

    .venv/bin/python bench/observability_overhead.py

This is a benchmark, not a test: it prints a Markdown table and asserts nothing. Each variant is
run in its own process (prometheus-client picks its mode when first imported), in interleaved
rounds; the table gives the median per-request time and the difference to the baseline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REQUESTS = 20_000
ROUNDS = 5
VARIANTS = {
    "baseline: request id middleware and the app": {},
    "before: + uvicorn's access log line (now off)": {"uvicorn_access_log": True},
    "+ observation middleware, no metrics, log off": {"observe": True},
    "+ metrics, one process (WORKERS=1)": {"observe": True, "metrics": True},
    "+ metrics, multiprocess (WORKERS>1)": {"observe": True, "metrics": True, "mp": True},
    "+ metrics, multiprocess, written at once (METRICS_FLUSH_SECONDS=0)": {
        "observe": True, "metrics": True, "mp": True, "write_through": True,
    },
    "after: + metrics (multiprocess) + text log line": {
        "observe": True, "metrics": True, "mp": True, "log": "text",
    },
    "after: + metrics (multiprocess) + JSON log line": {
        "observe": True, "metrics": True, "mp": True, "log": "json",
    },
}  # fmt: skip


async def _respond(scope: dict, receive: object, send: object) -> None:
    # What a GraphQL hit fills in about itself, and a small JSON answer.
    from schema.observability import request_record

    record = request_record(scope)
    if record is not None:
        record.operation, record.cache_status, record.cost = "ProductList", "HIT", 41
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b'{"data":{}}'})  # type: ignore[operator]


def run_variant(options: dict[str, object]) -> float:
    """Seconds per request of `options`, in this process (its stderr, where logs go, is
    /dev/null)."""
    from resolvers.metrics import keep_metrics, process_metrics
    from schema.middleware import RequestIdMiddleware
    from schema.observability import RequestObservationMiddleware
    from server.app import configure_logging
    from settings import LogFormat, Settings

    app: object = _respond
    metrics = process_metrics() if options.get("metrics") else None
    if metrics is not None:
        metrics.write_through = bool(options.get("write_through"))
    if options.get("observe"):
        app = RequestObservationMiddleware(app, metrics=metrics)  # type: ignore[arg-type]
    app = RequestIdMiddleware(app)  # type: ignore[arg-type]
    log = options.get("log")
    uvicorn_access = None
    if log:
        # As the server sets it up: a handler on stderr, the format, the record flags.
        configure_logging(Settings(_env_file=None, log_format=LogFormat(log)))  # type: ignore[call-arg]
    elif options.get("uvicorn_access_log"):
        # As before: uvicorn's access logger, with its handler and formatter, on stderr.
        import uvicorn.config

        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        uvicorn_access = logging.getLogger("uvicorn.access")
    else:
        logging.basicConfig(level=logging.WARNING)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        return None

    async def loop() -> float:
        upkeep = (
            asyncio.create_task(keep_metrics(metrics, {}, flush_seconds=1.0))
            if metrics is not None
            else None
        )
        started = time.perf_counter()
        for _ in range(REQUESTS):
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/graphql",
                "query_string": b"query=%7B%20products%20%7D",
                "headers": [(b"host", b"localhost")],
                "client": ("127.0.0.1", 50000),
                "http_version": "1.1",
            }
            await app(scope, receive, send)  # type: ignore[operator]
            if uvicorn_access is not None:
                # What uvicorn's httptools protocol logs once a response is complete.
                uvicorn_access.info(
                    '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", "/graphql", "1.1", 200
                )
        if metrics is not None:
            metrics.flush()
        seconds = (time.perf_counter() - started) / REQUESTS
        if upkeep is not None:
            upkeep.cancel()
        return seconds

    asyncio.run(loop())  # warm-up: children made, caches filled
    return asyncio.run(loop())


def in_subprocess(name: str, directory: str) -> float:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if VARIANTS[name].get("mp"):
        env["PROMETHEUS_MULTIPROC_DIR"] = directory
    output = subprocess.run(
        [sys.executable, __file__, "--variant", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1])["seconds"])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--variant":
        print(json.dumps({"seconds": run_variant(VARIANTS[sys.argv[2]])}))
        return
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="observability-bench-") as directory:
        for _ in range(ROUNDS):
            for name in VARIANTS:
                results[name].append(in_subprocess(name, directory))
    load = [round(value, 2) for value in os.getloadavg()]
    print(f"{REQUESTS} requests per run, {ROUNDS} interleaved rounds, load average {load}\n")
    print("| variant | µs per request (median) | added to baseline, µs |")
    print("|---|---:|---:|")
    baseline = statistics.median(results[next(iter(VARIANTS))])
    for name, times in results.items():
        median = statistics.median(times)
        print(f"| {name} | {median * 1e6:.1f} | {(median - baseline) * 1e6:+.1f} |")


if __name__ == "__main__":
    main()
