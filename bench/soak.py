"""Memory soak: the API under steady load for minutes, its workers' RSS sampled throughout.

    .venv/bin/python bench/soak.py                    # 5 minutes at 250 connections
    .venv/bin/python bench/soak.py --seconds 60 --connections 50

The load is a mix a storefront sends, over GET with the query cache on: the product listing
(a hit), product pages for many products (a miss the first time, then hits), and thousands of
distinct search documents, more than the per-process maps of known documents and parsed queries
hold, so every bounded map fills and keeps evicting. RSS of each worker is read from /proc every
few seconds; the growth is measured from the end of the settling period (by then the maps are
full and the pools open) to the end. A worker that grows by more than `--max-growth` percent
over that stretch fails the run (exit 1). A benchmark, not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from catalog_load import (
    GRAPHQL_PATH,
    WRK_THREADS,
    detail_paths,
    parse_wrk,
    rotating_script,
    seed_catalog,
    start_api,
)
from harness import (
    REPO_ROOT,
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

SEARCH_WORDS = (
    "wireless", "cotton", "steel", "leather", "classic", "smart", "organic", "travel",
    "compact", "premium",
)  # fmt: skip
# Distinct documents: more than the known-document and parsed-query maps keep (1,024 each).
DISTINCT_DOCUMENTS = 3_000


def search_paths(count: int) -> list[str]:
    """`count` different search documents: word, page size and alias vary."""
    paths = []
    for index in range(count):
        word = SEARCH_WORDS[index % len(SEARCH_WORDS)]
        size = 1 + index % 20
        query = (
            f'{{ found{index}: products(first: {size}, search: "{word}") '
            "{ edges { node { name slug } } } }"
        )
        paths.append("/graphql?" + urllib.parse.urlencode({"query": query}))
    return paths


def mixed_script(base_url: str, work_dir: Path) -> Path:
    """A wrk script cycling through the listing, product pages and distinct searches."""
    pages = detail_paths(base_url)
    searches = search_paths(DISTINCT_DOCUMENTS)
    # The listing and product pages come round often (hits), the searches rarely (misses).
    mixed: list[str] = []
    for index, search in enumerate(searches):
        mixed += [GRAPHQL_PATH, pages[index % len(pages)], search]
    return rotating_script(mixed, work_dir / "soak.lua")


def soak(args: argparse.Namespace, work_dir: Path) -> None:
    report: dict[str, Any] = {"kind": "soak", "timestamp": timestamp(), "machine": machine_facts()}
    report["config"] = {
        "products": args.products,
        "workers": args.workers,
        "seconds": args.seconds,
        "settle_seconds": args.settle,
        "connections": args.connections,
        "distinct_documents": DISTINCT_DOCUMENTS,
    }
    with backends(work_dir) as servers:
        print(f"seeding {args.products:,} products", file=sys.stderr)
        seed_catalog(servers, work_dir, args.products)
        server = start_api(servers, work_dir, args, "soak", CACHE_ENABLED="true")
        try:
            server.wait_ready()
            script = mixed_script(server.base_url, work_dir)
            samples = run_sampled(server.process.pid, server.base_url, script, args)
            if server.process.poll() is not None:
                raise BenchError(f"the API server died during the soak:\n{server.log_tail()}")
        finally:
            server.stop()
    report["load_average_at_end"] = load_average()
    report["samples"] = samples["rss"]
    report["wrk"] = samples["wrk"]
    report["growth"] = growth = rss_growth(samples["rss"], args.settle)
    print(markdown_report(report))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)
    worst = max(growth.values(), key=lambda worker: worker["percent"])
    if worst["percent"] > args.max_growth:
        raise BenchError(
            f"a worker's RSS grew by {worst['percent']:.1f} % after the first {args.settle} s "
            f"(limit {args.max_growth} %)"
        )


def run_sampled(
    server_pid: int, base_url: str, script: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """wrk for `args.seconds`, with every worker's RSS read every `args.every` seconds."""
    print(f"soak: wrk -c{args.connections} for {args.seconds}s", file=sys.stderr)
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{args.connections}", f"-d{args.seconds}s"]
    command += ["--latency", "-s", str(script), base_url]
    started = time.monotonic()
    wrk = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    rss: list[dict[str, Any]] = []
    while wrk.poll() is None:
        rss.append({"second": round(time.monotonic() - started), "mb": worker_rss_mb(server_pid)})
        try:
            wrk.wait(timeout=args.every)
        except subprocess.TimeoutExpired:
            continue
    rss.append({"second": round(time.monotonic() - started), "mb": worker_rss_mb(server_pid)})
    output, errors = wrk.communicate()
    if wrk.returncode != 0:
        raise BenchError(f"wrk exited with {wrk.returncode}:\n{errors}")
    result = parse_wrk(output, cache="on", connections=args.connections, encoding="identity")
    return {"rss": rss, "wrk": result.__dict__ | {"total_errors": result.total_errors}}


def rss_growth(samples: list[dict[str, Any]], settle: int) -> dict[str, dict[str, float]]:
    """Per worker: RSS at the end of the settling period, at the end, the peak, growth in %."""
    settled = next(sample for sample in samples if sample["second"] >= settle)
    last = samples[-1]
    # Whether it levels off: the growth over the last half of the run alone.
    half = next(sample for sample in samples if sample["second"] >= last["second"] / 2)
    growth = {}
    for pid, start in settled["mb"].items():
        end = last["mb"].get(pid)
        if end is None:
            raise BenchError(f"worker {pid} exited during the soak")
        peak = max(sample["mb"].get(pid, 0.0) for sample in samples)
        growth[str(pid)] = {
            "settled_mb": start,
            "end_mb": end,
            "peak_mb": peak,
            "percent": round(100 * (end - start) / start, 1),
            "last_half_percent": round(100 * (end - half["mb"][pid]) / half["mb"][pid], 1),
        }
    return growth


def markdown_report(report: dict[str, Any]) -> str:
    config, wrk = report["config"], report["wrk"]
    lines = [
        f"- load average: {report['machine']['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end",
        f"- {config['products']:,} products, {config['workers']} workers, cache on, "
        f"{config['connections']} connections for {config['seconds']} s; the listing, "
        f"product pages and {config['distinct_documents']:,} distinct searches in turn",
        f"- {wrk['requests_per_second']:,.0f} requests/s, p50 {wrk['latency_ms']['p50']:.1f} ms, "
        f"p99 {wrk['latency_ms']['p99']:.1f} ms, {wrk['total_errors']} errors",
        "",
        f"| worker | RSS after {config['settle_seconds']} s, MiB | at the end | peak | growth "
        "| growth in the last half |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for pid, worker in report["growth"].items():
        lines.append(
            f"| {pid} | {worker['settled_mb']:.1f} | {worker['end_mb']:.1f} "
            f"| {worker['peak_mb']:.1f} | {worker['percent']:+.1f} % "
            f"| {worker['last_half_percent']:+.1f} % |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--products", type=positive_int, default=10_000, help="catalog size (default 10000)")
    add("--workers", type=positive_int, default=2, help="uvicorn workers (default 2)")
    add("--seconds", type=positive_int, default=300, help="length of the soak (default 300)")
    add("--settle", type=positive_int, default=60, help="seconds before growth counts (60)")
    add("--every", type=positive_int, default=5, help="seconds between RSS samples (default 5)")
    add("--connections", type=positive_int, default=250, help="wrk connections (default 250)")
    add("--max-growth", type=float, default=10.0, help="allowed growth in percent (default 10)")
    args = parser.parse_args(argv)
    if args.settle >= args.seconds:
        parser.error("--settle must be shorter than --seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_work_dir(lambda work_dir: soak(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
