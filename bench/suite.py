"""`make bench`: every benchmark of the API in one run, then one table against the targets.

    .venv/bin/python bench/suite.py                  # the whole set (about 55 minutes)
    .venv/bin/python bench/suite.py --quick          # shorter runs, a 100,000-product big catalog

In turn: `catalog_load.py` (the fixed-bytes ceiling, cached listing and product page on the fast
path and through GraphQL, the listing and product page uncached), `place_orders.py` (checkout),
`soak.py` (workers' memory under five minutes of load), `big_catalog.py` (pages and counts
at 1,000 and 1,000,000 products, and the seed's time) and `search.py` (product search, facets
and suggestions at the same two sizes). Each prints its own tables and saves its
JSON under `bench/results/`; this script then prints each headline figure beside its target, and
the request rates as a share of the fixed-bytes ceiling measured at the start of the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    REPO_ROOT,
    BenchError,
    load_average,
    machine_facts,
    positive_int,
    save,
    timestamp,
)

BENCH = Path(__file__).resolve().parent
_SAVED = re.compile(r"^saved (\S+\.json)$")


def run_bench(script: str, arguments: list[str]) -> dict[str, Any]:
    """Run one benchmark, its output passed through; the report it saved."""
    command = [sys.executable, str(BENCH / script), *arguments]
    print(f"\n## {script} {' '.join(arguments)}\n", flush=True)
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    saved = None
    for line in process.stderr:
        sys.stderr.write(line)
        if match := _SAVED.match(line.strip()):
            saved = REPO_ROOT / match.group(1)
    if saved is None:
        raise BenchError(f"{script} failed (exit {process.wait()})")
    if process.wait() != 0:
        # It measured and saved its report, then found a target missed (the soak's growth):
        # the summary says so with the rest.
        print(f"{script} exited with {process.returncode}; its report is summarized below")
    report: dict[str, Any] = json.loads(saved.read_text())
    return report


@dataclass
class Row:
    case: str
    measured: str
    target: str
    met: bool | None  # None: no target for this case
    share: float | None = None  # requests/s over the ceiling's at the same connections


def catalog_rows(report: dict[str, Any]) -> tuple[list[Row], dict[int, float]]:
    results = report["results"]
    ceiling = {
        r["connections"]: r["requests_per_second"] for r in results if r["cache"] == "ceiling"
    }

    def find(case: str, cache: str, connections: int) -> dict[str, Any]:
        return next(
            r
            for r in results
            if r["case"] == case
            and r["cache"] == cache
            and r["connections"] == connections
            and r["encoding"] == "identity"
        )

    rows = []
    for connections in sorted(ceiling):
        hit = find("listing", "on, fast path", connections)
        p99_target = connections == 50
        rows.append(
            Row(
                f"listing, cached, c={connections}",
                f"{hit['requests_per_second']:,.0f}/s, p99 {hit['latency_ms']['p99']:.1f} ms, "
                f"{hit['total_errors']} errors",
                "≥ 8,500/s" + (", p99 < 30 ms" if p99_target else ""),
                hit["requests_per_second"] >= 8_500
                and hit["total_errors"] == 0
                and (not p99_target or hit["latency_ms"]["p99"] < 30),
                hit["requests_per_second"] / ceiling[connections],
            )
        )
        page = find("product page", "on, fast path", connections)
        rows.append(
            Row(
                f"product page, cached, c={connections}",
                f"{page['requests_per_second']:,.0f}/s",
                "≥ 8,000/s",
                page["requests_per_second"] >= 8_000,
                page["requests_per_second"] / ceiling[connections],
            )
        )
    for miss in results:
        if miss["cache"] == "off" and miss["encoding"] == "identity":
            connections = miss["connections"]
            rows.append(
                Row(
                    f"listing, uncached, c={connections}",
                    f"{miss['requests_per_second']:,.0f}/s, p99 "
                    f"{miss['latency_ms']['p99']:,.1f} ms, {miss['total_errors']} errors",
                    "≥ 850/s, p99 < 500 ms, no timeouts" if connections == 250 else "",
                    None
                    if connections != 250
                    else (
                        miss["requests_per_second"] >= 850
                        and miss["latency_ms"]["p99"] < 500
                        and miss["total_errors"] == 0
                    ),
                    miss["requests_per_second"] / ceiling.get(connections, float("inf")),
                )
            )
    for detail in report["product_detail_cache_off"]:
        connections = detail["connections"]
        rows.append(
            Row(
                f"product page, uncached, c={connections}",
                f"{detail['requests_per_second']:,.0f}/s",
                "≥ 2,000/s",
                detail["requests_per_second"] >= 2_000,
                detail["requests_per_second"] / ceiling.get(connections, float("inf")),
            )
        )
    return rows, ceiling


def orders_rows(report: dict[str, Any], ceiling: dict[int, float]) -> list[Row]:
    rows = []
    for result in report["results"]:
        if result["run"] == "placeOrder":
            connections = result["concurrency"]
            rate = result["succeeded_per_second"]
            rows.append(
                Row(
                    f"placeOrder (COD), {connections} in flight",
                    f"{rate:,.0f} orders/s, p99 {result['latency_ms']['p99']:,.0f} ms, "
                    "database checked",
                    "≥ 300/s, no oversell" if connections == 50 else "no oversell",
                    rate >= 300 if connections == 50 else True,
                    rate / ceiling[connections] if connections in ceiling else None,
                )
            )
    return rows


def big_rows(report: dict[str, Any]) -> list[Row]:
    small, big = report["sizes"][0], report["sizes"][-1]
    rows = [
        Row(
            f"`make seed`, {big['products']:,} products",
            f"{big['seed']['wall_seconds']:,.0f} s ({big['seed']['products_per_second']:,}/s)",
            "minutes",
            big["seed"]["wall_seconds"] < 1800,
        )
    ]
    for name, page in big["pages"].items():
        before = small["pages"][name]
        ratio = page["latency_ms"]["p99"] / before["latency_ms"]["p99"]
        errors = before["errors"] + page["errors"]
        rows.append(
            Row(
                f"{name}, p99 at {big['products']:,} ÷ at {small['products']:,}",
                f"{ratio:.2f}" + (f" ({errors} wrk errors: p99 leaves them out)" if errors else ""),
                "≤ 1.5, no errors",
                ratio <= 1.5 and not errors,
            )
        )
    for name, timed in big["counts"].items():
        rows.append(
            Row(
                f"totalCount, {name}, {big['products']:,} products",
                f"{timed['median_ms']:,.1f} ms (worst {timed['max_ms']:,.1f})",
                "≤ 50 ms",
                timed["median_ms"] <= 50,
            )
        )
    return rows


def search_rows(report: dict[str, Any]) -> list[Row]:
    small, big = report["sizes"][0], report["sizes"][-1]
    ceiling = small["ceiling"]["requests_per_second"]
    rows = [
        Row(
            f"`search-rebuild`, {big['products']:,} products",
            f"{big['rebuild']['wall_seconds']:,.0f} s",
            "",
            None,
        )
    ]
    for name, case in big["cases"].items():
        before = small["cases"][name]
        ratio = case["latency_ms"]["p99"] / before["latency_ms"]["p99"]
        errors = before["errors"] + case["errors"]
        rows.append(
            Row(
                f"search: {name}, {big['products']:,} products",
                f"{case['requests_per_second']:,.0f}/s, p99 {case['latency_ms']['p99']:,.1f} ms"
                f" (p99 ratio {ratio:.2f} to {small['products']:,})"
                + (f", {errors} wrk errors" if errors else ""),
                "≥ 300/s, p99 ratio ≤ 2, no errors",
                case["requests_per_second"] >= 300 and ratio <= 2 and not errors,
                case["requests_per_second"] / ceiling,
            )
        )
    return rows


def soak_rows(report: dict[str, Any]) -> list[Row]:
    worst = max(report["growth"].values(), key=lambda worker: worker["percent"])
    config = report["config"]
    return [
        Row(
            f"RSS over a {config['seconds']} s soak at c={config['connections']}",
            f"{worst['settled_mb']:.0f} → {worst['end_mb']:.0f} MiB ({worst['percent']:+.1f} %; "
            f"{worst['last_half_percent']:+.1f} % in the last half)",
            "< 10 % growth",
            worst["percent"] < 10,
        )
    ]


def summary(rows: list[Row]) -> str:
    lines = [
        "| case | measured | share of ceiling | target | met |",
        "|---|---|---:|---|---|",
    ]
    for row in rows:
        share = f"{row.share:.3f}" if row.share is not None else ""
        lines.append(
            f"| {row.case} | {row.measured} | {share} | {row.target} | "
            f"{'-' if row.met is None else 'yes' if row.met else '**no**'} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="5 s runs, 100,000 products, a 60 s soak")
    add("--duration", type=positive_int, help="seconds per wrk run (default 15)")
    add("--big", type=positive_int, help="the big catalog's products (default 1000000)")
    add("--orders", type=positive_int, help="placeOrder calls per run (default 2000)")
    add("--soak-seconds", type=positive_int, help="length of the soak (default 300)")
    args = parser.parse_args(argv)
    quick = {"duration": 5, "big": 100_000, "orders": 500, "soak_seconds": 60}
    full = {"duration": 15, "big": 1_000_000, "orders": 2_000, "soak_seconds": 300}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, Any] = {"kind": "suite", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = vars(args)
    duration = ["--duration", str(args.duration)]
    settle = str(min(60, args.soak_seconds // 3))
    try:
        catalog = run_bench("catalog_load.py", duration)
        orders = run_bench("place_orders.py", ["--orders", str(args.orders)])
        soak = run_bench("soak.py", ["--seconds", str(args.soak_seconds), "--settle", settle])
        big = run_bench("big_catalog.py", [*duration, "--sizes", "1000", str(args.big)])
        search = run_bench("search.py", [*duration, "--sizes", "1000", str(args.big)])
    except BenchError as error:
        print(f"bench aborted: {error}", file=sys.stderr)
        return 1
    rows, ceiling = catalog_rows(catalog)
    rows += orders_rows(orders, ceiling) + big_rows(big) + search_rows(search)
    rows += soak_rows(soak)
    report["load_average_at_end"] = load_average()
    report["parts"] = {
        part["kind"]: part["timestamp"] for part in (catalog, orders, big, search, soak)
    }
    report["summary"] = [row.__dict__ for row in rows]
    print(
        f"\n## Against the targets (load average {report['machine']['load_average_at_start']}"
        f" at the start, {report['load_average_at_end']} at the end)\n"
    )
    print(summary(rows))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
