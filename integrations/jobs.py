"""Background jobs on Redis with saq: a queue to hand jobs to, and a worker that runs them.

A job is a named async function called with keyword arguments. Each job has a key: enqueueing
a key that is already waiting, scheduled for a retry or running is a no-op, so handing the same
work over twice runs it once. A job that raises runs again after an exponential backoff with
jitter, until its attempts are used up.

Redis holds only the queue. What must not be lost is kept elsewhere (the MongoDB outbox) and
handed over again if Redis loses it; `JobQueueUnavailableError` says Redis could not be reached.

This module deliberately imports nothing from the project.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from saq import Job, Worker
from saq.queue.redis import RedisQueue

__all__ = [
    "JobFunction",
    "JobQueue",
    "JobQueueUnavailableError",
    "JobWorker",
    "Periodic",
    "QueueStats",
    "RetryPolicy",
]

logger = logging.getLogger("commerce.jobs")

JobFunction = Callable[..., Awaitable[object]]

# How long an idle worker's wait for a job lasts before it checks whether it should stop; the
# socket timeout must outlast it, as the wait is a blocking Redis command.
_DEQUEUE_WAIT_SECONDS = 1.0
_SOCKET_TIMEOUT_SECONDS = 5.0
# A periodic task failing again and again (MongoDB down) waits twice as long after each failure,
# up to this (or its own interval, if longer), instead of failing at full rate.
PERIODIC_MAX_BACKOFF_SECONDS = 300.0


class JobQueueUnavailableError(Exception):
    """Redis could not be reached: the job was not handed over."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failing job runs, and how long it waits in between.

    The n-th retry waits a random time between 0 and `first_delay_seconds * 2**(n-1)`, at most
    `max_delay_seconds` (exponential backoff with full jitter, so failures do not retry in step).
    """

    attempts: int
    first_delay_seconds: float
    max_delay_seconds: float


@dataclass(frozen=True)
class Periodic:
    """Work a worker runs every `interval_seconds` beside its jobs (a relay, a sweep)."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[object]]

    def pause_after(self, failures: int) -> float:
        """How long to wait before the next run, after `failures` failed runs in a row: the
        interval, doubled for each failure, at most PERIODIC_MAX_BACKOFF_SECONDS (or the
        interval, if that is longer)."""
        ceiling = max(self.interval_seconds, PERIODIC_MAX_BACKOFF_SECONDS)
        return float(min(ceiling, self.interval_seconds * 2 ** min(failures, 30)))


@dataclass(frozen=True)
class QueueStats:
    """A queue as Redis holds it: jobs by state, and what the workers that reported in the last
    minute or so have run since each started (saq's worker stats)."""

    queued: int
    active: int
    scheduled: int
    workers: int
    complete: int
    failed: int
    retried: int
    aborted: int


class JobQueue:
    """One named queue in Redis. Keys live under `saq:<name>:` and `saq:job:<name>:`."""

    def __init__(self, redis_url: str, *, name: str, connect_timeout_seconds: float) -> None:
        # saq is tested against redis-py's RESP2 replies; redis-py 8 speaks RESP3 by default.
        self._redis: Redis = Redis.from_url(
            redis_url,
            protocol=2,
            socket_connect_timeout=connect_timeout_seconds,
            socket_timeout=_SOCKET_TIMEOUT_SECONDS,
            health_check_interval=30,
        )
        self._queue = RedisQueue(self._redis, name=name)

    @property
    def name(self) -> str:
        return self._queue.name

    async def enqueue(
        self,
        function: str,
        *,
        key: str,
        kwargs: Mapping[str, Any],
        retry: RetryPolicy,
        timeout_seconds: int,
    ) -> bool:
        """Hand a job over; False when a job with this key is already waiting or running.

        `kwargs` must be JSON values: they are stored in Redis, so pass ids, not secrets.
        Raises `JobQueueUnavailableError` when Redis cannot be reached.
        """
        job = Job(
            function=function,
            kwargs=dict(kwargs),
            key=key,
            retries=retry.attempts,
            retry_delay=retry.first_delay_seconds,
            # A number here turns exponential backoff on and caps it.
            retry_backoff=retry.max_delay_seconds,
            timeout=timeout_seconds,
        )
        try:
            return await self._queue.enqueue(job) is not None
        except (RedisError, OSError) as error:
            raise JobQueueUnavailableError(
                f"the job queue could not be reached: {error}"
            ) from error

    async def job_status(self, key: str) -> tuple[str, int] | None:
        """The status (`queued`, `active`, `complete`, `failed` ...) and attempts of the job
        with `key`, while Redis keeps it; None when there is none."""
        job = await self._queue.job(key)
        return None if job is None else (job.status.value, job.attempts)

    async def queued_count(self) -> int:
        """Jobs waiting in line to run now (not those scheduled for later, nor running)."""
        return await self._queue.count("queued")

    async def stats(self) -> QueueStats:
        """How many jobs wait, run and wait for a retry, and how the workers' runs went.
        Raises RedisError or OSError when Redis cannot answer."""
        info = await self._queue.info()
        worker_stats: list[Mapping[str, Any]] = [
            dict(worker.get("stats") or {}) for worker in info["workers"].values()
        ]

        def total(outcome: str) -> int:
            return sum(int(stats.get(outcome) or 0) for stats in worker_stats)

        return QueueStats(
            queued=info["queued"],
            active=info["active"],
            scheduled=max(info["scheduled"], 0),
            workers=len(worker_stats),
            complete=total("complete"),
            failed=total("failed"),
            retried=total("retried"),
            aborted=total("aborted"),
        )

    async def close(self) -> None:
        try:
            await self._queue.disconnect()
        except (RedisError, OSError):
            # saq says goodbye to Redis on the way out; with Redis down, just drop the connections.
            await self._redis.aclose()

    def worker(
        self,
        functions: Mapping[str, JobFunction],
        *,
        concurrency: int,
        periodic: list[Periodic],
        shutdown_grace_seconds: float,
    ) -> JobWorker:
        """A worker running `functions` (by name) from this queue, and `periodic` beside them."""
        return JobWorker(
            self._queue,
            functions,
            concurrency=concurrency,
            periodic=periodic,
            shutdown_grace_seconds=shutdown_grace_seconds,
        )


def _saq_function(function: JobFunction) -> Callable[..., Awaitable[object]]:
    # saq passes its context (worker, job) first; our jobs need only their arguments.
    async def run(ctx: object, **kwargs: Any) -> object:
        return await function(**kwargs)

    return run


class JobWorker:
    """Runs jobs in this process: until stopped (`run_until_stopped`), or until nothing is due
    (`run_until_idle`, for one-off runs and tests)."""

    def __init__(
        self,
        queue: RedisQueue,
        functions: Mapping[str, JobFunction],
        *,
        concurrency: int,
        periodic: list[Periodic],
        shutdown_grace_seconds: float,
    ) -> None:
        self._queue = queue
        self._periodic = periodic
        self._worker: Worker[Any] = Worker(
            queue,
            [(name, _saq_function(function)) for name, function in functions.items()],
            concurrency=concurrency,
            dequeue_timeout=_DEQUEUE_WAIT_SECONDS,
            # Jobs under way get this long to finish when the worker stops.
            shutdown_grace_period_s=int(shutdown_grace_seconds),
        )
        # Signals are the caller's to handle (`run_until_stopped` takes an event), not saq's:
        # in a process that also serves HTTP, saq's handlers would replace the server's.
        self._worker.SIGNALS = []

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Run jobs and the periodic work until `stop` is set; jobs under way then get the
        shutdown grace period to finish, and are retried later if they do not."""
        worker = asyncio.create_task(self._worker.start(), name="jobs")
        loops = [
            asyncio.create_task(self._repeat(periodic, stop), name=periodic.name)
            for periodic in self._periodic
        ]
        waiting = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([worker, waiting], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            # saq's own stop waits the grace period for all its tasks, and its upkeep loops sleep
            # for up to a minute: end those at once, so only jobs under way hold the shutdown.
            self._worker.event.set()
            for task in self._worker.tasks:
                if task.get_name() != "process":
                    task.cancel()
            await asyncio.gather(worker, *loops, waiting, return_exceptions=True)
        if not worker.cancelled() and worker.exception() is not None:
            raise RuntimeError("the job worker stopped on an error") from worker.exception()

    async def run_until_idle(self, *, max_jobs: int = 10_000) -> int:
        """Run the periodic work, then every job that is due, until neither finds anything to
        do; return how many jobs ran. A retry waiting out its backoff is not due."""
        ran = 0
        while True:
            for periodic in self._periodic:
                await periodic.run()
            await self._queue.schedule()  # retries and scheduled jobs whose time has come
            if not await self._queue.count("queued"):
                # What this run did, as a running worker reports it every few seconds: the
                # metrics show a one-off run's failures for a minute (QueueStats).
                await self._worker.worker_info()
                return ran
            while await self._queue.count("queued"):
                await self._worker.process()
                ran += 1
                if ran > max_jobs:
                    raise RuntimeError(f"more than {max_jobs} jobs ran; is one requeueing itself?")

    async def _repeat(self, periodic: Periodic, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await periodic.run()
            except Exception as error:
                failures += 1
                pause = periodic.pause_after(failures)
                if failures == 1:
                    logger.exception("%s failed; trying again in %ss", periodic.name, pause)
                else:  # the traceback was logged at the first failure of the series
                    logger.warning(
                        "%s failed again (%d in a row: %s); trying again in %ss",
                        periodic.name,
                        failures,
                        error,
                        pause,
                    )
            else:
                if failures:
                    logger.info("%s works again after %d failures", periodic.name, failures)
                failures = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), periodic.pause_after(failures))
