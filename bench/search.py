"""Search at scale: product search through the index on a small and a big catalog, side by side.

    .venv/bin/python bench/search.py                                 # 1,000 and 1,000,000 products
    .venv/bin/python bench/search.py --sizes 1000 20000 --duration 5

For each size, a fresh mongod and redis-server: the demo catalog (`python -m server seed`), its
search index built by `python -m server search-rebuild` (timed), then the API with
SEARCH_ENGINE=tantivy and the query cache off. With every size served at once, and the seeds and
rebuilds written to disk, the fixed-bytes ceiling is measured, then each search a storefront
makes under wrk on each size in turn (the order alternating from one search to the next, so the
machine's drift weighs on both sizes): a relevance search (rotating over several words), the
same with highlights, its second page, a misspelt search, a search with every filter, a search
sorted by price, a search with its facet counts, a category's facet counts without text, and
autocomplete suggestions; all of that `--rounds` times (3), each case's figures the median of
its rounds. The last table gives each case at the big size beside the small one, against issue
14's targets (at the big size: at least 300 requests/s and p99 within 2x of the small size's). A
benchmark, not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymongo
from big_catalog import checked_sizes, size_parser
from catalog_load import FIXED_BYTES_APP, parse_wrk, rotating_script, run_wrk, seed_catalog
from harness import (
    HOST,
    REPO_ROOT,
    ApiServer,
    Backends,
    BenchError,
    backends,
    load_average,
    machine_facts,
    positive_int,
    run_in_work_dir,
    save,
    server_command,
    server_environment,
    timestamp,
    worker_rss_mb,
)

from integrations.local_servers import free_port

CARD = "node { name slug finalPrice { amount currency } category { name } }"
NODE = f"edges {{ cursor {CARD} }}"
WITH_HIGHLIGHTS = f"edges {{ cursor highlights {{ field fragment }} {CARD} }}"
FACETS = (
    "facets { brands { brand count } categories { category { name } count } "
    "priceBands { min { amount } max { amount } count } ratings { minRating count } }"
)
SEARCH = "query($s: String!, $f: ProductFilter, $o: ProductSortInput, $a: String) "
# Words shoppers type, each matching many demo products (every subcategory has one or more).
WORDS = ("wireless", "cotton", "laptop", "camera", "smartwatch", "shirt", "black", "steel")
TYPO = "wireles hedphones"
PREFIX = "wirel"
REBUILD_TIMEOUT_SECONDS = 3600.0
MIN_REQUESTS_PER_SECOND = 300
MAX_P99_RATIO = 2.0


def gql_path(query: str, variables: dict[str, Any] | None = None) -> str:
    params = {"query": query} | ({"variables": json.dumps(variables)} if variables else {})
    return "/graphql?" + urllib.parse.urlencode(params)


def search_path(text: str, *, edges: str = NODE, extra: str = "", **variables: Any) -> str:
    """GET path of `products(first: 20, search: text, ...)` with the storefront's card fields."""
    query = (
        SEARCH + "{ products(first: 20, search: $s, filter: $f, sortBy: $o, after: $a) "
        f"{{ {edges} {extra} }} }}"
    )
    return gql_path(query, {"s": text} | variables)


def environment(servers: Backends, work_dir: Path, **overrides: str) -> dict[str, str]:
    return server_environment(
        servers,
        work_dir,
        SEARCH_ENGINE="tantivy",
        SEARCH_INDEX_DIR=str(work_dir / "search-index"),
        **overrides,
    )


def rebuild_index(servers: Backends, work_dir: Path, products: int) -> dict[str, Any]:
    """`python -m server search-rebuild`, timed."""
    env = environment(servers, work_dir, LOG_LEVEL="INFO")
    wall_seconds, _ = server_command(["search-rebuild"], env, timeout=REBUILD_TIMEOUT_SECONDS)
    return {
        "wall_seconds": round(wall_seconds, 1),
        "products_per_second": round(products / wall_seconds),
    }


def answer(client: httpx.Client, path: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(path).json()
    if body.get("errors") or not body.get("data"):
        raise BenchError(f"the API answered {json.dumps(body)[:2000]}")
    return body["data"]


def cases(base_url: str, work_dir: Path) -> tuple[dict[str, Path | str], int]:
    """Each measured case: a GET path, or a wrk script rotating over several; each checked to
    answer with results. With the size in bytes of the first relevance search's answer."""
    with httpx.Client(base_url=base_url, timeout=60.0) as client:
        # The second page of the first word with one.
        deep = None
        for word in WORDS:
            first = answer(client, search_path(word, extra="pageInfo { hasNextPage endCursor }"))
            if first["products"]["pageInfo"]["hasNextPage"]:
                deep = (word, first["products"]["pageInfo"]["endCursor"])
                break
        if deep is None:
            raise BenchError(f"no search for any of {WORDS} has a second page")
        categories = answer(client, gql_path("{ categories(first: 1) { edges { node { id } } } }"))
        category = categories["categories"]["edges"][0]["node"]["id"]
        rotating = [search_path(word) for word in WORDS]
        highlighted = [search_path(word, edges=WITH_HIGHLIGHTS) for word in WORDS]
        size = len(client.get(rotating[0]).content)
        for path in rotating + highlighted:
            if not answer(client, path)["products"]["edges"]:
                raise BenchError(f"a search found nothing: {urllib.parse.unquote(path)}")
        first = answer(client, search_path("wireless", edges="edges { node { category { id } } }"))
        wireless_category = first["products"]["edges"][0]["node"]["category"]["id"]
        filters = {
            "categoryId": wireless_category,
            "inStock": True,
            "priceMin": "500",
            "priceMax": "20000",
            "minRating": 3,
        }
        paths: dict[str, str] = {
            "page 2": search_path(deep[0], a=deep[1]),
            "misspelt": search_path(TYPO),
            "every filter": search_path("wireless", f=filters),
            "by price": search_path("headphones", o={"field": "PRICE"}),
            "with facets": search_path("wireless", extra=FACETS),
            "category facets, no text": gql_path(
                f"query($f: ProductFilter) {{ products(first: 20, filter: $f) "
                f"{{ {NODE} {FACETS} }} }}",
                {"f": {"categoryId": category}},
            ),
            "suggestions": gql_path(
                "query($p: String!) { searchSuggestions(prefix: $p, first: 8) { kind text } }",
                {"p": PREFIX},
            ),
        }
        for name, path in paths.items():
            data = answer(client, path)
            found = data.get("searchSuggestions") or data.get("products", {}).get("edges")
            if not found and name != "every filter":
                raise BenchError(f"{name} found nothing: {urllib.parse.unquote(path)}")
    scripts = {
        "relevance (8 words)": rotating_script(rotating, work_dir / "searches.lua"),
        "with highlights (8 words)": rotating_script(highlighted, work_dir / "highlighted.lua"),
    }
    return scripts | paths, size


def measure(server: ApiServer, target: Path | str, args: argparse.Namespace) -> dict[str, Any]:
    if isinstance(target, Path):
        output = run_wrk(
            server.base_url + "/graphql",
            connections=args.connections,
            seconds=args.duration,
            script=target,
        )
    else:
        output = run_wrk(
            server.base_url + target, connections=args.connections, seconds=args.duration
        )
    wrk = parse_wrk(output, cache="off", connections=args.connections, encoding="identity")
    return {
        "requests_per_second": wrk.requests_per_second,
        "latency_ms": wrk.latency_ms,
        "errors": wrk.total_errors,
    }


def ceiling(
    servers: Backends, work_dir: Path, args: argparse.Namespace, size: int
) -> dict[str, Any]:
    """A bare app sending `size` bytes (a search page's), under the API's uvicorn settings."""
    env = server_environment(
        servers,
        work_dir,
        HOST=HOST,
        PORT=str(free_port()),
        WORKERS=str(args.workers),
        FIXED_BYTES=str(size),
    )
    server = ApiServer(
        env, work_dir / "ceiling.log", command=[sys.executable, str(FIXED_BYTES_APP)]
    )
    try:
        server.wait_ready()
        return measure(server, "/graphql", args)
    finally:
        server.stop()


@dataclass
class Size:
    """One size's catalog, served: its report so far, its API, its cases and each case's runs
    so far (one a round)."""

    result: dict[str, Any]
    servers: Backends
    server: ApiServer
    cases: dict[str, Path | str]
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def serve_size(
    stack: contextlib.ExitStack, work_dir: Path, args: argparse.Namespace, products: int
) -> Size:
    """Fresh servers with `products` seeded and indexed and the API on them, until `stack`
    closes."""
    size_dir = work_dir / str(products)
    size_dir.mkdir()
    servers = stack.enter_context(backends(size_dir))
    print(f"seeding {products:,} products", file=sys.stderr)
    result: dict[str, Any] = {"products": products}
    result["seed"] = seed_catalog(servers, size_dir, products)
    print(f"{products:,} products: search-rebuild", file=sys.stderr)
    result["rebuild"] = rebuild_index(servers, size_dir, products)
    env = environment(
        servers,
        size_dir,
        HOST=HOST,
        PORT=str(free_port()),
        WORKERS=str(args.workers),
        LOG_LEVEL="WARNING",
        CACHE_ENABLED="false",
    )
    server = ApiServer(env, size_dir / f"api-search-{products}.log")
    stack.callback(server.stop)
    server.wait_ready()
    measured, result["response_bytes"] = cases(server.base_url, size_dir)
    result["cases"] = {}
    return Size(result, servers, server, measured)


def flush(servers: Backends) -> None:
    """mongod's and the system's writes of the seed and the rebuild to disk now (a checkpoint,
    then sync), rather than in the background of the first cases measured."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(servers.mongod.uri)
    try:
        client.admin.command("fsync")
    finally:
        client.close()
    os.sync()


def run(args: argparse.Namespace, work_dir: Path) -> None:
    """Every size served at once, each case measured on each size in turn (the order
    alternating from case to case), so the machine's drift over the run weighs on both."""
    report: dict[str, Any] = {"kind": "search", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = vars(args)
    with contextlib.ExitStack() as stack:
        sizes = [serve_size(stack, work_dir, args, products) for products in args.sizes]
        for size in sizes:
            flush(size.servers)
        small = sizes[0]
        size_bytes = small.result["response_bytes"]
        print(f"fixed-bytes ceiling ({size_bytes:,} bytes)", file=sys.stderr)
        small.result["ceiling"] = ceiling(small.servers, work_dir, args, size_bytes)
        warmup = argparse.Namespace(**vars(args) | {"duration": args.warmup})
        for turn in range(args.rounds):
            for number, name in enumerate(sizes[0].cases):
                for size in sizes if (number + turn) % 2 == 0 else sizes[::-1]:
                    products = size.result["products"]
                    print(
                        f"round {turn + 1}/{args.rounds}, {products:,} products, {name}: "
                        f"wrk -c{args.connections}",
                        file=sys.stderr,
                    )
                    if args.warmup:
                        measure(size.server, size.cases[name], warmup)
                    measured = measure(size.server, size.cases[name], args)
                    size.runs.setdefault(name, []).append(measured)
        for size in sizes:
            for name, runs in size.runs.items():
                size.result["cases"][name] = median_of(runs)
        for size in sizes:
            size.result["worker_rss_mb"] = sorted(worker_rss_mb(size.server.process.pid).values())
            if size.server.process.poll() is not None:
                raise BenchError(f"the API server died during the run:\n{size.server.log_tail()}")
        report["sizes"] = [size.result for size in sizes]
    report["load_average_at_end"] = load_average()
    print(markdown_report(report))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's rounds as one: the median of each figure (the machine is shared, and a single
    run of a few seconds can differ from the next by a third or more), with every round's
    requests/s beside it."""
    return {
        "requests_per_second": statistics.median(r["requests_per_second"] for r in rounds),
        "latency_ms": {
            key: statistics.median(r["latency_ms"][key] for r in rounds)
            for key in rounds[0]["latency_ms"]
        },
        "errors": sum(r["errors"] for r in rounds),
        "rounds": [r["requests_per_second"] for r in rounds],
    }


def markdown_report(report: dict[str, Any]) -> str:
    small, big = report["sizes"][0], report["sizes"][-1]
    top = small["ceiling"]["requests_per_second"]
    lines = [
        f"- load average: {report['machine']['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end; cache off, {report['config']['workers']} "
        f"workers, wrk -c{report['config']['connections']} {report['config']['duration']} s, "
        f"median of {report['config']['rounds']} rounds; "
        f"fixed-bytes ceiling {top:,.0f} req/s",
        "",
        "| products | `make seed` s | `search-rebuild` s | worker RSS MiB |",
        "|---:|---:|---:|---|",
    ]
    for size in report["sizes"]:
        lines.append(
            f"| {size['products']:,} | {size['seed']['wall_seconds']:,.1f} "
            f"| {size['rebuild']['wall_seconds']:,.1f} "
            f"| {', '.join(f'{mb:.0f}' for mb in size['worker_rss_mb'])} |"
        )
    lines += [
        "",
        f"| search | {small['products']:,}: req/s | p99 ms | {big['products']:,}: req/s "
        f"| p99 ms | {big['products']:,}: each round's req/s | share of ceiling | p99 ratio "
        "| wrk errors | target met |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for name, case in big["cases"].items():
        before = small["cases"][name]
        ratio = case["latency_ms"]["p99"] / before["latency_ms"]["p99"]
        met = case["requests_per_second"] >= MIN_REQUESTS_PER_SECOND and ratio <= MAX_P99_RATIO
        lines.append(
            f"| {name} | {before['requests_per_second']:,.0f} "
            f"| {before['latency_ms']['p99']:,.1f} | {case['requests_per_second']:,.0f} "
            f"| {case['latency_ms']['p99']:,.1f} "
            f"| {', '.join(f'{rate:,.0f}' for rate in case['rounds'])} "
            f"| {case['requests_per_second'] / top:.3f} "
            f"| {ratio:.2f} | {before['errors']} / {case['errors']} | {'yes' if met else 'no'} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = size_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--warmup", type=int, default=3, help="unmeasured seconds per case first (default 3)"
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="times every case is measured on every size; the median counts (default 3)",
    )
    args = parser.parse_args(argv)
    checked_sizes(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_work_dir(lambda work_dir: run(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
