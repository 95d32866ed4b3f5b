"""The job worker's periodic work (the outbox relay, the payment sweep) when it keeps failing, as it
does while MongoDB is down: it backs off instead of failing at full rate, logs the traceback once
and then one line per failure, and says when it works again."""

from __future__ import annotations

import asyncio
import logging

import pytest
from starlette.applications import Starlette

from integrations.jobs import PERIODIC_MAX_BACKOFF_SECONDS, Periodic


async def _nothing() -> None:
    return None


def test_each_failure_in_a_row_doubles_the_pause_up_to_a_ceiling() -> None:
    relay = Periodic("outbox relay", 5.0, _nothing)
    sweep = Periodic("payment sweep", 600.0, _nothing)

    pauses = [relay.pause_after(failures) for failures in range(9)]

    assert pauses == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert PERIODIC_MAX_BACKOFF_SECONDS == 300
    # An interval longer than the ceiling stays the pause.
    assert [sweep.pause_after(failures) for failures in (0, 1, 5)] == [600, 600, 600]


async def test_a_failing_task_logs_its_traceback_once_then_a_line_per_failure(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes = [RuntimeError("MongoDB is down")] * 3 + [None]
    runs: list[int] = []
    stop = asyncio.Event()

    async def relay() -> None:
        runs.append(len(runs) + 1)
        if (outcome := outcomes[len(runs) - 1]) is not None:
            raise outcome
        stop.set()

    # A tiny interval, so that the pauses (doubled per failure) stay tiny too.
    periodic = Periodic("outbox relay", 0.001, relay)
    worker = app.state.services.outbox.queue.worker(
        {}, concurrency=1, periodic=[periodic], shutdown_grace_seconds=1
    )

    with caplog.at_level(logging.INFO, logger="commerce.jobs"):
        await worker.run_until_stopped(stop)

    assert runs == [1, 2, 3, 4]
    logged = [
        (record.levelname, record.exc_info is not None, record.getMessage())
        for record in caplog.records
        if record.name == "commerce.jobs"
    ]
    assert logged == [
        ("ERROR", True, "outbox relay failed; trying again in 0.002s"),
        (
            "WARNING",
            False,
            "outbox relay failed again (2 in a row: MongoDB is down); trying again in 0.004s",
        ),
        (
            "WARNING",
            False,
            "outbox relay failed again (3 in a row: MongoDB is down); trying again in 0.008s",
        ),
        ("INFO", False, "outbox relay works again after 3 failures"),
    ]
