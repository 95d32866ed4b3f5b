"""Payments benchmark: checkout with online payment, and Razorpay's webhooks, through the HTTP API.

    .venv/bin/python bench/payments.py                  # 1,000 orders per run, 50 in flight
    .venv/bin/python bench/payments.py --concurrency 50 250 --orders 2000

The same set-up as bench/place_orders.py (private mongod and redis-server, the API with 2
workers, a catalog and a buyer of its own per request written straight into MongoDB), with the
payment stand-in (never Razorpay). At each concurrency it measures `GET /healthz` (the ceiling
of this client and server), placeOrder with cash on delivery and with ONLINE payment, then
`payment.captured` webhooks for the ONLINE orders, paid at the stand-in and signed as Razorpay
signs them, posted to /webhooks/razorpay, then every webhook once more with the same event id.
After every run it checks the database (orders == successful answers, stock taken == units
ordered, ONLINE orders waiting with their provider order, each paid order confirmed exactly
once with one event record and one confirmation email, replays answered "duplicate" and
changing nothing) and refuses to report numbers that fail. A Markdown table goes to stdout and
the same numbers as JSON to `bench/results/<timestamp>.json`. See bench/README.md.

This is a benchmark, not a test: it asserts only what it needs to make the numbers meaningful.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from checkout_data import (
    ORDERED,
    Catalog,
    catalog_cart,
    check_catalog_stock,
    check_orders,
    create_buyers,
    create_catalog,
    order_outcome,
    place_order_call,
)
from harness import (
    REPO_ROOT,
    BenchError,
    load_average,
    machine_facts,
    positive_int,
    run_in_work_dir,
    save,
    timestamp,
)
from measured_runs import ApiUnderTest, api_under_test
from payment_data import (
    CONFIRMED,
    DUPLICATE,
    PLACE_ORDER_PAYING,
    PendingOrder,
    Webhook,
    check_placed,
    check_webhooks,
    count_still_pending,
    pay_orders,
    standin_provider,
    webhook_outcome,
)
from run_results import RunResult, machine_lines, markdown_table, notes

from documents.orders import PaymentMethod

COD_RUN = f"placeOrder {PaymentMethod.COD}"
ONLINE_RUN = f"placeOrder {PaymentMethod.ONLINE}"
WEBHOOKS = "webhooks"
REPLAYED = "webhooks, replayed"


class PaymentsBench:
    """The runs made against the API under test, and their results."""

    def __init__(self, args: argparse.Namespace, api: ApiUnderTest) -> None:
        self.args = args
        self.api = api
        self.settings = api.settings
        self.runner = api.runner
        self.rng = random.Random(args.seed)
        self.provider = standin_provider(api.settings)
        self.events_sent = 0  # distinct webhook events so far, warm-ups included
        self.results: list[RunResult] = []

    def place_orders(
        self,
        run: str,
        method: PaymentMethod,
        catalog: Catalog,
        concurrency: int,
        count: int,
    ) -> tuple[RunResult, list[PendingOrder]]:
        """`count` buyers place their carts with `method`; the ONLINE orders, waiting."""
        cart = catalog_cart(catalog, self.rng)
        label = f"{run}-{method}-{concurrency}".replace(" ", "-")
        buyers = self.runner.run(create_buyers(self.settings, count, label, cart))
        calls = [
            place_order_call(buyer, query=PLACE_ORDER_PAYING, payment_method=method)
            for buyer in buyers
        ]
        result, outcomes, answers = self.api.load(
            run, calls, concurrency, order_outcome, success=ORDERED
        )
        name = f"{run} at {concurrency}"
        ordered = self.runner.run(check_orders(name, buyers, outcomes, answers))
        self.runner.run(check_catalog_stock(name, catalog, ordered))
        pending = self.runner.run(check_placed(name, method, ordered, outcomes, answers))
        return result, pending

    def webhooks(
        self, run: str, replay_run: str, orders: list[PendingOrder], concurrency: int
    ) -> tuple[RunResult, RunResult]:
        """Pay `orders` at the stand-in, post their webhooks, then post them all again."""
        webhooks = self.runner.run(pay_orders(self.provider, orders))
        self.events_sent += len(webhooks)
        first = self.post_webhooks(run, webhooks, concurrency, expected=CONFIRMED)
        replayed = self.post_webhooks(replay_run, webhooks, concurrency, expected=DUPLICATE)
        return first, replayed

    def post_webhooks(
        self, run: str, webhooks: list[Webhook], concurrency: int, *, expected: str
    ) -> RunResult:
        calls = [webhook.call for webhook in webhooks]
        result, outcomes, answers = self.api.load(
            run, calls, concurrency, webhook_outcome, success=expected
        )
        name = f"{run} at {concurrency}"
        self.runner.run(
            check_webhooks(
                name, webhooks, outcomes, answers, expected=expected, events_so_far=self.events_sent
            )
        )
        return result

    def check_stock_kept(self, run: str, catalog: Catalog) -> None:
        """Confirming an order took no more stock: it was taken at checkout."""
        self.runner.run(check_catalog_stock(run, catalog, []))

    def run_at(self, catalog: Catalog, concurrency: int) -> None:
        args = self.args
        print(f"{concurrency} in flight: GET /healthz", file=sys.stderr)
        self.results.append(self.api.healthz(concurrency, args.healthz_requests))
        if args.warmup:
            print(f"{concurrency} in flight: warm-up", file=sys.stderr)
            self.place_orders("warm-up", PaymentMethod.COD, catalog, concurrency, args.warmup)
            _, waiting = self.place_orders(
                "warm-up", PaymentMethod.ONLINE, catalog, concurrency, args.warmup
            )
            self.webhooks("warm-up", "warm-up, replayed", waiting, concurrency)
        print(f"{concurrency} in flight: placeOrder COD, then ONLINE", file=sys.stderr)
        cod, _ = self.place_orders(COD_RUN, PaymentMethod.COD, catalog, concurrency, args.orders)
        online, waiting = self.place_orders(
            ONLINE_RUN, PaymentMethod.ONLINE, catalog, concurrency, args.orders
        )
        self.results += [cod, online]
        paid, unpaid = waiting[: args.webhooks], waiting[args.webhooks :]
        print(f"{concurrency} in flight: {len(paid):,} webhooks, then again", file=sys.stderr)
        self.results += self.webhooks(WEBHOOKS, REPLAYED, paid, concurrency)
        self.check_stock_kept(f"webhooks at {concurrency}", catalog)
        still = self.runner.run(count_still_pending(unpaid))
        if still != len(unpaid):
            raise BenchError(f"{len(unpaid) - still} of the unpaid orders are no longer waiting")

    def run_all(self) -> None:
        print(f"creating {self.args.products} products", file=sys.stderr)
        catalog = self.runner.run(
            create_catalog(
                self.args.products, self.args.product_stock, self.settings.shop_currency, self.rng
            )
        )
        for concurrency in self.args.concurrency:
            self.run_at(catalog, concurrency)


def run_bench(args: argparse.Namespace, work_dir: Path) -> None:
    report: dict[str, Any] = {"kind": "payments", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = vars(args) | {"query": PLACE_ORDER_PAYING}
    with api_under_test(
        work_dir,
        workers=args.workers,
        client_processes=args.client_processes,
        timeout=args.timeout,
    ) as api:
        bench = PaymentsBench(args, api)
        bench.run_all()
    report["load_average_at_end"] = load_average()
    report["results"] = [result.as_dict() for result in bench.results]
    print(markdown_report(report, bench.results))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def markdown_report(report: dict[str, Any], results: list[RunResult]) -> str:
    config = report["config"]
    webhooks = min(config["webhooks"], config["orders"])
    lines = [
        *machine_lines(report),
        f"- API: {config['workers']} workers, payment stand-in; client: httpx, "
        f"{config['client_processes']} process(es), one connection per request in flight",
        f"- catalog: {config['products']} products, carts of 1-3 lines; {config['orders']:,} "
        f"orders per placeOrder run after {config['warmup']:,} unmeasured of each method; "
        f"{webhooks:,} `payment.captured` webhooks, then the same again",
        "",
        *markdown_table(results, "succeeded/s"),
        "",
        *online_against_cod(results),
        *notes(results, compared=(COD_RUN, ONLINE_RUN, WEBHOOKS, REPLAYED)),
        "- checked after every run: placeOrder: orders == answers, stock taken == units "
        "ordered, COD orders CONFIRMED with their email, ONLINE orders PENDING_PAYMENT with the "
        "provider order their answer named; webhooks: every paid order CONFIRMED once (one "
        "history entry), PAID in full, one processed_webhooks record and one confirmation "
        "email each; replays all `duplicate`, nothing changed",
    ]
    return "\n".join(lines)


def online_against_cod(results: list[RunResult]) -> list[str]:
    """What paying online adds to a checkout, at each concurrency."""
    runs = {(r.run, r.concurrency): r for r in results}
    lines = []
    for (run, concurrency), online in runs.items():
        cod = runs.get((COD_RUN, concurrency))
        if run != ONLINE_RUN or cod is None:
            continue
        lines.append(
            f"- {concurrency} in flight: placeOrder ONLINE at {online.succeeded_per_second:,.0f} "
            f"orders/s is {100 * online.succeeded_per_second / cod.succeeded_per_second:.0f} % "
            f"of COD's {cod.succeeded_per_second:,.0f}/s, with "
            f"{online.cpu_ms_per_request('api'):.1f} ms of API CPU per order against "
            f"{cod.cpu_ms_per_request('api'):.1f}"
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--orders", type=positive_int, default=1000, help="orders per placeOrder run (1000)")
    add(
        "--webhooks",
        type=positive_int,
        default=1000,
        help="ONLINE orders paid by webhook, at most --orders (1000)",
    )
    add("--warmup", type=int, default=100, help="unmeasured orders of each method (100; 0: none)")
    add(
        "--concurrency",
        type=positive_int,
        nargs="+",
        default=[50],
        help="requests in flight, one set of runs each (50)",
    )
    add("--healthz-requests", type=positive_int, default=10_000, help="per healthz run (10000)")
    add("--products", type=positive_int, default=200, help="catalog products (200)")
    add("--product-stock", type=positive_int, default=100_000, help="stock of each (100000)")
    add("--workers", type=positive_int, default=2, help="uvicorn workers (2)")
    add("--client-processes", type=positive_int, default=2, help="load client processes (2)")
    add(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds a request may take before the client gives up (300)",
    )
    add("--seed", type=int, default=2024, help="random seed of prices and carts (2024)")
    args = parser.parse_args(argv)
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_in_work_dir(lambda work_dir: run_bench(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
