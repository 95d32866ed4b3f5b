"""The job queue as metrics, read from Redis when `/metrics` is scraped: what any API worker
sees there is the same, and the job workers need no metrics endpoint of their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from integrations.jobs import QueueStats

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


def job_queue_families(stats: QueueStats | None) -> list[Metric]:
    """The metric families of `stats`; None: Redis did not answer."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    up = GaugeMetricFamily(
        "commerce_job_queue_up", "1 when the job queue's Redis answered this scrape, else 0."
    )
    up.add_metric([], 0 if stats is None else 1)
    if stats is None:
        return [up]
    jobs = GaugeMetricFamily(
        "commerce_job_queue_jobs",
        "Jobs in the queue: queued (due now), active (running), scheduled (retries waiting).",
        labels=["state"],
    )
    for state in ("queued", "active", "scheduled"):
        jobs.add_metric([state], getattr(stats, state))
    workers = GaugeMetricFamily("commerce_job_workers", "Job workers that reported lately.")
    workers.add_metric([], stats.workers)
    outcomes = CounterMetricFamily(
        "commerce_jobs",
        "Job runs of the job workers running now, since each started: complete, failed (no "
        "attempts left), retried (an attempt failed; another follows), aborted.",
        labels=["outcome"],
    )
    for outcome in ("complete", "failed", "retried", "aborted"):
        outcomes.add_metric([outcome], getattr(stats, outcome))
    return [up, jobs, workers, outcomes]
