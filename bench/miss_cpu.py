"""CPU time per request of the uncached storefront reads, this checkout against another.

    .venv/bin/python bench/miss_cpu.py                           # this checkout alone
    .venv/bin/python bench/miss_cpu.py --against /tmp/before     # before/after, in one run

Requests per second depend on everything else the machine runs; the CPU time the API spends on a
request much less. This starts one API worker (`python -m server serve`, WORKERS=1,
CACHE_ENABLED=false) per checkout against the same private mongod and catalog, sends each the
same requests one at a time in alternating chunks (the order flipped every chunk), and reports
the median of the chunks' CPU milliseconds per request of each worker, read from /proc, and
their ratio. Both answer every case identically or it aborts. `--against` takes a directory
holding another checkout of this project (`git worktree add` or `git archive | tar -x`).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from catalog_load import DETAIL_QUERY, QUERY, seed_catalog
from harness import (
    HOST,
    REPO_ROOT,
    ApiServer,
    BenchError,
    backends,
    cpu_seconds,
    load_average,
    machine_facts,
    positive_int,
    process_tree,
    run_in_work_dir,
    server_environment,
)

from integrations.local_servers import free_port

Send = Callable[[httpx.Client, int], httpx.Response]
IDS_QUERY = "{ products(first: 20) { edges { node { id } } } }"


def start_api(checkout: Path, backends: Any, work_dir: Path, name: str) -> ApiServer:
    env = server_environment(
        backends,
        work_dir,
        HOST=HOST,
        PORT=str(free_port()),
        WORKERS="1",
        LOG_LEVEL="WARNING",
        CACHE_ENABLED="false",
    )
    env["PYTHONPATH"] = str(checkout)  # that checkout's code, whatever the virtualenv has
    return ApiServer(env, work_dir / f"api-{name}.log", cwd=checkout)


def cases(ids: list[str]) -> dict[str, Send]:
    return {
        "products(first: 20) with category names": lambda client, i: client.get(
            "/graphql", params={"query": QUERY}
        ),
        "product(id:), a product page": lambda client, i: client.post(
            "/graphql", json={"query": DETAIL_QUERY, "variables": {"id": ids[i % len(ids)]}}
        ),
    }


def checked_answer(response: httpx.Response) -> Any:
    body = response.json()
    if response.status_code != 200 or body.get("errors") or body.get("data") is None:
        raise BenchError(f"answered {response.status_code}: {response.text[:500]}")
    return body["data"]


def measure(servers: dict[str, ApiServer], args: argparse.Namespace) -> list[dict[str, Any]]:
    clients = {
        name: httpx.Client(base_url=server.base_url, timeout=30.0)
        for name, server in servers.items()
    }
    first = next(iter(clients.values()))
    ids = [
        edge["node"]["id"]
        for edge in checked_answer(first.post("/graphql", json={"query": IDS_QUERY}))["products"][
            "edges"
        ]
    ]
    rows = []
    for case, send in cases(ids).items():
        answers = {name: checked_answer(send(client, 0)) for name, client in clients.items()}
        if len({repr(answer) for answer in answers.values()}) != 1:
            raise BenchError(f"the checkouts answer {case} differently: {answers}")
        for client in clients.values():
            for i in range(args.warmup):
                checked_answer(send(client, i))
        per_request: dict[str, list[float]] = {name: [] for name in servers}
        for chunk in range(args.chunks):
            names = list(servers) if chunk % 2 == 0 else list(reversed(servers))
            for name in names:
                pids = process_tree(servers[name].process.pid)
                before = cpu_seconds(pids)
                for i in range(args.requests):
                    send(clients[name], i)
                per_request[name].append((cpu_seconds(pids) - before) / args.requests * 1000)
        rows.append(
            {
                "case": case,
                "cpu_ms_per_request": {
                    name: round(statistics.median(values), 2)
                    for name, values in per_request.items()
                },
            }
        )
    for client in clients.values():
        client.close()
    return rows


def run(args: argparse.Namespace, work_dir: Path) -> None:
    checkouts = {"this checkout": REPO_ROOT}
    if args.against:
        checkouts = {"against": args.against.resolve(), **checkouts}
    facts = machine_facts()
    with backends(work_dir) as servers_backends:
        print(f"seeding {args.products:,} products", file=sys.stderr)
        seed_catalog(servers_backends, work_dir, args.products)
        servers: dict[str, ApiServer] = {}
        try:
            for index, (name, checkout) in enumerate(checkouts.items()):
                servers[name] = start_api(checkout, servers_backends, work_dir, str(index))
            for server in servers.values():
                server.wait_ready()
            rows = measure(servers, args)
        finally:
            for server in servers.values():
                server.stop()
    print(
        f"- machine: {facts['nproc']} CPUs ({facts['cpu_model']}), Python {facts['python']}; "
        f"load average {facts['load_average_at_start']} at start, {load_average()} at end"
    )
    print(
        f"- {args.products:,} products, 1 worker per checkout, {args.chunks} chunks of "
        f"{args.requests} requests each, one at a time"
    )
    if args.against:
        print(f"- against: {args.against}")
    names = list(checkouts)
    print(
        "\n| case | "
        + " | ".join(f"CPU ms/request, {name}" for name in names)
        + (" | ratio |" if len(names) == 2 else " |")
    )
    print("|---|" + "---:|" * (len(names) + (1 if len(names) == 2 else 0)))
    for row in rows:
        cpu = row["cpu_ms_per_request"]
        cells = [f"{cpu[name]:.2f}" for name in names]
        if len(names) == 2:
            cells.append(f"{cpu[names[1]] / cpu[names[0]]:.2f}")
        print(f"| {row['case']} | " + " | ".join(cells) + " |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="another checkout of this project to compare")
    parser.add_argument("--products", type=positive_int, default=1000, help="catalog size (1000)")
    parser.add_argument(
        "--requests", type=positive_int, default=100, help="requests per chunk (100)"
    )
    parser.add_argument("--chunks", type=positive_int, default=10, help="chunks per checkout (10)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured requests first (30)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.against and not (args.against / "server" / "__main__.py").exists():
        print(f"{args.against} holds no checkout of this project", file=sys.stderr)
        return 2
    return run_in_work_dir(lambda work_dir: run(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
