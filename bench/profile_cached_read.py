"""Where one API worker spends its CPU on cached reads: py-spy samples it under wrk load.

    .venv/bin/python bench/profile_cached_read.py                     # the listing, identity
    .venv/bin/python bench/profile_cached_read.py --encoding gzip --seconds 20
    .venv/bin/python bench/profile_cached_read.py --case product-page --fast-hits false

Starts a private mongod and redis-server (as the other benchmarks do), seeds the demo catalog,
starts `python -m server serve` with ONE worker (uvicorn then serves in its own process, which
py-spy can sample), warms the cache up, then records the worker with py-spy while wrk sends the
same request as `make bench` at 50 connections. It prints the share of samples whose stack passes
through each part of the stack (inclusive, so the shares add up to more than 100 %) and the
functions most samples end in (self time). The raw collapsed stacks are written next to the
results (`bench/results/<timestamp>-profile.txt`) for a flame graph. Needs py-spy
(`.venv/bin/python -m pip install py-spy`) and wrk. A profile, not a benchmark: the numbers it
prints are shares, not speeds (sampling slows the worker down).
"""

from __future__ import annotations

import argparse
import collections
import re
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

from integrations.local_servers import free_port

# What a stack passing through these paths is counted as, first match per frame.
PARTS = (
    ("fast path", "(schema/fast_hits"),
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
)
_LINE_NUMBER = re.compile(r":\d+\)$")


def _part(frame: str) -> str | None:
    for name, marker in PARTS:
        if marker in frame:
            return name
    return None


def summarize(collapsed: str, top: int = 25) -> str:
    """Per part of the stack: the share of samples whose stack passes through it (inclusive; the
    outer layers include the inner ones) and the share spent in it, below any other part
    (exclusive: a sample counts for the deepest part on its stack); then the functions most
    samples end in."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    exclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        parts = [_part(frame) for frame in frames]
        for name in set(parts) - {None}:
            inclusive[name] += count
        exclusive[next((name for name in reversed(parts) if name), "other")] += count
        leaves[_LINE_NUMBER.sub(")", frames[-1].strip())] += count
    if not total:
        raise BenchError("py-spy recorded no samples")
    lines = [f"{total} samples", "", "| part | inclusive | exclusive |", "|---|---:|---:|"]
    lines += [
        f"| {name} | {inclusive[name] / total:.1%} | {count / total:.1%} |"
        for name, count in exclusive.most_common()
    ]
    lines += ["", "| function (self) | share |", "|---|---:|"]
    lines += [f"| `{name}` | {count / total:.1%} |" for name, count in leaves.most_common(top)]
    return "\n".join(lines)


def profile(args: argparse.Namespace, work_dir: Path) -> None:
    for tool in ("wrk", "py-spy"):
        if shutil.which(tool) is None and not (Path(sys.executable).parent / tool).exists():
            raise BenchError(f"{tool} is not installed")
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with backends(work_dir) as servers:
        seed_catalog(servers, work_dir, args.products)
        env = server_environment(
            servers,
            work_dir,
            HOST=HOST,
            PORT=str(free_port()),
            WORKERS="1",
            LOG_LEVEL="WARNING",
            CACHE_ENABLED="true",
            CACHE_FAST_HITS=args.fast_hits,
        )
        server = ApiServer(env, work_dir / "api.log")
        try:
            server.wait_ready()
            path = product_page_path(server.base_url) if args.case == "product-page" else None
            url = server.base_url + (path or GRAPHQL_PATH)
            header = ["-H", f"Accept-Encoding: {args.encoding}"]
            wrk = ["wrk", "-t2", f"-c{args.connections}", *header]
            subprocess.run([*wrk, "-d3s", url], check=True, capture_output=True)
            collapsed = work_dir / "profile.txt"
            load = subprocess.Popen(
                [*wrk, f"-d{args.seconds + 2}s", url], stdout=subprocess.PIPE, text=True
            )
            subprocess.run(
                [
                    *(py_spy, "record", "--pid", str(server.process.pid), "--format", "raw"),
                    *("--duration", str(args.seconds), "--nonblocking", "--output", str(collapsed)),
                ],
                check=True,
                capture_output=True,
            )
            wrk_output, _ = load.communicate()
        finally:
            server.stop()
        RESULTS_DIR.mkdir(exist_ok=True)
        kept = RESULTS_DIR / f"{timestamp()}-profile.txt"
        shutil.copyfile(collapsed, kept)
    print(f"request: GET {urllib.parse.unquote(url.partition(HOST)[2])}")
    print(f"Accept-Encoding: {args.encoding}, {args.connections} connections, 1 worker")
    print(f"load average at end: {load_average()}")
    print(next((line for line in wrk_output.splitlines() if "Requests/sec" in line), ""))
    print(summarize(kept.read_text()))
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
        "--fast-hits",
        choices=("true", "false"),
        default="true",
        help="CACHE_FAST_HITS of the API (default true)",
    )
    args = parser.parse_args(argv)
    return run_in_work_dir(lambda work_dir: profile(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
