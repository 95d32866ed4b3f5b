"""Catalog load benchmark: seed the demo catalog, then load-test a product listing with wrk.

    .venv/bin/python bench/catalog_load.py                        # 10,000 products, 2 workers, 15 s
    .venv/bin/python bench/catalog_load.py --bulk-load-only 100000

Everything runs against a private mongod (one-node replica set) and redis-server started on free
ports in a temporary directory, so the user's `.data/` and the default ports are never touched.
The API is started as `python -m server serve`, once with the query cache off and once with it
on, and measured with `wrk` at 50 and 250 concurrent connections. A Markdown table goes to stdout
and the same numbers as JSON to `bench/results/<timestamp>.json`. See bench/README.md.

This is a benchmark, not a test: it asserts only what it needs to make the numbers meaningful.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymongo
from harness import (
    DATABASE,
    HOST,
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
    save,
    server_command,
    server_environment,
    summarize_warnings,
    timestamp,
    worker_rss_mb,
)

from documents.demo_catalog import load_demo_catalog
from integrations.local_servers import free_port
from server import connect_mongo, init_documents
from settings import Settings

QUERY = (
    "{ products(first: 20) { edges { node { name slug finalPrice { amount currency } "
    "category { name } } } } }"
)
GRAPHQL_PATH = "/graphql?query=" + urllib.parse.quote(QUERY, safe="")
EXPECTED_EDGES = 20
WRK_THREADS = 2
SEED_TIMEOUT_SECONDS = 1800.0
WRK_INSTALL_HINT = "install wrk (Debian package `wrk`: apt-get install wrk)"
# Each run is made once per encoding the client accepts: gzip shows what compression costs.
ENCODINGS = ("identity", "gzip")


# --- catalog load -----------------------------------------------------------------------------

_SEEDED_LINE = re.compile(
    r"seeded (\d+) categories, (\d+) subcategories and (\d+) products in ([\d.]+)s"
)


def count_products(uri: str) -> int:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=5000
    )
    try:
        return client[DATABASE]["products"].count_documents({})
    finally:
        client.close()


def seed_catalog(backends: Backends, work_dir: Path, products: int) -> dict[str, Any]:
    """Run `python -m server seed --products N` and time it."""
    env = server_environment(backends, work_dir, LOG_LEVEL="INFO")
    wall_seconds, output = server_command(
        ["seed", "--products", str(products)], env, timeout=SEED_TIMEOUT_SECONDS
    )
    stored = count_products(backends.mongod.uri)
    if stored != products:
        raise BenchError(f"seeding stored {stored} products, expected {products}:\n{output}")
    match = _SEEDED_LINE.search(output)
    return {
        "products": products,
        "wall_seconds": round(wall_seconds, 3),
        # The loader's own figure, without interpreter start-up and index creation.
        "loader_seconds": float(match.group(4)) if match else None,
    }


async def _bulk_load(uri: str, products: int) -> tuple[float, int]:
    settings = Settings(mongodb_uri=uri, mongodb_database=DATABASE)
    client = connect_mongo(settings)
    try:
        await init_documents(client, settings)
        if await client[DATABASE]["products"].estimated_document_count():
            raise BenchError(f"database {DATABASE!r} is not empty")
        started = time.perf_counter()
        summary = await load_demo_catalog(
            products, public_url=settings.public_url, seed=settings.seed_random_seed
        )
        seconds = time.perf_counter() - started
        stored = await client[DATABASE]["products"].count_documents({})
    finally:
        await client.close()
    if summary.products != products or stored != products:
        raise BenchError(
            f"load_demo_catalog reported {summary.products} and the database holds {stored} "
            f"products, expected {products}"
        )
    return seconds, stored


def bulk_load_only(products: int, work_dir: Path) -> dict[str, Any]:
    with backends(work_dir, with_redis=False) as servers:
        seconds, stored = asyncio.run(_bulk_load(servers.mongod.uri, products))
    return {
        "products": stored,
        "seconds": round(seconds, 3),
        "products_per_second": round(stored / seconds),
    }


# --- the API under test -----------------------------------------------------------------------


def response_sizes(base_url: str) -> dict[str, int]:
    """Bytes on the wire of the measured answer, per Accept-Encoding (checks gzip is applied)."""
    sizes = {}
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        for encoding in ENCODINGS:
            request = client.build_request(
                "GET", GRAPHQL_PATH, headers={"Accept-Encoding": encoding}
            )
            response = client.send(request, stream=True)
            wire = b"".join(response.iter_raw())
            response.close()
            if response.headers.get("content-encoding", "identity") != encoding:
                raise BenchError(
                    f"Accept-Encoding: {encoding} got Content-Encoding "
                    f"{response.headers.get('content-encoding')!r}"
                )
            sizes[encoding] = len(wire)
    return sizes


def verify_response(base_url: str, *, cache_enabled: bool) -> None:
    """One request must return 20 edges; with the cache on, the second one must be a HIT.

    Sent as POST: a public GET answer carries only `data`, not the cache status."""
    with httpx.Client(
        base_url=base_url, timeout=10.0, headers={"Accept": "application/json"}
    ) as client:
        statuses: list[str | None] = []
        for _ in range(2):
            response = client.post("/graphql", json={"query": QUERY})
            try:
                body = response.json()
            except ValueError as error:
                raise BenchError(
                    f"POST {QUERY} answered {response.status_code} with non-JSON: "
                    f"{response.text[:500]}"
                ) from error
            if response.status_code != 200 or body.get("errors"):
                raise BenchError(
                    f"POST {QUERY} answered {response.status_code}: {response.text[:1000]}"
                )
            edges = ((body.get("data") or {}).get("products") or {}).get("edges") or []
            if len(edges) != EXPECTED_EDGES:
                raise BenchError(
                    f"expected {EXPECTED_EDGES} product edges, got {len(edges)}: "
                    f"{response.text[:500]}"
                )
            statuses.append((body.get("extensions") or {}).get("cache"))
    if cache_enabled and statuses[1] != "HIT":
        raise BenchError(
            f"with CACHE_ENABLED=true the second identical request should be a cache HIT, got "
            f"extensions.cache={statuses[1]!r} (first: {statuses[0]!r}); the cache-on numbers "
            "would be meaningless"
        )
    if not cache_enabled and "HIT" in statuses:
        raise BenchError(f"with CACHE_ENABLED=false the response says extensions.cache={statuses}")


# --- wrk ----------------------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE_LINE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.M)
_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_TOTAL_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.M)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


@dataclass
class WrkResult:
    cache: str
    connections: int
    encoding: str
    requests_per_second: float
    requests: int
    latency_ms: dict[str, float]
    errors: dict[str, int] = field(default_factory=dict)
    # What was asked (the listing, or a product page) and its requests/s as a share of the
    # fixed-bytes ceiling's at the same connections (see `measure_cached_reads`).
    case: str = "listing"
    ratio_to_ceiling: float | None = None
    # CPU the API's processes (supervisor and workers) and redis-server used per request: on a
    # shared machine a steadier measure of the work a request takes than requests/s.
    api_cpu_ms_per_request: float | None = None
    redis_cpu_ms_per_request: float | None = None
    # WARNING/ERROR lines the API logged during this run (e.g. query cache timeouts).
    server_warnings: int = 0
    server_warning_samples: list[str] = field(default_factory=list)
    # Each worker's resident memory (MiB) at the end of the run.
    worker_rss_mb: list[float] = field(default_factory=list)

    @property
    def total_errors(self) -> int:
        return sum(self.errors.values())


def parse_wrk(output: str, *, cache: str, connections: int, encoding: str) -> WrkResult:
    rps = _REQUESTS_PER_SECOND.search(output)
    percentiles = {
        f"p{number}": round(float(value) * _UNIT_MS[unit], 3)
        for number, value, unit in _PERCENTILE_LINE.findall(output)
    }
    if rps is None or not {"p50", "p99"} <= percentiles.keys():
        raise BenchError(f"could not parse wrk's output:\n{output}")
    total = _TOTAL_REQUESTS.search(output)
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    if socket_errors := _SOCKET_ERRORS.search(output):
        errors = dict(zip(errors, map(int, socket_errors.groups()), strict=True))
    non_2xx = _NON_2XX.search(output)
    errors["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    return WrkResult(
        cache=cache,
        connections=connections,
        encoding=encoding,
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)) if total else 0,
        latency_ms=percentiles,
        errors=errors,
    )


def run_wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    timeout: int | None = None,
    encoding: str = "identity",
    script: Path | None = None,
) -> str:
    """`wrk -t2 -c<N> -d<seconds>s --latency [--timeout <s>s] [-s <script>]
    -H 'Accept-Encoding: …' <url>`; its stdout."""
    command = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{seconds}s"]
    command += ["--latency", *([f"--timeout={timeout}s"] if timeout else [])]
    command += ["-s", str(script)] if script else []
    command += ["-H", f"Accept-Encoding: {encoding}", url]
    completed = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"wrk exited with {completed.returncode}:\n{completed.stderr}")
    return completed.stdout


def api_environment(
    backends: Backends, work_dir: Path, *, workers: int, cache_enabled: bool
) -> dict[str, str]:
    """The measured API's environment: a free port, its workers, the query cache on or off."""
    return server_environment(
        backends,
        work_dir,
        HOST=HOST,
        PORT=str(free_port()),
        WORKERS=str(workers),
        LOG_LEVEL="WARNING",
        CACHE_ENABLED="true" if cache_enabled else "false",
    )


def start_api(
    backends: Backends,
    work_dir: Path,
    args: argparse.Namespace,
    label: str,
    command: list[str] | None = None,
    **settings: str,
) -> ApiServer:
    """`python -m server serve` (or `command`) with `args.workers` workers and `settings`."""
    env = server_environment(
        backends,
        work_dir,
        HOST=HOST,
        PORT=str(free_port()),
        WORKERS=str(args.workers),
        LOG_LEVEL="WARNING",
        **settings,
    )
    print(f"cache {label}: starting ({args.workers} workers)", file=sys.stderr)
    slug = label.replace(", ", "-").replace(" ", "-")
    return ApiServer(env, work_dir / f"api-cache-{slug}.log", command=command)


def measure(
    backends: Backends,
    work_dir: Path,
    args: argparse.Namespace,
    *,
    cache_enabled: bool,
    sizes: dict[str, int],
) -> list[WrkResult]:
    label = "on" if cache_enabled else "off"
    server = start_api(
        backends, work_dir, args, label, CACHE_ENABLED="true" if cache_enabled else "false"
    )
    assert backends.redis is not None
    try:
        server.wait_ready()
        verify_response(server.base_url, cache_enabled=cache_enabled)
        sizes.update(response_sizes(server.base_url))
        if args.warmup > 0:
            run_wrk(
                server.base_url + GRAPHQL_PATH,
                connections=min(args.connections),
                seconds=args.warmup,
                timeout=args.wrk_timeout,
            )
        results = [
            run_cached(
                server,
                label,
                ("listing", GRAPHQL_PATH, encoding),
                connections,
                args,
                backends.redis.process.pid,
            )
            for connections in args.connections
            for encoding in args.encodings
        ]
        if server.process.poll() is not None:
            raise BenchError(f"the API server died during the run:\n{server.log_tail()}")
        return results
    finally:
        server.stop()


# --- cached reads: the GraphQL path, the fast path and the fixed-bytes ceiling --------------------

# A product page, as a storefront asks for one by id.
PRODUCT_PAGE = (
    "query Product($id: ID!) { product(id: $id) { id name slug brand description "
    "price { amount currency } discountPercent finalPrice { amount currency } inStock "
    "images { url alt width height } category { name slug } subcategory { name slug } "
    "ratingAverage ratingCount } }"
)
# The cached reads are measured on two API servers that differ only in CACHE_FAST_HITS, and on the
# ceiling, all three up at once and measured in turn, so that load from elsewhere on the machine
# falls on each alike.
GRAPHQL_PATH_LABEL = "on, GraphQL"
FAST_PATH_LABEL = "on, fast path"
CEILING_LABEL = "ceiling"
CACHED_PATHS = {GRAPHQL_PATH_LABEL: "false", FAST_PATH_LABEL: "true"}
FIXED_BYTES_APP = Path(__file__).resolve().parent / "fixed_bytes.py"


def product_page_path(base_url: str) -> str:
    """A GET of the product page of the newest product."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        answer = client.post(
            "/graphql", json={"query": "{ products(first: 1) { edges { node { id } } } }"}
        )
    edges = ((answer.json().get("data") or {}).get("products") or {}).get("edges") or []
    if answer.status_code != 200 or not edges:
        raise BenchError(f"could not find a product to ask for: {answer.text[:500]}")
    variables = json.dumps({"id": edges[0]["node"]["id"]})
    return "/graphql?" + urllib.parse.urlencode({"query": PRODUCT_PAGE, "variables": variables})


def verify_same_answers(servers: dict[str, ApiServer], paths: list[str]) -> None:
    """Both API servers answer each measured request alike: a public 200 with the same body."""
    for path in paths:
        answers = {}
        for label in CACHED_PATHS:
            with httpx.Client(base_url=servers[label].base_url, timeout=10.0) as client:
                for _ in range(3):  # a miss, then hits
                    answer = client.get(path, headers={"Accept-Encoding": "identity"})
            if answer.status_code != 200 or not answer.headers["cache-control"].startswith(
                "public"
            ):
                raise BenchError(f"GET {path} on {label}: {answer.status_code} {answer.text[:500]}")
            answers[label] = (answer.content, answer.headers["etag"])
        if len(set(answers.values())) != 1:
            raise BenchError(f"GET {path}: the GraphQL and the fast path answer differently")


def start_cached_servers(
    backends: Backends, work_dir: Path, args: argparse.Namespace
) -> dict[str, ApiServer]:
    return {
        # The GraphQL path's server runs without compiled reads too, which answer hits of the
        # documents they compile without Strawberry: its hits go all the way through GraphQL.
        label: start_api(
            backends,
            work_dir,
            args,
            label,
            CACHE_ENABLED="true",
            CACHE_FAST_HITS=fast_hits,
            COMPILED_READS=fast_hits,
        )
        for label, fast_hits in CACHED_PATHS.items()
    }


def measure_cached_reads(
    backends: Backends, work_dir: Path, args: argparse.Namespace, sizes: dict[str, int]
) -> list[WrkResult]:
    """The listing (each encoding) and a product page, cached, on the GraphQL path and the fast
    path, with the fixed-bytes ceiling (the listing's size) at each number of connections; runs
    interleaved, each result with its share of the ceiling."""
    assert backends.redis is not None
    redis_pid = backends.redis.process.pid  # whose CPU each run reports too
    servers = start_cached_servers(backends, work_dir, args)
    try:
        for server in servers.values():
            server.wait_ready()
        fast = servers[FAST_PATH_LABEL]
        verify_response(fast.base_url, cache_enabled=True)
        sizes.update(response_sizes(fast.base_url))
        page = product_page_path(fast.base_url)
        verify_same_answers(servers, [GRAPHQL_PATH, page])
        # A bare app sending as many bytes as the listing, under the same uvicorn settings.
        servers[CEILING_LABEL] = start_api(
            backends,
            work_dir,
            args,
            CEILING_LABEL,
            command=[sys.executable, str(FIXED_BYTES_APP)],
            FIXED_BYTES=str(sizes["identity"]),
        )
        servers[CEILING_LABEL].wait_ready()
        cases = [("listing", GRAPHQL_PATH, encoding) for encoding in args.encodings]
        cases.append(("product page", page, "identity"))
        if args.warmup > 0:
            for label in CACHED_PATHS:
                for _, path, _ in cases:
                    run_wrk(
                        servers[label].base_url + path,
                        connections=min(args.connections),
                        seconds=args.warmup,
                        timeout=args.wrk_timeout,
                    )
        results = []
        for connections in args.connections:
            listing = ("listing", GRAPHQL_PATH, "identity")
            ceiling = run_cached(
                servers[CEILING_LABEL], CEILING_LABEL, listing, connections, args, redis_pid
            )
            results.append(ceiling)
            for case in cases:
                for label in CACHED_PATHS:
                    result = run_cached(servers[label], label, case, connections, args, redis_pid)
                    result.ratio_to_ceiling = round(
                        result.requests_per_second / ceiling.requests_per_second, 3
                    )
                    results.append(result)
            ceiling.ratio_to_ceiling = 1.0
        for label, server in servers.items():
            if server.process.poll() is not None:
                raise BenchError(f"{label} died during the run:\n{server.log_tail()}")
        return results
    finally:
        for server in servers.values():
            server.stop()


def run_cached(
    server: ApiServer,
    label: str,
    case: tuple[str, str, str],
    connections: int,
    args: argparse.Namespace,
    redis_pid: int,
) -> WrkResult:
    name, path, encoding = case
    print(f"{name}, {label}: wrk -c{connections} {encoding} for {args.duration}s", file=sys.stderr)
    log_offset = server.log_size()
    api, redis = process_tree(server.process.pid), [redis_pid]
    api_before, redis_before = cpu_seconds(api), cpu_seconds(redis)
    output = run_wrk(
        server.base_url + path,
        connections=connections,
        seconds=args.duration,
        timeout=args.wrk_timeout,
        encoding=encoding,
    )
    api_used, redis_used = cpu_seconds(api) - api_before, cpu_seconds(redis) - redis_before
    result = parse_wrk(output, cache=label, connections=connections, encoding=encoding)
    result.case = name
    if result.requests:
        result.api_cpu_ms_per_request = round(1000 * api_used / result.requests, 3)
        result.redis_cpu_ms_per_request = round(1000 * redis_used / result.requests, 3)
    result.worker_rss_mb = sorted(worker_rss_mb(server.process.pid).values())
    warnings = server.warnings_since(log_offset)
    result.server_warnings = len(warnings)
    result.server_warning_samples = summarize_warnings(warnings)
    return result


def cached_reads_report(results: list[WrkResult]) -> str:
    """The cached reads' table, and the fast path's requests/s over the GraphQL path's."""
    lines = [
        "| case | connections | encoding | cache | requests/s | p50 ms | p99 ms | errors "
        "| share of ceiling | API CPU ms/request | Redis CPU ms/request | worker RSS MiB |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    by_run = {}
    for result in results:
        by_run[(result.case, result.connections, result.encoding, result.cache)] = result
        lines.append(
            f"| {result.case} | {result.connections} | {result.encoding} | {result.cache} "
            f"| {result.requests_per_second:,.0f} | {result.latency_ms['p50']:.1f} "
            f"| {result.latency_ms['p99']:.1f} | {result.total_errors} "
            f"| {result.ratio_to_ceiling or 0:.2f} | {result.api_cpu_ms_per_request or 0:.3f} "
            f"| {result.redis_cpu_ms_per_request or 0:.3f} "
            f"| {', '.join(f'{mb:.0f}' for mb in result.worker_rss_mb)} |"
        )
    lines += [
        "",
        "| case | connections | encoding | fast path ÷ GraphQL path: requests/s "
        "| API CPU per request |",
        "|---|---:|---|---:|---:|",
    ]
    for (case, connections, encoding, cache), fast in by_run.items():
        graphql = by_run.get((case, connections, encoding, GRAPHQL_PATH_LABEL))
        if cache == FAST_PATH_LABEL and graphql:
            ratio = fast.requests_per_second / graphql.requests_per_second
            cpu = (fast.api_cpu_ms_per_request or 0) / (graphql.api_cpu_ms_per_request or 1)
            lines.append(f"| {case} | {connections} | {encoding} | {ratio:.2f} | {cpu:.2f} |")
    return "\n".join(lines + warning_lines(results))


# --- product detail by id, cache off -----------------------------------------------------------

DETAIL_QUERY = (
    "query($id: ID!) { product(id: $id) { name slug description brand "
    "price { amount currency } discountPercent finalPrice { amount currency } inStock "
    "images { url alt width height } category { name slug } ratingAverage ratingCount } }"
)
DETAIL_PRODUCTS = 100
# wrk sends the paths in turn, each connection from its own place in the list.
_ROTATING_PATHS_LUA = """
local paths = {%s}
local next_path = 0
init = function(args) next_path = math.random(#paths) end
request = function()
  next_path = next_path %% #paths + 1
  return wrk.format("GET", paths[next_path])
end
"""


def detail_paths(base_url: str) -> list[str]:
    """GET paths of the product page query for DETAIL_PRODUCTS different products (checked)."""
    ids_query = f"{{ products(first: {DETAIL_PRODUCTS}) {{ edges {{ node {{ id }} }} }} }}"
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        edges = client.post("/graphql", json={"query": ids_query}).json()["data"]["products"]
        paths = []
        for edge in edges["edges"]:
            variables = json.dumps({"id": edge["node"]["id"]})
            paths.append(
                "/graphql?"
                + urllib.parse.urlencode({"query": DETAIL_QUERY, "variables": variables})
            )
        answer = client.get(paths[0]).json()
    if len(paths) != DETAIL_PRODUCTS or not (answer.get("data") or {}).get("product"):
        raise BenchError(f"the product page query did not answer a product: {answer}")
    return paths


def rotating_script(paths: list[str], script: Path) -> Path:
    """Write a wrk script to `script` that sends GETs of `paths` in turn."""
    script.write_text(_ROTATING_PATHS_LUA % ", ".join(f'"{path}"' for path in paths))
    return script


def product_pages_script(base_url: str, work_dir: Path) -> Path:
    """A wrk script sending the product page query for DETAIL_PRODUCTS products in turn."""
    return rotating_script(detail_paths(base_url), work_dir / "product-pages.lua")


def measure_product_detail_miss(
    backends: Backends, work_dir: Path, args: argparse.Namespace
) -> list[WrkResult]:
    """One product by id (a product page), CACHE_ENABLED=false, cycling through
    DETAIL_PRODUCTS products; every request is a miss."""
    env = api_environment(backends, work_dir, workers=args.workers, cache_enabled=False)
    print(f"product detail, cache off: starting the API ({args.workers} workers)", file=sys.stderr)
    server = ApiServer(env, work_dir / "api-detail-cache-off.log")
    try:
        server.wait_ready()
        script = product_pages_script(server.base_url, work_dir)
        if args.warmup > 0:
            run_wrk(
                server.base_url,
                connections=min(args.connections),
                seconds=args.warmup,
                timeout=args.wrk_timeout,
                script=script,
            )
        results = []
        for connections in args.connections:
            print(f"product detail, cache off: wrk -c{connections}", file=sys.stderr)
            output = run_wrk(
                server.base_url,
                connections=connections,
                seconds=args.duration,
                timeout=args.wrk_timeout,
                script=script,
            )
            results.append(
                parse_wrk(output, cache="off", connections=connections, encoding="identity")
            )
        if server.process.poll() is not None:
            raise BenchError(f"the API server died during the run:\n{server.log_tail()}")
        return results
    finally:
        server.stop()


def detail_report(results: list[WrkResult]) -> str:
    lines = [
        "",
        "Product detail by id (`product(id:)`, a product page), cache off, "
        f"{DETAIL_PRODUCTS} products in turn:",
        "",
        "| connections | requests/s | p50 ms | p99 ms | errors |",
        "|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.connections} | {result.requests_per_second:,.0f} "
            f"| {result.latency_ms['p50']:.1f} | {result.latency_ms['p99']:.1f} "
            f"| {result.total_errors} |"
        )
    return "\n".join(lines)


# --- reporting ----------------------------------------------------------------------------------


def markdown_report(report: dict[str, Any], results: list[WrkResult]) -> str:
    machine, config, seed = report["machine"], report["config"], report["catalog_load"]
    loader = (
        f", loader {seed['loader_seconds']:.1f} s" if seed["loader_seconds"] is not None else ""
    )
    lines = [
        f"- machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}",
        f"- load average: {machine['load_average_at_start']} at start, "
        f"{report['load_average_at_end']} at end",
        f"- products: {config['products']:,}, workers: {config['workers']}, "
        f"duration: {config['duration_seconds']} s per run, wrk -t{WRK_THREADS}",
        f"- catalog load (`python -m server seed`): {seed['wall_seconds']:.1f} s wall{loader}",
        "- answer on the wire: "
        + ", ".join(f"{size:,} bytes {name}" for name, size in report["response_bytes"].items()),
        "",
        "| cache | connections | encoding | requests/s | p50 ms | p99 ms | errors "
        "| API CPU ms/request |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.cache} | {result.connections} | {result.encoding} "
            f"| {result.requests_per_second:,.0f} "
            f"| {result.latency_ms['p50']:.1f} | {result.latency_ms['p99']:.1f} "
            f"| {result.total_errors} | {result.api_cpu_ms_per_request or 0:.3f} |"
        )
    return "\n".join(lines + warning_lines(results))


def warning_lines(results: list[WrkResult]) -> list[str]:
    """What the API logged (warnings, errors) during each run that logged any, with examples."""
    lines = []
    for result in results:
        if result.server_warnings:
            lines.append(
                f"\nThe API logged {result.server_warnings} warnings/errors during cache "
                f"{result.cache}, {result.case}, {result.connections} connections, e.g.:"
            )
            lines += [f"    {sample}" for sample in result.server_warning_samples]
    return lines


# --- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--products", type=positive_int, default=10_000, help="catalog size (default 10000)"
    )
    parser.add_argument(
        "--workers", type=positive_int, default=2, help="uvicorn workers (default 2)"
    )
    parser.add_argument(
        "--duration", type=positive_int, default=15, help="seconds per wrk run (default 15)"
    )
    parser.add_argument(
        "--connections",
        type=positive_int,
        nargs="+",
        default=[50, 250],
        help="concurrent connections, one wrk run each (default 50 250)",
    )
    parser.add_argument(
        "--encodings",
        choices=ENCODINGS,
        nargs="+",
        default=list(ENCODINGS),
        help="Accept-Encoding of the measured requests, one wrk run each (default identity gzip)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=3,
        help="seconds of unmeasured wrk load before each cache mode (default 3, 0 for none)",
    )
    parser.add_argument(
        "--wrk-timeout",
        type=positive_int,
        metavar="SECONDS",
        help="wrk's per-request timeout (default: wrk's own, 2 s); slower requests count as "
        "timeout errors and are missing from the latencies",
    )
    parser.add_argument(
        "--bulk-load-only",
        type=positive_int,
        metavar="N",
        help="only time load_demo_catalog(N) against a fresh database and print products/s",
    )
    return parser.parse_args(argv)


def run_bulk_load(args: argparse.Namespace, work_dir: Path) -> None:
    report: dict[str, Any] = {"kind": "bulk-load", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    print(f"loading {args.bulk_load_only:,} products with load_demo_catalog", file=sys.stderr)
    report["bulk_load"] = bulk_load_only(args.bulk_load_only, work_dir)
    report["load_average_at_end"] = load_average()
    load = report["bulk_load"]
    print(
        f"load_demo_catalog({load['products']:,}): {load['seconds']:.1f} s, "
        f"{load['products_per_second']:,} products/s "
        f"({report['machine']['nproc']} CPUs, {report['machine']['cpu_model']}, "
        f"Python {report['machine']['python']}, load average "
        f"{report['machine']['load_average_at_start']} -> {report['load_average_at_end']})"
    )
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def run_http(args: argparse.Namespace, work_dir: Path) -> None:
    if shutil.which("wrk") is None:
        raise BenchError(f"wrk is not on PATH: {WRK_INSTALL_HINT}")
    report: dict[str, Any] = {"kind": "http", "timestamp": timestamp()}
    report["machine"] = machine_facts()
    report["config"] = {
        "products": args.products,
        "workers": args.workers,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "connections": args.connections,
        "wrk_threads": WRK_THREADS,
        "wrk_timeout_seconds": args.wrk_timeout or 2,
        "query": QUERY,
        "encodings": args.encodings,
    }
    report["response_bytes"] = sizes = {}
    with backends(work_dir) as servers:
        print(f"seeding {args.products:,} products", file=sys.stderr)
        report["catalog_load"] = seed_catalog(servers, work_dir, args.products)
        results = measure(servers, work_dir, args, cache_enabled=False, sizes=sizes)
        cached = measure_cached_reads(servers, work_dir, args, sizes)
        detail_results = measure_product_detail_miss(servers, work_dir, args)
    report["load_average_at_end"] = load_average()
    report["results"] = [
        asdict(result) | {"total_errors": result.total_errors} for result in results + cached
    ]
    report["product_detail_cache_off"] = [
        asdict(result) | {"total_errors": result.total_errors} for result in detail_results
    ]
    print(markdown_report(report, results))
    print()
    print(cached_reads_report(cached))
    print(detail_report(detail_results))
    print(f"saved {save(report).relative_to(REPO_ROOT)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bulk_load_only:
        return run_in_work_dir(lambda work_dir: run_bulk_load(args, work_dir))
    return run_in_work_dir(lambda work_dir: run_http(args, work_dir))


if __name__ == "__main__":
    sys.exit(main())
