"""Big catalog: the same product pages and counts on a small and a big catalog, side by side.

    .venv/bin/python bench/big_catalog.py                       # 1,000 and 1,000,000 products
    .venv/bin/python bench/big_catalog.py --sizes 1000 100000 --duration 5

For each size, a fresh mongod and redis-server: `python -m server seed --products N` (timed, the
figure `make seed PRODUCTS=N` gives), then the API with the query cache off and wrk on four
pages (the first page, a filtered and sorted page, a category page, the page half-way down),
and each `totalCount` a storefront asks for, timed one request at a time. The last table gives
each page's p99 and each count's median on the big catalog over the small one's. A benchmark,
not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pymongo
from catalog_load import (
    GRAPHQL_PATH,
    api_environment,
    parse_wrk,
    run_wrk,
    seed_catalog,
)
from harness import (
    DATABASE,
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
    timestamp,
    worker_rss_mb,
)

from resolvers.catalog import ProductSort, product_ordering

NODE = "{ edges { node { name slug finalPrice { amount currency } category { name } } } }"
COUNT_ROUNDS = 7


def gql_path(query: str, variables: dict[str, Any] | None = None) -> str:
    params = {"query": query} | ({"variables": json.dumps(variables)} if variables else {})
    return "/graphql?" + urllib.parse.urlencode(params)


def deep_cursor(uri: str, position: int) -> str:
    """The default order's cursor of the product at `position` (newest first)."""
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(uri)
    try:
        ordering = product_ordering(ProductSort(), None)
        row = next(
            client[DATABASE]["products"]
            .find({"published": True}, {"created_at": 1})
            .sort([("created_at", -1), ("_id", -1)])
            .skip(position)
            .limit(1)
        )
    finally:
        client.close()
    return ordering.encode(row["created_at"], row["_id"])


def cases(base_url: str, uri: str, products: int) -> tuple[dict[str, str], dict[str, str]]:
    """(pages measured under wrk, counts timed one at a time), as GET paths, each checked."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        answer = client.get(gql_path("{ categories(first: 1) { edges { node { id } } } }"))
        category = answer.json()["data"]["categories"]["edges"][0]["node"]["id"]
        answer = client.get(gql_path("{ products(first: 1) { edges { node { brand } } } }"))
        brand = answer.json()["data"]["products"]["edges"][0]["node"]["brand"]
    filtered = 'filter: {inStock: true, priceMin: "100", priceMax: "500"}, sortBy: {field: PRICE}'
    pages = {
        "first page": GRAPHQL_PATH,
        "filtered, by price": gql_path(f"{{ products(first: 20, {filtered}) {NODE} }}"),
        "a category": gql_path(
            f"query($c: ID!) {{ products(first: 20, filter: {{categoryId: $c}}) {NODE} }}",
            {"c": category},
        ),
        "half-way down": gql_path(
            f"query($a: String!) {{ products(first: 20, after: $a) {NODE} }}",
            {"a": deep_cursor(uri, products // 2)},
        ),
    }
    count = "query($f: ProductFilter) { products(first: 0, filter: $f) { totalCount } }"
    counts = {
        "whole list": gql_path(count),
        "a category": gql_path(count, {"f": {"categoryId": category}}),
        "a brand": gql_path(count, {"f": {"brand": brand}}),
        "in stock": gql_path(count, {"f": {"inStock": True}}),
        "rating >= 4": gql_path(count, {"f": {"minRating": 4}}),
        "a category, in stock": gql_path(count, {"f": {"categoryId": category, "inStock": True}}),
    }
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        for name, path in (pages | counts).items():
            body = client.get(path).json()
            if body.get("errors") or not body.get("data"):
                raise BenchError(f"{name}: the API answered {body}")
    return pages, counts


def time_counts(base_url: str, counts: dict[str, str]) -> dict[str, dict[str, float]]:
    """Median and worst milliseconds of each count, one request at a time, after one unmeasured."""
    timed = {}
    with httpx.Client(base_url=base_url, timeout=120.0) as client:
        for name, path in counts.items():
            client.get(path)
            seconds = []
            for _ in range(COUNT_ROUNDS):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                seconds.append(time.perf_counter() - started)
            timed[name] = {
                "median_ms": round(1000 * statistics.median(seconds), 1),
                "max_ms": round(1000 * max(seconds), 1),
            }
    return timed


def measure_size(
    servers: Backends, work_dir: Path, args: argparse.Namespace, products: int
) -> dict[str, Any]:
    print(f"seeding {products:,} products", file=sys.stderr)
    result: dict[str, Any] = {"products": products}
    result["seed"] = seed_catalog(servers, work_dir, products)
    result["seed"]["products_per_second"] = round(products / result["seed"]["wall_seconds"])
    env = api_environment(servers, work_dir, workers=args.workers, cache_enabled=False)
    server = ApiServer(env, work_dir / f"api-big-{products}.log")
    try:
        server.wait_ready()
        pages, counts = cases(server.base_url, servers.mongod.uri, products)
        result["counts"] = time_counts(server.base_url, counts)
        result["pages"] = {}
        for name, path in pages.items():
            print(f"{products:,} products, {name}: wrk -c{args.connections}", file=sys.stderr)
            output = run_wrk(
                server.base_url + path, connections=args.connections, seconds=args.duration
            )
            wrk = parse_wrk(output, cache="off", connections=args.connections, encoding="identity")
            result["pages"][name] = {
                "requests_per_second": wrk.requests_per_second,
                "latency_ms": wrk.latency_ms,
                "errors": wrk.total_errors,
            }
        result["worker_rss_mb"] = sorted(worker_rss_mb(server.process.pid).values())
        if server.process.poll() is not None:
            raise BenchError(f"the API server died during the run:\n{server.log_tail()}")
    finally:
        server.stop()
    return result


def markdown_report(report: dict[str, Any]) -> str:
    small, big = report["sizes"][0], report["sizes"][-1]
    lines = [
        f"- load average: {report['machine']['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end; cache off, {report['config']['workers']} "
        f"workers, wrk -c{report['config']['connections']} {report['config']['duration']} s",
        "",
        "| products | `make seed` wall s | products/s | worker RSS MiB |",
        "|---:|---:|---:|---|",
    ]
    for size in report["sizes"]:
        lines.append(
            f"| {size['products']:,} | {size['seed']['wall_seconds']:,.1f} "
            f"| {size['seed']['products_per_second']:,} "
            f"| {', '.join(f'{mb:.0f}' for mb in size['worker_rss_mb'])} |"
        )
    lines += [
        "",
        f"| page | {small['products']:,}: req/s | p99 ms | {big['products']:,}: req/s | p99 ms "
        "| p99 ratio | wrk errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, page in big["pages"].items():
        before = small["pages"][name]
        ratio = page["latency_ms"]["p99"] / before["latency_ms"]["p99"]
        lines.append(
            f"| {name} | {before['requests_per_second']:,.0f} "
            f"| {before['latency_ms']['p99']:,.1f} | {page['requests_per_second']:,.0f} "
            f"| {page['latency_ms']['p99']:,.1f} | {ratio:.2f} "
            f"| {before['errors']} / {page['errors']} |"
        )
    lines += [
        "",
        f"| totalCount of | {small['products']:,}: median ms | {big['products']:,}: median ms "
        "| worst ms |",
        "|---|---:|---:|---:|",
    ]
    for name, timed in big["counts"].items():
        lines.append(
            f"| {name} | {small['counts'][name]['median_ms']:,.1f} | {timed['median_ms']:,.1f} "
            f"| {timed['max_ms']:,.1f} |"
        )
    return "\n".join(lines)


MeasureSize = Callable[[Backends, Path, argparse.Namespace, int], dict[str, Any]]


def measure_sizes(
    kind: str, args: argparse.Namespace, work_dir: Path, measure: MeasureSize
) -> dict[str, Any]:
    """A report of `kind`: `measure` of each of `args.sizes`, each on fresh servers."""
    report: dict[str, Any] = {"kind": kind, "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = vars(args)
    report["sizes"] = []
    for products in args.sizes:
        size_dir = work_dir / str(products)
        size_dir.mkdir()
        with backends(size_dir) as servers:
            report["sizes"].append(measure(servers, size_dir, args, products))
    report["load_average_at_end"] = load_average()
    return report


def run(args: argparse.Namespace, work_dir: Path) -> None:
    report = measure_sizes("big-catalog", args, work_dir, measure_size)
    print(markdown_report(report))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def size_parser(description: str) -> argparse.ArgumentParser:
    """The options of a small-and-big catalog benchmark; `checked_sizes` after parsing."""
    parser = argparse.ArgumentParser(description=description)
    add = parser.add_argument
    add("--sizes", type=positive_int, nargs="+", default=[1_000, 1_000_000], help="catalogs")
    add("--workers", type=positive_int, default=2, help="uvicorn workers (default 2)")
    add("--duration", type=positive_int, default=15, help="seconds per wrk run (default 15)")
    add("--connections", type=positive_int, default=50, help="wrk connections (default 50)")
    return parser


def checked_sizes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if len(args.sizes) < 2:
        parser.error("--sizes needs a small and a big catalog")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = size_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    checked_sizes(parser, args)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_work_dir(lambda work_dir: run(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
