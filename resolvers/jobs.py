"""The job worker's work, in one place: the outbox's email job and relay, the payment refund
job and sweep, and the replay of query cache invalidations Redis did not take.
`python -m server worker` runs it; tests run it until idle (`tests/support`)."""

from __future__ import annotations

import uuid

from integrations.jobs import JobWorker, Periodic
from resolvers.context import Context, new_context
from resolvers.payments.jobs import payment_jobs, sweep_payments
from resolvers.services import Services
from settings import Settings

CACHE_REPLAY_MIN_INTERVAL_SECONDS = 1.0


def build_worker(
    settings: Settings,
    services: Services,
    *,
    concurrency: int = 10,
    shutdown_grace_seconds: float = 20,
) -> JobWorker:
    """A worker for every job and periodic task; payment work only where payments are on."""

    def job_context() -> Context:
        return new_context(settings=settings, services=services, request_id=f"job-{uuid.uuid4()}")

    jobs = services.outbox.jobs(services.email)
    periodic = services.outbox.periodic()
    # Invalidations Redis did not take are applied by the API's lookups too; this applies them
    # when no cached reads come.
    replay_every = max(settings.cache_retry_after_seconds, CACHE_REPLAY_MIN_INTERVAL_SECONDS)
    periodic.append(
        Periodic("cache invalidation replay", replay_every, services.query_cache.replay_pending)
    )
    payments = services.payments
    if payments.enabled:
        jobs |= payment_jobs(job_context)

        async def sweep() -> object:
            return await sweep_payments(job_context())

        periodic.append(Periodic("payment sweep", payments.settings.sweep_interval_seconds, sweep))
    return services.outbox.queue.worker(
        jobs,
        concurrency=concurrency,
        periodic=periodic,
        shutdown_grace_seconds=shutdown_grace_seconds,
    )
