"""Where one API worker spends its CPU on cached reads: py-spy samples it under wrk load.

    .venv/bin/python bench/profile_cached_read.py                     # the listing, identity
    .venv/bin/python bench/profile_cached_read.py --encoding gzip --seconds 20
    .venv/bin/python bench/profile_cached_read.py --case product-page --fast-hits false

Starts a private mongod and redis-server (as the other benchmarks do), seeds the demo catalog,
starts `python -m server serve` with ONE worker (uvicorn then serves in its own process), warms
the cache up, then samples the worker with py-spy (`profiling.py`) while wrk sends the request of
`make bench` at 50 connections. It prints, for each layer of the stack, the share of samples
whose stack passes through it (inclusive: the outer layers include the inner ones) and the share
spent in it below any other layer (exclusive: a sample counts for the deepest layer on its
stack), then the functions most samples end in. The collapsed stacks are kept in
`bench/results/<timestamp>-profile.txt` for a flame graph. Needs py-spy and wrk. A profile, not a
benchmark: its requests/s are those of a sampled worker.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

from catalog_load import GRAPHQL_PATH, product_page_path, seed_catalog
from harness import (
    HOST,
    REPO_ROOT,
    RESULTS_DIR,
    ApiServer,
    BenchError,
    backends,
    load_average,
    positive_int,
    run_in_work_dir,
    server_environment,
    timestamp,
)
from profiling import ProfileSummary, record_profile

from integrations.local_servers import free_port

# The layer a frame belongs to, by where py-spy says its code is; the first match counts.
LAYERS = (
    ("fast path", "(schema/fast_hits"),
    ("compiled reads", "(schema/compiled_reads/"),
    ("pymongo and bson", "(pymongo/"),
    ("pymongo and bson", "(bson/"),
    ("beanie and pydantic", "(beanie/"),
    ("beanie and pydantic", "(pydantic"),
    ("query cache", "(resolvers/query_cache/"),
    ("redis client", "(redis/"),
    ("query cost", "(schema/cost/"),
    ("query cost", "(resolvers/cost_bucket"),
    ("strawberry", "(strawberry/"),
    ("graphql-core", "(graphql/"),
    ("loaders and context", "(loaders/"),
    ("loaders and context", "(aiodataloader/"),
    ("loaders and context", "(resolvers/context.py"),
    ("our HTTP endpoint", "(schema/http.py"),
    ("our middleware", "(schema/middleware.py"),
    ("starlette", "(starlette/"),
    ("uvicorn", "(uvicorn/"),
    ("asyncio", "(asyncio/"),
    ("our documents", "(documents/"),
    ("our resolvers", "(resolvers/"),
)
TOP = 25


def _layer(frame: str) -> str | None:
    return next((name for name, marker in LAYERS if marker in frame), None)


def layers_table(collapsed: str) -> str:
    """Inclusive and exclusive shares of samples per layer (see the module)."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        layers = [_layer(frame) for frame in stack.split(";")]
        for name in set(layers) - {None}:
            inclusive[name] += count
        exclusive[next((name for name in reversed(layers) if name), "other")] += count
    if not total:
        raise BenchError("py-spy recorded no samples")
    lines = [f"{total} samples", "", "| layer | inclusive | exclusive |", "|---|---:|---:|"]
    lines += [
        f"| {name} | {inclusive[name] / total:.1%} | {count / total:.1%} |"
        for name, count in exclusive.most_common()
    ]
    return "\n".join(lines)


def self_table(summary: ProfileSummary) -> str:
    lines = ["| function (self) | share |", "|---|---:|"]
    lines += [
        f"| `{name}` | {count / summary.samples:.1%} |"
        for name, count in summary.self_samples.most_common(TOP)
    ]
    return "\n".join(lines)


def profile(args: argparse.Namespace, work_dir: Path) -> None:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed")
    collapsed = work_dir / "profile.txt"
    with backends(work_dir) as servers:
        seed_catalog(servers, work_dir, args.products)
        env = server_environment(
            servers,
            work_dir,
            HOST=HOST,
            PORT=str(free_port()),
            WORKERS="1",
            LOG_LEVEL="WARNING",
            CACHE_ENABLED=args.cache,
            CACHE_FAST_HITS=args.fast_hits,
        )
        server = ApiServer(env, work_dir / "api.log")
        try:
            server.wait_ready()
            path = product_page_path(server.base_url) if args.case == "product-page" else None
            url = server.base_url + (path or GRAPHQL_PATH)
            wrk = ["wrk", "-t2", f"-c{args.connections}", "-H", f"Accept-Encoding: {args.encoding}"]
            subprocess.run([*wrk, "-d3s", url], check=True, capture_output=True)
            with record_profile(server.process.pid, collapsed) as recording:
                measured = subprocess.run(
                    [*wrk, f"-d{args.seconds}s", url], check=True, capture_output=True, text=True
                )
            summary = recording.summary()
        finally:
            server.stop()
    RESULTS_DIR.mkdir(exist_ok=True)
    kept = RESULTS_DIR / f"{timestamp()}-profile.txt"
    shutil.copyfile(collapsed, kept)
    rate = next((line for line in measured.stdout.splitlines() if "Requests/sec" in line), "")
    print(f"request: GET {urllib.parse.unquote(url.partition(HOST)[2])}")
    print(f"Accept-Encoding: {args.encoding}, {args.connections} connections, 1 worker, {rate}")
    print(
        f"CACHE_ENABLED={args.cache}, CACHE_FAST_HITS={args.fast_hits}, load average at end: {load_average()}"
    )
    print(layers_table(collapsed.read_text(errors="replace")))
    print()
    print(self_table(summary))
    print(f"collapsed stacks: {kept.relative_to(REPO_ROOT)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=positive_int, default=1000)
    parser.add_argument("--seconds", type=positive_int, default=15)
    parser.add_argument("--connections", type=positive_int, default=50)
    parser.add_argument("--encoding", choices=("identity", "gzip"), default="identity")
    parser.add_argument(
        "--case",
        choices=("listing", "product-page"),
        default="listing",
        help="the product listing of `make bench` (default), or a product page by id",
    )
    parser.add_argument(
        "--cache",
        choices=("true", "false"),
        default="true",
        help="false: every request a miss (CACHE_ENABLED=false)",
    )
    parser.add_argument(
        "--fast-hits",
        choices=("true", "false"),
        default="true",
        help="CACHE_FAST_HITS of the API (default true)",
    )
    args = parser.parse_args(argv)
    return run_in_work_dir(lambda work_dir: profile(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
