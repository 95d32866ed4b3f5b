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
import asyncio
import contextlib
import math
import random
import secrets
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pymongo
from checkout_data import (
    ORDERED,
    PLACE_ORDER,
    Catalog,
    Outcome,
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
    DATABASE,
    HOST,
    REPO_ROOT,
    RESULTS_DIR,
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
    save,
    server_environment,
    summarize_warnings,
    timestamp,
)
from load_client import Answer, Call, LoadResult, run_load
from profiling import Recording, record_profile
from pydantic import SecretStr

from documents.carts import CartLine
from integrations.local_servers import free_port
from server import connect_mongo, init_documents
from settings import JwtAlgorithm, Settings

HEALTHY = "OK"
# Tokens are issued just before each run; the longest lifetime the settings allow.
ACCESS_TOKEN_MINUTES = 60
HEALTHZ_WARMUP_REQUESTS = 1000
CLIENT_BOUND_SHARE = 0.9  # client processes this busy are (close to) the bottleneck
# mongod's transaction counters (serverStatus), compared around each run. More transactions than
# requests means retries: PyMongo's `with_transaction` runs a unit again after a write conflict.
# (serverStatus' metrics.operation.writeConflicts does not count those of transactions.)
MONGOD_COUNTERS = {
    "transactions_started": ("transactions", "totalStarted"),
    "transactions_committed": ("transactions", "totalCommitted"),
    "transactions_aborted": ("transactions", "totalAborted"),
}


def mongod_counters(client: pymongo.MongoClient[dict[str, Any]]) -> dict[str, int]:
    status = client.admin.command("serverStatus")
    counters = {}
    for name, path in MONGOD_COUNTERS.items():
        value: Any = status
        for key in path:
            value = value.get(key, {})
        counters[name] = int(value) if isinstance(value, int) else 0
    return counters


# --- one run's numbers ------------------------------------------------------------------------


def healthz(answer: Answer) -> Outcome:
    if answer.status == 0:
        return answer.body.decode(), None
    return (HEALTHY if answer.status == 200 else f"HTTP {answer.status}"), None


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class RunResult:
    run: str  # "healthz", "placeOrder", "placeOrder, hot product"
    concurrency: int
    requests: int
    seconds: float
    orders: int
    outcomes: dict[str, int]
    non_200: int
    latency_ms: dict[str, float]
    client_processes: int
    # CPU seconds used during the run by the client processes, the API (supervisor and workers),
    # mongod and redis-server.
    cpu_seconds: dict[str, float]
    # What mongod counted during the run (transactions started, committed, aborted).
    mongod: dict[str, int] = field(default_factory=dict)
    server_warnings: int = 0
    server_warning_samples: list[str] = field(default_factory=list)
    profile: dict[str, Any] | None = None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds

    @property
    def errors(self) -> dict[str, int]:
        return {code: n for code, n in self.outcomes.items() if code not in (ORDERED, HEALTHY)}

    @property
    def client_busy_share(self) -> float:
        """How busy the client processes were, 1.0 = each used a whole core."""
        return self.cpu_seconds["client"] / (self.seconds * self.client_processes)

    @property
    def transactions_per_request(self) -> float:
        return self.mongod["transactions_started"] / self.requests

    def cpu_ms_per_request(self, who: str) -> float:
        return 1000 * self.cpu_seconds[who] / self.requests


def summarize(
    run: str,
    concurrency: int,
    load: LoadResult,
    outcomes: list[Outcome],
    cpu_seconds: dict[str, float],
) -> RunResult:
    latencies = sorted(answer.seconds * 1000 for answer in load.answers)
    counts = Counter(outcome for outcome, _ in outcomes)
    return RunResult(
        run=run,
        concurrency=concurrency,
        requests=len(load.answers),
        seconds=load.seconds,
        orders=counts[ORDERED],
        outcomes=dict(counts.most_common()),
        non_200=sum(answer.status != 200 for answer in load.answers),
        latency_ms={
            name: round(percentile(latencies, share), 2)
            for name, share in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        client_processes=load.processes,
        cpu_seconds={who: round(seconds, 3) for who, seconds in cpu_seconds.items()},
    )


# --- running ----------------------------------------------------------------------------------


class Bench:
    """The API under test, its database, and the runs made against it. Database work runs on
    `runner`'s event loop; the load runs in client processes while this process waits."""

    def __init__(
        self,
        args: argparse.Namespace,
        servers: Backends,
        server: ApiServer,
        settings: Settings,
        runner: asyncio.Runner,
        mongod_status: pymongo.MongoClient[dict[str, Any]],
        profile_dir: Path,
    ) -> None:
        self.args = args
        self.servers = servers
        self.server = server
        self.settings = settings
        self.runner = runner
        self.mongod_status = mongod_status
        self.profile_dir = profile_dir
        self.rng = random.Random(args.seed)
        self.results: list[RunResult] = []

    def counted_processes(self) -> dict[str, list[int]]:
        assert self.servers.redis is not None
        return {
            "api": process_tree(self.server.process.pid),
            "mongod": [self.servers.mongod.process.pid],
            "redis": [self.servers.redis.process.pid],
        }

    def load(
        self,
        run: str,
        calls: list[Call],
        concurrency: int,
        classify: Callable[[Answer], Outcome],
        *,
        profile: bool = False,
    ) -> tuple[RunResult, list[Outcome], list[Answer]]:
        """Send `calls` and summarize the answers, with the CPU every process used meanwhile."""
        processes = self.counted_processes()
        before: dict[str, float] = {}
        counters_before: dict[str, int] = {}

        def at_start() -> None:
            before.update({who: cpu_seconds(pids) for who, pids in processes.items()})
            counters_before.update(mongod_counters(self.mongod_status))

        log_offset = self.server.log_size()
        profile_path = self.profile_dir / f"{run.split(',')[0]}-{concurrency}.txt"
        recorder: contextlib.AbstractContextManager[Recording | None] = (
            record_profile(self.server.process.pid, profile_path)
            if profile
            else contextlib.nullcontext()
        )
        with recorder as recording:
            try:
                load = run_load(
                    self.server.base_url,
                    calls,
                    concurrency=concurrency,
                    processes=self.args.client_processes,
                    timeout=self.args.timeout,
                    at_start=at_start,
                )
            except RuntimeError as error:
                raise BenchError(f"{run} at {concurrency}: {error}") from error
            used = {who: cpu_seconds(pids) - before[who] for who, pids in processes.items()}
            counters = mongod_counters(self.mongod_status)
        if self.server.process.poll() is not None:
            raise BenchError(f"the API server died during {run}:\n{self.server.log_tail()}")
        outcomes = [classify(answer) for answer in load.answers]
        used["client"] = load.client_cpu_seconds
        result = summarize(run, concurrency, load, outcomes, used)
        result.mongod = {name: counters[name] - counters_before[name] for name in counters}
        print(
            f"  {run}: {result.requests:,} requests in {result.seconds:.1f} s, "
            f"p99 {result.latency_ms['p99']:,.0f} ms, errors: {describe_errors(result.errors)}",
            file=sys.stderr,
        )
        warnings = self.server.warnings_since(log_offset)
        result.server_warnings = len(warnings)
        result.server_warning_samples = summarize_warnings(warnings)
        if recording is not None:
            result.profile = recording.summary().as_dict(per=result.requests)
            result.profile["path"] = str(profile_path.relative_to(REPO_ROOT))
        return result, outcomes, load.answers

    def healthz(self, concurrency: int) -> None:
        self.load("warm-up", [Call("/healthz")] * HEALTHZ_WARMUP_REQUESTS, concurrency, healthz)
        calls = [Call("/healthz")] * self.args.healthz_requests
        result, _, answers = self.load("healthz", calls, concurrency, healthz)
        if server_errors := sum(answer.status >= 500 for answer in answers):
            raise BenchError(f"healthz at {concurrency}: {server_errors} answers were 5xx")
        self.results.append(result)

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
        result, outcomes, answers = self.load(
            run, calls, concurrency, order_outcome, profile=profile
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
        result, outcomes, answers = self.load(
            "placeOrder, hot product", calls, concurrency, order_outcome
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
            self.healthz(concurrency)
            print(f"{concurrency} in flight: placeOrder", file=sys.stderr)
            self.catalog_orders(catalog, concurrency)
            if self.args.hot_buyers:
                print(f"{concurrency} in flight: placeOrder, hot product", file=sys.stderr)
                self.hot_product(catalog, concurrency)


def bench_settings(backends: Backends, jwt_secret: str) -> Settings:
    """What the bench needs of the API's settings: the database, and the same token keys."""
    return Settings(
        mongodb_uri=backends.mongod.uri,
        mongodb_database=DATABASE,
        jwt_algorithm=JwtAlgorithm.HS256,
        jwt_secret=SecretStr(jwt_secret),
        access_token_minutes=ACCESS_TOKEN_MINUTES,
    )


def run_bench(args: argparse.Namespace, work_dir: Path) -> None:
    report: dict[str, Any] = {"kind": "place-orders", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = {key: value for key, value in vars(args).items() if key != "profile"} | {
        "query": PLACE_ORDER
    }
    profile_dir = RESULTS_DIR / f"{report['timestamp']}-profile"
    jwt_secret = secrets.token_urlsafe(32)
    with backends(work_dir) as servers:
        env = server_environment(
            servers,
            work_dir,
            HOST=HOST,
            PORT=str(free_port()),
            WORKERS=str(args.workers),
            LOG_LEVEL="WARNING",
            JWT_ALGORITHM="HS256",
            JWT_SECRET=jwt_secret,
            ACCESS_TOKEN_MINUTES=str(ACCESS_TOKEN_MINUTES),
        )
        settings = bench_settings(servers, jwt_secret)
        print(f"starting the API ({args.workers} workers)", file=sys.stderr)
        server = ApiServer(env, work_dir / "api.log")
        try:
            server.wait_ready()
            mongod_status: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                servers.mongod.uri, serverSelectionTimeoutMS=5000
            )
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                mongo = connect_mongo(settings)
                try:
                    runner.run(init_documents(mongo, settings))
                    bench = Bench(
                        args, servers, server, settings, runner, mongod_status, profile_dir
                    )
                    bench.run_all()
                finally:
                    runner.run(mongo.close())
                    mongod_status.close()
        finally:
            server.stop()
    report["load_average_at_end"] = load_average()
    report["results"] = [
        asdict(result)
        | {
            "requests_per_second": round(result.requests_per_second, 1),
            "orders_per_second": round(result.orders_per_second, 1),
            "client_busy_share": round(result.client_busy_share, 3),
        }
        for result in bench.results
    ]
    print(markdown_report(report, bench.results))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


# --- reporting --------------------------------------------------------------------------------


def describe_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {code}" for code, n in errors.items()) or "none"


def markdown_report(report: dict[str, Any], results: list[RunResult]) -> str:
    machine, config = report["machine"], report["config"]
    lines = [
        f"- machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}",
        f"- load average: {machine['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end",
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
        "| run | in flight | requests | requests/s | orders/s | p50 ms | p99 ms | errors "
        "| non-200 | transactions/request | CPU ms/request: API, mongod, client | client busy |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|",
    ]
    for r in results:
        orders = f"{r.orders_per_second:,.0f}" if r.run != "healthz" else "-"
        cpu = ", ".join(f"{r.cpu_ms_per_request(who):.2f}" for who in ("api", "mongod", "client"))
        lines.append(
            f"| {r.run} | {r.concurrency} | {r.requests:,} | {r.requests_per_second:,.0f} "
            f"| {orders} | {r.latency_ms['p50']:,.1f} | {r.latency_ms['p99']:,.1f} "
            f"| {describe_errors(r.errors)} | {r.non_200} | {r.transactions_per_request:.2f} | {cpu} "
            f"| {100 * r.client_busy_share:.0f} % |"
        )
    lines.append("")
    ceilings = {r.concurrency: r for r in results if r.run == "healthz"}
    for r in results:
        if r.run == "placeOrder" and r.concurrency in ceilings:
            ceiling = ceilings[r.concurrency]
            lines.append(
                f"- {r.concurrency} in flight: placeOrder at {r.requests_per_second:,.0f}/s is "
                f"{100 * r.requests_per_second / ceiling.requests_per_second:.1f} % of the "
                f"healthz ceiling ({ceiling.requests_per_second:,.0f}/s)"
            )
    if busy := [r for r in results if r.client_busy_share >= CLIENT_BOUND_SHARE]:
        runs = ", ".join(f"{r.run} at {r.concurrency}" for r in busy)
        lines.append(
            f"- the client processes were {100 * CLIENT_BOUND_SHARE:.0f} %+ busy in: {runs}; "
            "there the client, not the API, sets the pace (try --client-processes 2)"
        )
    for r in results:
        if r.server_warnings:
            lines.append(
                f"- the API logged {r.server_warnings} warnings/errors during {r.run} at "
                f"{r.concurrency}, e.g.:"
            )
            lines += [f"    {sample}" for sample in r.server_warning_samples]
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
