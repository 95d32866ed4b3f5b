"""Connection pools as metrics: PyMongo's pool events as they happen, redis-py's pools sampled,
and each worker's upkeep task that samples them and writes the buffered request metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from pymongo import monitoring

from resolvers.metrics.process import ProcessMetrics, process_metrics

# How often each worker records how many Redis connections its pools use.
REDIS_POOL_SAMPLE_SECONDS = 5.0


class MongoPoolMetrics(monitoring.ConnectionPoolListener):
    """PyMongo's pool events as metrics: connections open and checked out, waits for one, and
    check-outs that failed. Pass it in the client's `event_listeners`."""

    def __init__(self, metrics: ProcessMetrics | None = None) -> None:
        gauges = (metrics or process_metrics()).mongo_pool
        self._open = gauges.connections.labels("open")
        self._in_use = gauges.connections.labels("in_use")
        self._waits = gauges.waits
        self._failures = gauges.failures

    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None:
        self._open.inc()

    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None:
        self._open.dec()

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        self._in_use.inc()
        if event.duration is not None:
            self._waits.observe(event.duration)

    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None:
        self._in_use.dec()

    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None:
        self._failures.labels(event.reason).inc()

    # Events with nothing to count.
    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None:
        pass

    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None:
        pass

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        pass

    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None:
        pass

    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None:
        pass

    def connection_check_out_started(
        self, event: monitoring.ConnectionCheckOutStartedEvent
    ) -> None:
        pass


async def keep_metrics(
    metrics: ProcessMetrics, redis_pools: Mapping[str, Any], *, flush_seconds: float
) -> None:
    """Until cancelled: write the buffered request metrics every `flush_seconds` (none are
    buffered when 0) and sample the Redis pools every REDIS_POOL_SAMPLE_SECONDS. Each worker
    runs one; cancelling it writes what is left."""
    interval = flush_seconds or REDIS_POOL_SAMPLE_SECONDS
    sampled_at = float("-inf")
    try:
        while True:
            metrics.flush()
            now = time.monotonic()
            if now - sampled_at >= REDIS_POOL_SAMPLE_SECONDS:
                metrics.sample_redis_pools(redis_pools)
                sampled_at = now
            await asyncio.sleep(min(interval, REDIS_POOL_SAMPLE_SECONDS))
    finally:
        metrics.flush()
