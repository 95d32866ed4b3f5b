"""placeOrder benchmark: many buyers check out their carts at once through the HTTP API.

    .venv/bin/python bench/place_orders.py              # 2,000 orders per run, 50 and 250 in flight
    .venv/bin/python bench/place_orders.py --orders 5000 --concurrency 100

A private mongod (one-node replica set) and redis-server on free ports in a temporary directory,
and the API as `python -m server serve` with 2 workers. The data is written straight into MongoDB
in bulk: a catalog with ample stock, and for every request a buyer of its own (verified email, one
address, a cart of 1-3 lines, a session and its access token). At each concurrency it measures
`GET /healthz` (what this client and server can do at all), then placeOrder against the catalog,
then placeOrder of one unit each by more buyers than a hot product has units. After every run it
checks the database (orders == successful answers, stock taken == units ordered, no oversell,
no 5xx) and refuses to report numbers that fail. A Markdown table goes to stdout and the same
numbers as JSON to `bench/results/<timestamp>.json`. See bench/README.md.

This is a benchmark, not a test: it asserts only what it needs to make the numbers meaningful.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from checkout_data import (
    ORDERED,
    PLACE_ORDER,
    Catalog,
    catalog_cart,
    check_catalog_stock,
    check_hot_product,
    check_orders,
    create_buyers,
    create_catalog,
    create_hot_product,
    order_outcome,
    place_order_call,
    product_id,
)
from harness import (
    REPO_ROOT,
    RESULTS_DIR,
    load_average,
    machine_facts,
    positive_int,
    run_in_work_dir,
    save,
    timestamp,
)
from measured_runs import ApiUnderTest, api_under_test
from run_results import RunResult, machine_lines, markdown_table, notes

from documents.carts import CartLine

# --- running ----------------------------------------------------------------------------------


class Bench:
    """The runs made against the API under test, and their results."""

    def __init__(self, args: argparse.Namespace, api: ApiUnderTest) -> None:
        self.args = args
        self.api = api
        self.settings = api.settings
        self.runner = api.runner
        self.rng = random.Random(args.seed)
        self.results: list[RunResult] = []

    def catalog_orders(self, catalog: Catalog, concurrency: int) -> None:
        cart = catalog_cart(catalog, self.rng)
        if self.args.warmup:
            self.place_orders("warm-up", catalog, concurrency, self.args.warmup, cart)
        self.results.append(
            self.place_orders("placeOrder", catalog, concurrency, self.args.orders, cart)
        )

    def place_orders(
        self,
        run: str,
        catalog: Catalog,
        concurrency: int,
        count: int,
        cart: Callable[[], list[CartLine]],
    ) -> RunResult:
        label = f"{run}-{concurrency}"
        buyers = self.runner.run(create_buyers(self.settings, count, label, cart))
        calls = [place_order_call(buyer) for buyer in buyers]
        profile = self.args.profile and run == "placeOrder"
        result, outcomes, answers = self.api.load(
            run, calls, concurrency, order_outcome, success=ORDERED, profile=profile
        )
        name = f"{run} at {concurrency}"
        ordered = self.runner.run(check_orders(name, buyers, outcomes, answers))
        self.runner.run(check_catalog_stock(name, catalog, ordered))
        return result

    def hot_product(self, catalog: Catalog, concurrency: int) -> None:
        stock, count = self.args.hot_stock, self.args.hot_buyers
        currency = self.settings.shop_currency
        hot = self.runner.run(create_hot_product(catalog, stock, currency, str(concurrency)))
        one_unit = [CartLine(product_id=product_id(hot), quantity=1)]
        buyers = self.runner.run(
            create_buyers(self.settings, count, f"hot-{concurrency}", lambda: list(one_unit))
        )
        calls = [place_order_call(buyer) for buyer in buyers]
        result, outcomes, answers = self.api.load(
            "placeOrder, hot product", calls, concurrency, order_outcome, success=ORDERED
        )
        name = f"hot product at {concurrency}"
        self.runner.run(check_orders(name, buyers, outcomes, answers))
        self.runner.run(check_hot_product(name, hot, stock, outcomes))
        self.results.append(result)

    def run_all(self) -> None:
        print(f"creating {self.args.products} products", file=sys.stderr)
        catalog = self.runner.run(
            create_catalog(
                self.args.products, self.args.product_stock, self.settings.shop_currency, self.rng
            )
        )
        for concurrency in self.args.concurrency:
            print(f"{concurrency} in flight: GET /healthz", file=sys.stderr)
            self.results.append(self.api.healthz(concurrency, self.args.healthz_requests))
            print(f"{concurrency} in flight: placeOrder", file=sys.stderr)
            self.catalog_orders(catalog, concurrency)
            if self.args.hot_buyers:
                print(f"{concurrency} in flight: placeOrder, hot product", file=sys.stderr)
                self.hot_product(catalog, concurrency)


def run_bench(args: argparse.Namespace, work_dir: Path) -> None:
    report: dict[str, Any] = {"kind": "place-orders", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = {key: value for key, value in vars(args).items() if key != "profile"} | {
        "query": PLACE_ORDER
    }
    profile_dir = RESULTS_DIR / f"{report['timestamp']}-profile"
    with api_under_test(
        work_dir,
        workers=args.workers,
        client_processes=args.client_processes,
        timeout=args.timeout,
        profile_dir=profile_dir,
    ) as api:
        bench = Bench(args, api)
        bench.run_all()
    report["load_average_at_end"] = load_average()
    report["results"] = [result.as_dict() for result in bench.results]
    print(markdown_report(report, bench.results))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


# --- reporting --------------------------------------------------------------------------------


def markdown_report(report: dict[str, Any], results: list[RunResult]) -> str:
    config = report["config"]
    lines = [
        *machine_lines(report),
        f"- API: {config['workers']} workers; client: httpx, {config['client_processes']} "
        f"process(es), one connection per request in flight",
        f"- catalog: {config['products']} products, carts of 1-3 lines; "
        f"{config['orders']:,} orders per run after {config['warmup']:,} unmeasured; hot product: "
        + (
            f"{config['hot_buyers']:,} buyers of 1 unit for {config['hot_stock']:,} units"
            if config["hot_buyers"]
            else "skipped"
        ),
        "",
        *markdown_table(results, "orders/s"),
        "",
        *notes(results, compared=("placeOrder",)),
    ]
    lines += [
        f"- {r.run} at {r.concurrency}, MongoDB commands per request: {r.commands_by_name()}"
        for r in results
        if r.run != "healthz"
    ]
    for r in results:
        if r.profile:
            lines.append(
                f"\nProfile of {r.run} at {r.concurrency} ({r.profile['path']}), ms of sampled "
                f"API time per request ({r.profile['sampled_ms_per_request']:.2f} in all):"
            )
            lines.append("  own code, inclusive:")
            lines += [
                f"    {ms:7.3f}  {frame}"
                for frame, ms in r.profile["own_code_total_ms_per_request"].items()
            ]
            lines.append("  by the package of the innermost frame:")
            lines += [
                f"    {ms:7.3f}  {package}"
                for package, ms in r.profile["innermost_package_ms_per_request"].items()
            ]
            lines.append("  innermost functions:")
            lines += [
                f"    {ms:7.3f}  {frame}" for frame, ms in r.profile["self_ms_per_request"].items()
            ]
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--orders", type=positive_int, default=2000, help="orders per measured run (2000)")
    add("--warmup", type=int, default=200, help="unmeasured orders before each run (200; 0: none)")
    add(
        "--concurrency",
        type=positive_int,
        nargs="+",
        default=[50, 250],
        help="requests in flight, one set of runs each (50 250)",
    )
    add("--healthz-requests", type=positive_int, default=20_000, help="per healthz run (20000)")
    add("--products", type=positive_int, default=200, help="catalog products (200)")
    add("--product-stock", type=positive_int, default=100_000, help="stock of each (100000)")
    add("--hot-buyers", type=int, default=1000, help="buyers of the hot product (1000; 0: skip)")
    add("--hot-stock", type=positive_int, default=100, help="units of the hot product (100)")
    add("--workers", type=positive_int, default=2, help="uvicorn workers (2)")
    add("--client-processes", type=positive_int, default=2, help="load client processes (2)")
    add(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds a request may take before the client gives up (300)",
    )
    add("--seed", type=int, default=2024, help="random seed of prices and carts (2024)")
    add(
        "--profile",
        action="store_true",
        help="sample the API with py-spy during each measured placeOrder run",
    )
    args = parser.parse_args(argv)
    if args.hot_buyers and args.hot_buyers <= args.hot_stock:
        parser.error("--hot-buyers must exceed --hot-stock, or no buyer is ever refused")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_work_dir(lambda work_dir: run_bench(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
