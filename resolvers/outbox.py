"""Emails that are never lost: written to the outbox in the caller's transaction, sent by a job.

`enqueue_email(ctx, message, session=...)` writes the email to the outbox (`documents/outbox.py`)
in the caller's transaction. Once that commits (in a request: once the response has gone), the
entry is handed to the job queue at once: the nudge. The worker's relay hands over whatever the
nudge did not (Redis was down, the process died after the commit) and entries whose worker died
mid-send. The `send_email` job claims the entry, sends it with the `EmailSender` and marks it
SENT; a failed attempt releases it and raises, so the queue runs the job again after an
exponential backoff, until `max_attempts` deliveries have failed (FAILED).

Every step is safe to repeat: the job key is derived from the entry id, so the queue runs one job
per entry however often it is handed over, and the claim lets one job at a time send it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from beanie import PydanticObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError

from documents.common import utc_now
from documents.outbox import (
    EmailPayload,
    OutboxMessage,
    OutboxPolicy,
    add_email,
    claim,
    due_for_relay,
    mark_failed,
    mark_queued,
    mark_sent,
    release_for_retry,
)
from documents.transactions import current_session, in_transaction, run_after_commit
from integrations.email import EmailMessage, EmailSender
from integrations.jobs import (
    JobFunction,
    JobQueue,
    JobQueueUnavailableError,
    Periodic,
    RetryPolicy,
)

if TYPE_CHECKING:
    from datetime import datetime

    from resolvers.context import Context

logger = logging.getLogger("commerce.outbox")

SEND_EMAIL_JOB = "send_email"
_RELAY_BATCH = 100
_SENT_RECORD_WAITS = (0.5, 2.0)  # seconds between tries to record a sent email


class EmailNotSentYetError(Exception):
    """An attempt failed and the entry went back to QUEUED: the queue retries the job."""


def email_job_key(entry_id: PydanticObjectId | None) -> str:
    """The job key of an outbox entry: one job per entry, however often it is handed over."""
    return f"email:{entry_id}"


class EmailOutbox:
    """The process-wide service that hands outbox entries to the job queue and sends them."""

    def __init__(
        self,
        queue: JobQueue,
        *,
        policy: OutboxPolicy,
        retry: RetryPolicy,
        relay_interval_seconds: float,
    ) -> None:
        self.queue = queue
        self.policy = policy
        self.retry = retry
        self.relay_interval_seconds = relay_interval_seconds
        # The queue cancels a job that runs longer; the lease outlasts it, so a cancelled job's
        # entry is not claimed again while its delivery may still be under way.
        self.job_timeout_seconds = max(1, int(policy.lease.total_seconds() // 2))

    async def hand_over(self, entries: list[OutboxMessage], *, now: datetime | None = None) -> int:
        """Enqueue a job for each entry and mark it QUEUED; stop at the first Redis failure (the
        relay tries again). Returns how many were handed over."""
        now = now or utc_now()
        for handed, entry in enumerate(entries):
            try:
                await self.queue.enqueue(
                    SEND_EMAIL_JOB,
                    key=email_job_key(entry.id),
                    kwargs={"message_id": str(entry.id)},
                    retry=self.retry,
                    timeout_seconds=self.job_timeout_seconds,
                )
            except JobQueueUnavailableError as error:
                left = len(entries) - handed
                logger.warning("%s: %d outbox entries wait for the relay", error, left)
                return handed
            await mark_queued(entry, policy=self.policy, now=now)
        return len(entries)

    async def relay(self, *, now: datetime | None = None) -> int:
        """Hand every entry that is due to the queue: PENDING ones, QUEUED ones whose job may
        have been lost, SENDING ones whose lease has expired. Returns how many."""
        handed = 0
        while True:
            due = await due_for_relay(now=now or utc_now(), limit=_RELAY_BATCH)
            done = await self.hand_over(due, now=now)
            handed += done
            if done < _RELAY_BATCH:
                return handed

    async def send(self, sender: EmailSender, message_id: str) -> str:
        """The `send_email` job: claim the entry, send it, record the outcome."""
        claimed = await claim(PydanticObjectId(message_id), policy=self.policy, now=utc_now())
        if claimed is None:
            return "nothing to send"  # sent already, finished, or leased to another job
        # Shielded: once the email service has the request, its answer is recorded even if the
        # queue cancels the job meanwhile (a timeout, a shutdown).
        return await asyncio.shield(self._deliver(sender, claimed))

    async def _deliver(self, sender: EmailSender, claimed: OutboxMessage) -> str:
        email = claimed.payload
        try:
            await sender.send(EmailMessage(email.to, email.subject, email.text, email.html))
        # Any failure, not only the sender's own: an unexpected one is retried and then given up
        # on like the others, instead of leaving the entry leased until its lease runs out.
        except Exception as error:
            attempt, most = claimed.attempts, self.policy.max_attempts
            if attempt >= most:
                await mark_failed(claimed, str(error), now=utc_now())
                logger.error(
                    "email %r to %s not delivered; giving up after %d attempts: %s",
                    email.subject,
                    email.to,
                    attempt,
                    error,
                )
                return "failed"
            await release_for_retry(claimed, str(error), policy=self.policy, now=utc_now())
            logger.error(
                "email %r to %s not delivered (attempt %d of %d; will retry): %s",
                email.subject,
                email.to,
                attempt,
                most,
                error,
            )
            raise EmailNotSentYetError(f"outbox entry {claimed.id}, attempt {attempt}") from None
        await self._record_sent(claimed)
        return "sent"

    async def _record_sent(self, claimed: OutboxMessage) -> None:
        # Losing this write would send the email again once the lease ends: try a little harder.
        for wait in (*_SENT_RECORD_WAITS, None):
            try:
                if not await mark_sent(claimed, policy=self.policy, now=utc_now()):
                    logger.warning(
                        "outbox entry %s was sent after its lease ended; it may be sent twice",
                        claimed.id,
                    )
                return
            except PyMongoError:
                if wait is None:
                    raise
                logger.warning("could not record outbox entry %s as sent; retrying", claimed.id)
                await asyncio.sleep(wait)

    def jobs(self, sender: EmailSender) -> dict[str, JobFunction]:
        """The job that sends the outbox's emails with `sender`, by name."""

        async def send_email(message_id: str) -> str:
            return await self.send(sender, message_id)

        return {SEND_EMAIL_JOB: send_email}

    def periodic(self) -> list[Periodic]:
        return [Periodic("outbox relay", self.relay_interval_seconds, self.relay)]

    async def close(self) -> None:
        await self.queue.close()


async def enqueue_email(
    ctx: Context,
    message: EmailMessage,
    *,
    session: AsyncClientSession | None = None,
    key: str | None = None,
    new_key: bool = False,
) -> OutboxMessage:
    """Send `message` once the caller's transaction commits; never if it aborts.

    The email is written to the outbox in `session`'s transaction (by default, the transaction
    under way, if any; outside one it is written at once). After the commit, and after the
    response in a request, it is handed to the job queue. `key` makes the call idempotent:
    another call with the same key (a retried checkout, a replayed webhook) returns the first
    entry and sends nothing more. Use keys that say what the email is about, such as
    `f"order-confirmation:{order_id}"`. `new_key=True` when the key names something the
    transaction has just created (no entry can have it yet): one MongoDB command fewer.
    """
    outbox: EmailOutbox = ctx.services.outbox
    session = session or current_session()
    payload = EmailPayload(
        to=message.to, subject=message.subject, text=message.text, html=message.html
    )

    async def write(session: AsyncClientSession | None) -> tuple[OutboxMessage, bool]:
        return await add_email(
            payload, policy=outbox.policy, key=key, session=session, new_key=new_key
        )

    if session is None:
        entry, created = await write(None)
    else:
        entry, created = await in_transaction(write, session=session)
    if created:

        async def nudge() -> None:
            try:
                await outbox.hand_over([entry])
            except Exception:
                logger.exception("handing outbox entry %s over failed; the relay will", entry.id)

        await run_after_commit(lambda: _after_the_response(ctx, nudge))
    return entry


async def record_unsent_email(ctx: Context, message: EmailMessage) -> OutboxMessage:
    """Record an email that is never sent (SKIPPED), without its bodies: the same write as
    `enqueue_email`, for flows whose database work must not reveal who gets an email."""
    payload = EmailPayload(to=message.to, subject=message.subject, text="", html="")
    session = current_session()
    entry, _ = await add_email(
        payload, policy=ctx.services.outbox.policy, session=session, send=False
    )
    return entry


async def _after_the_response(ctx: Context, effect: Callable[[], Awaitable[None]]) -> None:
    if ctx.background is not None:
        ctx.background.add_task(effect)
    else:
        await effect()
