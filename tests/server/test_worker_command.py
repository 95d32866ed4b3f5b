"""`python -m server worker`: sends the outbox's emails; `--once` sends what is due and exits,
and without it the worker runs until SIGINT (Ctrl-C) or SIGTERM and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette

from documents.outbox import EmailPayload, OutboxMessage, OutboxPolicy, OutboxStatus, add_email
from settings import Settings

ROOT = Path(__file__).parent.parent.parent
pytestmark = pytest.mark.usefixtures("app")


def worker_environment(settings: Settings) -> dict[str, str]:
    """The test servers, database and key prefix: a worker of this test run."""
    assert settings.mongodb_uri
    assert settings.redis_url
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ENVIRONMENT": "test",
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "DATA_DIR": str(settings.data_dir),
    }


async def pending_email(settings: Settings, subject: str) -> OutboxMessage:
    """An outbox entry nobody has handed to the queue yet: only the worker's relay will."""
    policy = OutboxPolicy(
        lease=timedelta(minutes=1),
        requeue_after=timedelta(minutes=5),
        retention=timedelta(days=1),
        max_attempts=3,
    )
    payload = EmailPayload(to="asha@example.com", subject=subject, text="t", html="<p>t</p>")
    entry, _ = await add_email(payload, policy=policy)
    return entry


async def status_of(entry: OutboxMessage) -> OutboxStatus:
    found = await OutboxMessage.get(entry.id)
    assert found is not None
    return found.status


async def test_worker_once_sends_what_is_due_and_exits(app: Starlette, settings: Settings) -> None:
    entry = await pending_email(settings, "Sent by a one-off worker")

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server", "worker", "--once"],
        cwd=ROOT,
        env=worker_environment(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "worker: ran 1 jobs" in result.stderr
    assert await status_of(entry) is OutboxStatus.SENT
    sent = app.state.mongo[settings.mongodb_database]["sent_emails"]
    assert await sent.count_documents({"subject": "Sent by a one-off worker"}) == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_the_worker_sends_while_it_runs_and_stops_on_a_signal(
    settings: Settings, stop_signal: signal.Signals
) -> None:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "worker",
        cwd=ROOT,
        env={**worker_environment(settings), "OUTBOX_RELAY_INTERVAL_SECONDS": "0.2"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert worker.stdout is not None
    try:
        started = await asyncio.wait_for(read_until(worker.stdout, "worker: running"), 30)
        entry = await pending_email(settings, "Sent by a running worker")
        # The relay (every 0.2 s) hands it over; the job sends it, and saq logs that it finished.
        sent = await asyncio.wait_for(
            read_until(worker.stdout, "Finished Job<function: send_email"), 30
        )
        assert await status_of(entry) is OutboxStatus.SENT

        worker.send_signal(stop_signal)
        rest, _ = await asyncio.wait_for(worker.communicate(), 30)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()

    output = started + sent + rest.decode()
    assert worker.returncode == 0, output
    assert "email to asha@example.com: Sent by a running worker" in output
    assert "worker: stopped" in output
    assert "Traceback" not in output


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    """The lines read up to and including the first one containing `text`."""
    lines = []
    while line := (await stream.readline()).decode():
        lines.append(line)
        if text in line:
            return "".join(lines)
    raise AssertionError(f"the output ended before {text!r}:\n{''.join(lines)}")
