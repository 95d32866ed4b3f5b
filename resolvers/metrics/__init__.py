"""Prometheus metrics (README, "Observability"): this process's (`process`), buffered on the hot
path (`buffers`), connection pools (`pools`) and the job queue (`jobs`)."""

from resolvers.metrics.jobs import job_queue_families
from resolvers.metrics.pools import MongoPoolMetrics, keep_metrics
from resolvers.metrics.process import (
    MAX_OPERATION_LABELS,
    MULTIPROCESS_DIRECTORY_VARIABLE,
    ProcessMetrics,
    count_cost_refusal,
    count_rate_limit_refusal,
    process_metrics,
)

__all__ = [
    "MAX_OPERATION_LABELS",
    "MULTIPROCESS_DIRECTORY_VARIABLE",
    "MongoPoolMetrics",
    "ProcessMetrics",
    "count_cost_refusal",
    "count_rate_limit_refusal",
    "job_queue_families",
    "keep_metrics",
    "process_metrics",
]
