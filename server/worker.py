"""The job worker process: `python -m server worker`, and the one `make run` starts beside the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys

from integrations.local_servers import spawn_attached
from resolvers.jobs import build_worker
from server.app import (
    build_services,
    connect_cache_redis,
    connect_mongo,
    connect_redis,
    describe_email,
    describe_payments,
    init_documents,
    refuse_mismatched_redis,
)
from server.search import search_follower
from settings import Settings

logger = logging.getLogger("commerce")
# How long jobs under way get to finish when a worker stops, and how long `run` waits for that.
WORKER_SHUTDOWN_GRACE_SECONDS = 20.0


async def run_worker(settings: Settings, *, once: bool = False) -> int:
    """Run jobs (emails, refunds), the periodic work (outbox relay, payment sweep) and the search
    index's follower until SIGINT or SIGTERM (jobs under way then get
    WORKER_SHUTDOWN_GRACE_SECONDS to finish); with `once`, do what is due and return."""
    mongo = connect_mongo(settings)
    redis = connect_redis(settings)
    cache_redis = connect_cache_redis(settings, redis)
    services = None
    try:
        await refuse_mismatched_redis(settings)
        await init_documents(mongo, settings)
        services = build_services(settings, mongo, redis, cache_redis)
        outbox = services.outbox
        describe_email(services.email)
        describe_payments(services.payments)
        worker = build_worker(
            settings,
            services,
            concurrency=settings.worker_concurrency,
            shutdown_grace_seconds=WORKER_SHUTDOWN_GRACE_SECONDS,
        )
        async with search_follower(settings, services.query_cache) as follower:
            if once:
                if follower is not None:
                    await follower.catch_up()
                ran = await worker.run_until_idle()
                logger.info("worker: ran %d jobs; nothing else is due", ran)
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            logger.info(
                "worker: running jobs from the %s queue (%d at a time), outbox relay every %ss%s; "
                "Ctrl-C or SIGTERM stops it",
                outbox.queue.name,
                settings.worker_concurrency,
                settings.outbox_relay_interval_seconds,
                "" if follower is None else ", keeping the search index",
            )
            following = None if follower is None else asyncio.create_task(follower.run(stop))
            try:
                await worker.run_until_stopped(stop)
            finally:
                stop.set()
                if following is not None:
                    # A rebuild under way (a million products take minutes) is given up: the
                    # index keeps its last commit, and the next start rebuilds again.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(following, WORKER_SHUTDOWN_GRACE_SECONDS)
        logger.info("worker: stopped")
        return 0
    finally:
        if services is not None:
            await services.outbox.close()
            await services.rate_limiter.close()
        if cache_redis is not redis:
            await cache_redis.aclose()
        await redis.aclose()
        await mongo.close()


def start_worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    """`python -m server worker` as a child sharing this terminal, for `run`."""
    assert settings.mongodb_uri
    assert settings.redis_url
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "REDIS_URL": settings.redis_url}
    if settings.cache_redis_url:
        env["CACHE_REDIS_URL"] = settings.cache_redis_url
    process = spawn_attached([sys.executable, "-m", "server", "worker"], env=env)
    logger.info("started the job worker (pid %d); Ctrl-C stops it with the API", process.pid)
    return process


def stop_worker_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=WORKER_SHUTDOWN_GRACE_SECONDS + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    logger.info("stopped the job worker")
