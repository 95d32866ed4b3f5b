"""This process's Prometheus metrics (README, "Observability"): what to look at when it is slow.

One `ProcessMetrics` per process (`process_metrics()`), made when the first app is built. A
request's metrics are looked up in dictionaries of children, each made on first use, and kept in
buffers (metrics/buffers.py) that the worker writes once a second.

With several uvicorn workers, `python -m server serve` gives each start a fresh directory in
PROMETHEUS_MULTIPROC_DIR before the workers start: every worker writes its values to its own files
there, and `/metrics`, whichever worker answers, adds up the files of them all. prometheus-client
decides between that and plain in-process values when it is first imported, which is why it is
imported here only when the metrics are made, after `serve` has decided.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resolvers.metrics.buffers import BufferedCounter, BufferedHistogram, Dirty
from resolvers.query_cache import CacheStatus

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram
    from prometheus_client.metrics_core import Metric

logger = logging.getLogger(__name__)

MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Request latency, from a cached answer (well under a millisecond) to a slow export.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Query cost in points; MAX_QUERY_COST is 1000 by default.
COST_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)
# Waits for a pooled MongoDB connection: none at all, until the pool runs dry.
POOL_WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
# Operation names get a latency series each, up to this many per process (beyond those the
# operator declared: a trusted documents manifest). Clients choose names, so later ones share one.
MAX_OPERATION_LABELS = 100
OPERATION_NONE = "none"  # no operation ran: a document that did not parse or validate, a page
OPERATION_UNNAMED = "unnamed"
OPERATION_OTHER = "other"
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
# Every route `observe_request` is told about; the rest of the paths are "other".
ROUTES = ("graphql", "health", "metrics", "media", "auth", "webhooks", "export", "other")
CACHE_STATUSES = tuple(str(status) for status in CacheStatus)


@dataclass(frozen=True)
class MongoPoolGauges:
    """What PyMongo's pool events (metrics/pools.py) are recorded in."""

    connections: Gauge
    waits: Histogram
    failures: Counter


class ProcessMetrics:
    """The metrics this process records, and the text `/metrics` answers with.

    Requests are buffered and written by `flush`; with `write_through`, each request's metrics
    are written at once (METRICS_FLUSH_SECONDS=0)."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
            values,
        )
        from prometheus_client.gc_collector import GCCollector
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector

        # Where every worker's files are, when prometheus-client writes values to files.
        self.directory = (
            os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE)
            if values.ValueClass is not values.MutexValue
            else None
        )
        # `_created` series exist only for values kept in the process: leave them out in both modes.
        disable_created_metrics()
        self.registry = CollectorRegistry()
        if self.directory is None:
            # Alone, the process can describe itself; in multiprocess mode these would describe
            # only the worker that happens to answer.
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=self.registry)
        registry = self.registry
        self._responses = Counter(
            "commerce_http_responses",
            "HTTP responses, by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self._durations = Histogram(
            "commerce_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route and (for /graphql) "
            "GraphQL operation name.",
            ["route", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._cache = Counter(
            "commerce_query_cache_requests",
            "GraphQL operations by query cache status: HIT, MISS, BYPASS (not cacheable, or not "
            "stored) or UNAVAILABLE (Redis failed).",
            ["status"],
            registry=registry,
        )
        self._cost = Histogram(
            "commerce_graphql_query_cost",
            "Cost of the GraphQL operations that ran, in points (README, 'Query cost').",
            buckets=COST_BUCKETS,
            registry=registry,
        )
        self._cost_refusals = Counter(
            "commerce_query_cost_refusals",
            "Operations refused for their cost: over MAX_QUERY_COST (too_complex), or over what "
            "the client's bucket holds (throttled).",
            ["reason"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "commerce_rate_limit_refusals",
            "Actions refused by the abuse limits: over a limit (limit), or undecided while Redis "
            "failed (undecided; sign-in and other credential actions only).",
            ["action", "reason"],
            registry=registry,
        )
        self.mongo_pool = MongoPoolGauges(
            connections=Gauge(
                "commerce_mongodb_pool_connections",
                "MongoDB connections of this service: open, and checked out by an operation.",
                ["state"],
                multiprocess_mode="livesum",
                registry=registry,
            ),
            waits=Histogram(
                "commerce_mongodb_pool_wait_seconds",
                "How long operations waited for a pooled MongoDB connection.",
                buckets=POOL_WAIT_BUCKETS,
                registry=registry,
            ),
            failures=Counter(
                "commerce_mongodb_pool_checkout_failures",
                "Operations that got no MongoDB connection: timeout, connectionError, poolClosed.",
                ["reason"],
                registry=registry,
            ),
        )
        self._redis_connections = Gauge(
            "commerce_redis_pool_connections",
            "Redis connections of this service by pool (main, cache, rate_limits) and state "
            "(in_use, idle), sampled every few seconds.",
            ["pool", "state"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._redis_max = Gauge(
            "commerce_redis_pool_max_connections",
            "Most connections each Redis pool may open (REDIS_MAX_CONNECTIONS per process).",
            ["pool"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        # The buffers of the hot path, each made on first use: later requests only look them up.
        self.write_through = False
        self._dirty = Dirty()
        self._response_children: dict[str, dict[int, BufferedCounter]] = {r: {} for r in ROUTES}
        self._route_durations: dict[str, Histogram | BufferedHistogram] = {}
        self._operation_durations: dict[str, Histogram | BufferedHistogram] = {}
        self._named_operations = 0
        # Shown from the start, at 0: a rate of hits needs its series before the first hit.
        self._cache_children = {
            status: BufferedCounter(self._cache.labels(status), self._dirty)
            for status in CACHE_STATUSES
        }
        self._cost_buffer = self._buffered(self._cost)

    def name_operations(self, names: Iterable[str]) -> None:
        """Give these operations (a trusted documents manifest's) a latency series each, beyond
        MAX_OPERATION_LABELS."""
        for name in names:
            if _OPERATION_NAME.fullmatch(name):
                self._graphql_series(name)

    def operation_label(self, operation: str | None) -> str:
        """The latency series of a GraphQL operation: its name while this process has labelled
        fewer than MAX_OPERATION_LABELS, "unnamed", "other", or "none" (None: no operation ran)."""
        return self._operation_child(operation)[0]

    def _buffered(self, child: Histogram) -> Histogram | BufferedHistogram:
        # Written at once if this version of prometheus-client keeps a histogram otherwise.
        return BufferedHistogram(child, self._dirty) if BufferedHistogram.supports(child) else child

    def flush(self) -> None:
        """Write what the requests since the last flush recorded."""
        self._dirty.flush()

    def _operation_child(self, operation: str | None) -> tuple[str, Histogram | BufferedHistogram]:
        label = OPERATION_NONE if operation is None else operation or OPERATION_UNNAMED
        child = self._operation_durations.get(label)
        if child is not None:
            return label, child
        if operation:  # a name the client chose: a series of its own while there is room
            if self._named_operations >= MAX_OPERATION_LABELS or not _OPERATION_NAME.fullmatch(
                operation
            ):
                return OPERATION_OTHER, self._graphql_series(OPERATION_OTHER)
            self._named_operations += 1
        return label, self._graphql_series(label)

    def _graphql_series(self, label: str) -> Histogram | BufferedHistogram:
        child = self._operation_durations.get(label)
        if child is None:
            child = self._buffered(self._durations.labels("graphql", label))
            self._operation_durations[label] = child
        return child

    def observe_request(
        self,
        route: str,
        status: int,
        seconds: float,
        operation: str | None = None,
        cache_status: str | None = None,
        cost: int | None = None,
    ) -> None:
        """Count one answered request. `route` is one of ROUTES; for "graphql", `operation` is
        the operation's name ("" unnamed, None when none ran), `cache_status` the query cache's
        and `cost` the operation's cost, when known.

        The request middleware (schema/observability.py) calls it with what the request's
        `RequestRecord` holds; a path that answers outside that middleware calls it itself."""
        if route not in self._response_children:
            route = "other"
        by_status = self._response_children[route]
        responses = by_status.get(status)
        if responses is None:
            child = self._responses.labels(route, str(status))
            responses = by_status[status] = BufferedCounter(child, self._dirty)
        responses.inc()
        if route == "graphql":
            self._operation_child(operation)[1].observe(seconds)
        else:
            durations = self._route_durations.get(route)
            if durations is None:
                series = self._durations.labels(route, OPERATION_NONE)
                durations = self._route_durations[route] = self._buffered(series)
            durations.observe(seconds)
        if cache_status is not None:
            cache = self._cache_children.get(cache_status)
            if cache is not None:
                cache.inc()
        if cost is not None:
            self._cost_buffer.observe(cost)
        if self.write_through:
            self._dirty.flush()

    def count_cost_refusal(self, reason: str) -> None:
        self._cost_refusals.labels(reason).inc()

    def count_rate_limit_refusal(self, action: str, reason: str) -> None:
        self._rate_limited.labels(action, reason).inc()

    def sample_redis_pools(self, pools: Mapping[str, Any]) -> None:
        """Record how many connections each redis-py pool has in use and idle, and its cap."""
        for name, pool in pools.items():
            # redis-py keeps no public count of these; both lists have been there for years.
            in_use = len(getattr(pool, "_in_use_connections", ()))
            idle = len(getattr(pool, "_available_connections", ()))
            self._redis_connections.labels(name, "in_use").set(in_use)
            self._redis_connections.labels(name, "idle").set(idle)
            self._redis_max.labels(name).set(getattr(pool, "max_connections", 0) or 0)

    def render(self, extra: Iterable[Metric] = ()) -> bytes:
        """The text format of every worker's metrics (or this process's alone), then `extra`
        (families read at scrape time, such as the job queue's)."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        self.flush()
        registry = self.registry
        if self.directory is not None:
            self._forget_dead_processes()
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.directory)
        families = list(extra)
        text = generate_latest(registry)
        return text + generate_latest(_Families(families)) if families else text

    def _forget_dead_processes(self) -> None:
        """Drop the live gauges (pool connections) of workers that have died: a dead worker's
        counters stay in the totals, its connections do not."""
        from prometheus_client.multiprocess import mark_process_dead

        assert self.directory is not None
        pids = {
            path.rsplit("_", 1)[-1].removesuffix(".db")
            for path in glob.glob(os.path.join(self.directory, "gauge_live*_*.db"))
        }
        for pid in pids:
            if pid.isdigit() and not _process_alive(int(pid)):
                mark_process_dead(int(pid), self.directory)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process has the number: not one of our workers, but alive
    return True


class _Families:
    """Metric families made at scrape time, in the shape `generate_latest` reads."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


_metrics: ProcessMetrics | None = None


def process_metrics() -> ProcessMetrics:
    """This process's metrics, made on first use."""
    global _metrics  # one per process, made lazily (see the module's docstring)
    if _metrics is None:
        _metrics = ProcessMetrics()
    return _metrics


def count_cost_refusal(reason: str) -> None:
    """An operation refused for its cost: "too_complex" or "throttled"."""
    process_metrics().count_cost_refusal(reason)


def count_rate_limit_refusal(action: str, reason: str) -> None:
    """An action refused by the abuse limits: "limit", or "undecided" (failed closed)."""
    process_metrics().count_rate_limit_refusal(action, reason)
