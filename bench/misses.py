"""Uncached storefront reads: CPU time per request, or throughput under wrk, for this checkout
and, in the same run, another.

    .venv/bin/python bench/misses.py                            # CPU per request, this checkout
    .venv/bin/python bench/misses.py --against /tmp/before      # before/after, CPU per request
    .venv/bin/python bench/misses.py --against /tmp/before --wrk 10   # before/after under wrk

Requests per second depend on everything else the machine runs; the CPU time the API spends on a
request much less, and comparing two versions side by side in one run cancels most of the rest.
Every checkout's API (`python -m server serve`, CACHE_ENABLED=false) runs against the same
private mongod and demo catalog, and both answer every case identically or it aborts. Two
cases: the product listing of `catalog_load.py` and a product page by id.

- By default each API has one worker and gets the requests one at a time, in chunks that
  alternate between the checkouts (the order flipped every chunk); the report is the median of
  the chunks' CPU milliseconds per request of each worker, read from /proc, and their ratio.
- With `--wrk SECONDS` each API has `--workers` workers and is loaded by wrk for SECONDS at each
  of `--connections`, the checkouts alternating, `--rounds` times; the report is the medians of
  requests/s, p99 and CPU milliseconds per answered request (supervisor and workers), the
  ratio of requests/s, and wrk's errors summed over the rounds.

`--against` takes a directory holding another checkout of this project (`git worktree add`, or
`git archive <commit> | tar -x -C DIR`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from catalog_load import (
    DETAIL_QUERY,
    GRAPHQL_PATH,
    QUERY,
    WRK_INSTALL_HINT,
    api_environment,
    parse_wrk,
    product_pages_script,
    run_wrk,
    seed_catalog,
)
from harness import (
    REPO_ROOT,
    ApiServer,
    Backends,
    BenchError,
    backends,
    cpu_seconds,
    load_average,
    machine_facts,
    positive_int,
    process_tree,
    run_in_work_dir,
)

Send = Callable[[httpx.Client, int], httpx.Response]
LISTING = "products(first: 20) with category names"
PRODUCT_PAGE = "product(id:), a product page"
IDS_QUERY = "{ products(first: 20) { edges { node { id } } } }"


def start_api(
    checkout: Path, servers: Backends, work_dir: Path, name: str, workers: int
) -> ApiServer:
    env = api_environment(servers, work_dir, workers=workers, cache_enabled=False)
    env["PYTHONPATH"] = str(checkout)  # that checkout's code, whatever the virtualenv has
    return ApiServer(env, work_dir / f"api-{name}.log", cwd=checkout)


def checked_answer(response: httpx.Response) -> Any:
    body = response.json()
    if response.status_code != 200 or body.get("errors") or body.get("data") is None:
        raise BenchError(f"answered {response.status_code}: {response.text[:500]}")
    return body["data"]


def cases(client: httpx.Client) -> dict[str, Send]:
    ids_page = checked_answer(client.post("/graphql", json={"query": IDS_QUERY}))
    ids = [edge["node"]["id"] for edge in ids_page["products"]["edges"]]
    return {
        LISTING: lambda client, i: client.get("/graphql", params={"query": QUERY}),
        # GET, as a storefront (and wrk, below) sends it.
        PRODUCT_PAGE: lambda client, i: client.get(
            "/graphql",
            params={"query": DETAIL_QUERY, "variables": json.dumps({"id": ids[i % len(ids)]})},
        ),
    }


def check_same_answers(servers: dict[str, ApiServer]) -> dict[str, Send]:
    """The cases, after checking that every checkout answers each of them identically."""
    clients = {name: httpx.Client(base_url=s.base_url, timeout=30.0) for name, s in servers.items()}
    try:
        sends = cases(next(iter(clients.values())))
        for case, send in sends.items():
            answers = {name: checked_answer(send(client, 0)) for name, client in clients.items()}
            if len({repr(answer) for answer in answers.values()}) != 1:
                raise BenchError(f"the checkouts answer {case} differently: {answers}")
    finally:
        for client in clients.values():
            client.close()
    return sends


def alternating(names: list[str], turn: int) -> list[str]:
    return names if turn % 2 == 0 else list(reversed(names))


def cpu_per_request(servers: dict[str, ApiServer], args: argparse.Namespace) -> list[str]:
    """Requests one at a time; the table of median CPU ms per request."""
    sends = check_same_answers(servers)
    clients = {name: httpx.Client(base_url=s.base_url, timeout=30.0) for name, s in servers.items()}
    names = list(servers)
    lines = ["| case | " + " | ".join(f"CPU ms/request, {name}" for name in names) + " |"]
    try:
        for case, send in sends.items():
            for client in clients.values():
                for i in range(args.warmup):
                    checked_answer(send(client, i))
            per_request: dict[str, list[float]] = {name: [] for name in names}
            for chunk in range(args.chunks):
                for name in alternating(names, chunk):
                    pids = process_tree(servers[name].process.pid)
                    before = cpu_seconds(pids)
                    for i in range(args.requests):
                        send(clients[name], i)
                    per_request[name].append((cpu_seconds(pids) - before) / args.requests * 1000)
            medians = [statistics.median(per_request[name]) for name in names]
            lines.append(f"| {case} | " + " | ".join(f"{m:.2f}" for m in medians) + " |")
    finally:
        for client in clients.values():
            client.close()
    lines.insert(1, "|---|" + "---:|" * len(names))
    if len(names) == 2:
        lines[0] += " ratio |"
        lines[1] += "---:|"
        for index in range(2, len(lines)):
            before, after = (float(cell) for cell in lines[index].split("|")[2:4])
            lines[index] += f" {after / before:.2f} |"
    return lines


def under_wrk(servers: dict[str, ApiServer], args: argparse.Namespace, work_dir: Path) -> list[str]:
    """wrk against each API in turn; the table of medians."""
    check_same_answers(servers)
    script = product_pages_script(next(iter(servers.values())).base_url, work_dir)
    names = list(servers)
    lines = [
        "| case | connections | "
        + " | ".join(f"{name}: req/s, p99 ms, CPU ms/request, errors" for name in names)
        + (" | ratio |" if len(names) == 2 else " |"),
        "|---|---:|" + "---|" * len(names) + ("---:|" if len(names) == 2 else ""),
    ]
    for case in (LISTING, PRODUCT_PAGE):
        for connections in args.connections:
            runs: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in names}
            for turn in range(args.rounds):
                for name in alternating(names, turn):
                    server = servers[name]
                    url = server.base_url + (GRAPHQL_PATH if case == LISTING else "")
                    pids = process_tree(server.process.pid)
                    before = cpu_seconds(pids)
                    output = run_wrk(
                        url,
                        connections=connections,
                        seconds=args.wrk,
                        script=None if case == LISTING else script,
                    )
                    result = parse_wrk(output, cache="off", connections=connections, encoding="")
                    cpu = (cpu_seconds(pids) - before) / max(result.requests, 1) * 1000
                    runs[name].append(
                        (
                            result.requests_per_second,
                            result.latency_ms["p99"],
                            cpu,
                            result.total_errors,
                        )
                    )
            cells = []
            for name in names:
                rps, p99, cpu = (statistics.median(run[k] for run in runs[name]) for k in range(3))
                errors = sum(run[3] for run in runs[name])
                cells.append(f"{rps:,.0f}, {p99:,.0f}, {cpu:.2f}, {errors:,}")
            row = f"| {case} | {connections} | " + " | ".join(cells) + " |"
            if len(names) == 2:
                before, after = (statistics.median(run[0] for run in runs[n]) for n in names)
                row += f" {after / before:.2f} |" if before else " n/a |"
            lines.append(row)
            print(row, file=sys.stderr)
    return lines


def run(args: argparse.Namespace, work_dir: Path) -> None:
    if args.wrk and shutil.which("wrk") is None:
        raise BenchError(f"wrk is not on PATH: {WRK_INSTALL_HINT}")
    checkouts = {"this checkout": REPO_ROOT}
    if args.against:
        checkouts = {"against": args.against.resolve(), **checkouts}
    facts = machine_facts()
    workers = args.workers if args.wrk else 1
    with backends(work_dir) as databases:
        print(f"seeding {args.products:,} products", file=sys.stderr)
        seed_catalog(databases, work_dir, args.products)
        servers: dict[str, ApiServer] = {}
        try:
            for index, (name, checkout) in enumerate(checkouts.items()):
                servers[name] = start_api(checkout, databases, work_dir, str(index), workers)
            for server in servers.values():
                server.wait_ready()
            table = (
                under_wrk(servers, args, work_dir) if args.wrk else cpu_per_request(servers, args)
            )
        finally:
            for server in servers.values():
                server.stop()
    print(
        f"- machine: {facts['nproc']} CPUs ({facts['cpu_model']}), Python {facts['python']}; "
        f"load average {facts['load_average_at_start']} at start, {load_average()} at end"
    )
    if args.wrk:
        print(
            f"- {args.products:,} products, {workers} workers per checkout, wrk -t2 for "
            f"{args.wrk} s per run, {args.rounds} rounds, medians"
        )
    else:
        print(
            f"- {args.products:,} products, 1 worker per checkout, {args.chunks} chunks of "
            f"{args.requests} requests each, one at a time, medians"
        )
    if args.against:
        print(f"- against: {args.against}")
    print("\n" + "\n".join(table))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout of this project")
    parser.add_argument("--products", type=positive_int, default=1000, help="catalog size (1000)")
    parser.add_argument("--requests", type=positive_int, default=100, help="per chunk (100)")
    parser.add_argument("--chunks", type=positive_int, default=10, help="per case (10)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first (30)")
    parser.add_argument("--wrk", type=positive_int, metavar="SECONDS", help="load with wrk")
    parser.add_argument("--workers", type=positive_int, default=2, help="with --wrk (2)")
    parser.add_argument(
        "--connections", type=positive_int, nargs="+", default=[50, 250], help="with --wrk"
    )
    parser.add_argument("--rounds", type=positive_int, default=3, help="with --wrk (3)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.against and not (args.against / "server" / "__main__.py").exists():
        print(f"{args.against} holds no checkout of this project", file=sys.stderr)
        return 2
    return run_in_work_dir(lambda work_dir: run(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
