"""The email outbox: written in the caller's transaction, sent by jobs exactly once, whatever
fails in between (the email service, Redis, a worker).

Jobs run in this process through `run_jobs`, as a worker would run them; emails go through the
real SendGrid SDK to a local fake, which records what it accepted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.client_session import AsyncClientSession
from starlette.applications import Starlette

from documents.catalog import Category
from documents.common import utc_now
from documents.outbox import EmailPayload, OutboxMessage, OutboxStatus, add_email, claim
from documents.transactions import in_transaction
from integrations.email import EmailMessage, SendGridEmailSender
from integrations.local_servers import free_port, start_redis
from resolvers.context import Context, new_context
from resolvers.outbox import EmailOutbox, email_job_key, enqueue_email, record_unsent_email
from server import build_outbox
from settings import Settings
from tests.factories import make_category
from tests.fakes.sendgrid import FakeSendGrid
from tests.support import run_jobs

ORDER_PLACED = EmailMessage(
    to="asha@example.com",
    subject="Order #1001 placed",
    text="Thanks for your order.",
    html="<p>Thanks for your order.</p>",
)


class RefusedError(Exception):
    pass


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
async def use_outbox(
    settings: Settings, sendgrid: FakeSendGrid, replace_services: Callable[..., None]
) -> AsyncIterator[Callable[..., EmailOutbox]]:
    """Serve with an outbox built from the test settings with the given changes, sending
    through the fake SendGrid."""
    built: list[EmailOutbox] = []

    def use(**changes: Any) -> EmailOutbox:
        outbox = build_outbox(settings.model_copy(update=changes))
        built.append(outbox)
        sender = SendGridEmailSender("SG.test", "shop@example.com", "Shop", host=sendgrid.url)
        replace_services(outbox=outbox, email=sender)
        return outbox

    yield use
    for outbox in built:
        await outbox.close()


def context(app: Starlette, settings: Settings) -> Context:
    """A context outside any request, as a webhook or a sweep would have."""
    return new_context(settings=settings, services=app.state.services, request_id="test")


async def place_order(
    ctx: Context, category: Category, *, key: str | None = None, fail: bool = False
) -> OutboxMessage:
    """A stand-in for checkout: one write and its email in one transaction."""

    async def work(session: AsyncClientSession) -> OutboxMessage:
        await Category.get_pymongo_collection().update_one(
            {"_id": category.id}, {"$set": {"name": "Shoes, ordered"}}, session=session
        )
        entry = await enqueue_email(ctx, ORDER_PLACED, session=session, key=key)
        if fail:
            raise RefusedError
        return entry

    return await in_transaction(work)


async def stored(entry: OutboxMessage) -> OutboxMessage:
    found = await OutboxMessage.get(entry.id)
    assert found is not None
    return found


async def test_an_email_enqueued_in_a_transaction_is_sent_once_after_the_commit(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    use_outbox()
    category = await make_category("Shoes")

    entry = await place_order(context(app, settings), category)

    assert (await stored(entry)).status is OutboxStatus.QUEUED  # nudged after the commit
    assert await run_jobs(app) == 1
    assert await run_jobs(app) == 0
    [mail] = [request.json for request in sendgrid.accepted]
    assert mail["subject"] == "Order #1001 placed"
    assert mail["personalizations"][0]["to"] == [{"email": "asha@example.com"}]
    sent = await stored(entry)
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 1, None)
    assert sent.sent_at is not None
    assert sent.delete_after == sent.sent_at + timedelta(days=settings.outbox_retention_days)


async def test_an_aborted_transaction_writes_no_outbox_entry_and_queues_nothing(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    outbox = use_outbox()
    category = await make_category("Shoes")

    with pytest.raises(RefusedError):
        await place_order(context(app, settings), category, fail=True)

    assert await OutboxMessage.count() == 0
    assert await outbox.queue.queued_count() == 0
    assert await run_jobs(app) == 0
    assert sendgrid.requests == []


async def test_sendgrid_failing_three_times_then_accepting_delivers_exactly_one_email(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    # No waiting between attempts, so the retries are due at once; the backoff is tested below.
    outbox = use_outbox(email_retry_delay_seconds=0, email_max_attempts=5)
    sendgrid.fail_next(3, 500, "mail service is down")

    entry = await place_order(context(app, settings), await make_category("Shoes"))
    assert await run_jobs(app) == 4

    assert len(sendgrid.requests) == 4
    assert len(sendgrid.accepted) == 1
    sent = await stored(entry)
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 4)
    assert sent.last_error == "SendGrid answered HTTP 500: mail service is down"
    assert await outbox.queue.job_status(email_job_key(entry.id)) == ("complete", 4)


async def test_an_email_that_keeps_failing_is_failed_after_its_last_attempt(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox = use_outbox(email_retry_delay_seconds=0, email_max_attempts=3)
    sendgrid.fail_with(503, "try later")
    entry = await place_order(context(app, settings), await make_category("Shoes"))

    with caplog.at_level(logging.ERROR, logger="commerce.outbox"):
        await run_jobs(app)
        await outbox.relay(now=utc_now() + timedelta(days=1))  # nothing left for the relay

    assert len(sendgrid.requests) == 3
    failed = await stored(entry)
    assert (failed.status, failed.attempts, failed.next_relay_at) == (OutboxStatus.FAILED, 3, None)
    assert failed.last_error == "SendGrid answered HTTP 503: try later"
    assert "giving up after 3 attempts" in caplog.records[-1].getMessage()


async def test_a_failed_attempt_waits_out_its_backoff_before_the_retry(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    # The first retry waits a random time up to 600 s (then 1200 s, ...): not yet due.
    outbox = use_outbox(email_retry_delay_seconds=600)
    sendgrid.fail_next(1)
    entry = await place_order(context(app, settings), await make_category("Shoes"))

    assert await run_jobs(app) == 1
    assert await run_jobs(app) == 0

    assert len(sendgrid.requests) == 1
    waiting = await stored(entry)
    assert (waiting.status, waiting.attempts) == (OutboxStatus.QUEUED, 1)
    assert await outbox.queue.job_status(email_job_key(entry.id)) == ("queued", 1)
    assert await outbox.queue.queued_count() == 0  # scheduled for later, not waiting in line
    # The relay, handing the entry over again meanwhile, does not cut the backoff short.
    assert await outbox.relay(now=utc_now() + timedelta(seconds=301)) == 1
    assert await outbox.queue.queued_count() == 0


async def test_a_redis_outage_delays_an_email_but_never_loses_or_doubles_it(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    redis = start_redis(tmp_path / "redis", port)
    outbox = use_outbox(redis_url=redis.uri)
    category = await make_category("Shoes")
    redis.stop()

    with caplog.at_level(logging.WARNING, logger="commerce.outbox"):
        entry = await place_order(context(app, settings), category)
        handed_while_down = await outbox.relay()

    ordered = await Category.get(category.id)
    assert ordered is not None
    assert ordered.name == "Shoes, ordered"
    assert (await stored(entry)).status is OutboxStatus.PENDING
    assert handed_while_down == 0
    assert "outbox entries wait for the relay" in caplog.text
    assert sendgrid.requests == []

    redis = start_redis(tmp_path / "redis", port)  # back, and empty
    try:
        assert await run_jobs(app) == 1
        assert await run_jobs(app) == 0
    finally:
        redis.stop()

    assert len(sendgrid.accepted) == 1
    assert (await stored(entry)).status is OutboxStatus.SENT


async def test_a_worker_that_died_after_claiming_is_retried_once_its_lease_has_expired(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    outbox = use_outbox()
    entry = await place_order(context(app, settings), await make_category("Shoes"))
    # A worker claims the entry and dies before sending: its lease is left behind.
    abandoned = await claim(entry.id, policy=outbox.policy, now=utc_now())
    assert abandoned is not None
    assert abandoned.lease_expires_at is not None

    assert await run_jobs(app) == 1  # the queued job finds the entry leased, and leaves it
    assert sendgrid.requests == []
    assert (await stored(entry)).status is OutboxStatus.SENDING
    assert await outbox.relay(now=abandoned.lease_expires_at - timedelta(seconds=1)) == 0

    assert await outbox.relay(now=abandoned.lease_expires_at) == 1
    assert await run_jobs(app) == 1

    assert len(sendgrid.accepted) == 1
    sent = await stored(entry)
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 2)


async def test_handing_one_entry_over_again_and_again_sends_it_once(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    outbox = use_outbox()
    entry = await place_order(context(app, settings), await make_category("Shoes"))

    # The nudge handed it over already; the queue keeps one job per entry.
    assert await outbox.queue.queued_count() == 1
    await outbox.hand_over([entry])
    await outbox.hand_over([await stored(entry)])
    assert await outbox.queue.queued_count() == 1
    await run_jobs(app)
    # Once sent, a late hand-over (a slow relay) runs a job that finds nothing to send.
    await outbox.hand_over([entry])
    assert await run_jobs(app) == 1

    assert len(sendgrid.requests) == 1
    assert (await stored(entry)).attempts == 1


async def test_the_same_key_twice_writes_one_entry_and_sends_one_email(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    use_outbox()
    ctx = context(app, settings)
    category = await make_category("Shoes")

    first = await place_order(ctx, category, key="order-placed:1001")
    again = await place_order(ctx, category, key="order-placed:1001")  # a retried checkout
    await run_jobs(app)

    assert again.id == first.id
    assert await OutboxMessage.count() == 1
    assert len(sendgrid.accepted) == 1


async def test_the_relay_sends_what_was_never_handed_over(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    # As if the process died between the commit and the nudge.
    outbox = use_outbox()
    payload = EmailPayload(to="asha@example.com", subject="Hello", text="t", html="<p>t</p>")
    entry, created = await add_email(payload, policy=outbox.policy)

    assert created
    assert await run_jobs(app) == 1
    assert len(sendgrid.accepted) == 1
    assert (await stored(entry)).status is OutboxStatus.SENT


async def test_an_unsent_email_is_recorded_without_its_bodies_and_never_sent(
    app: Starlette,
    settings: Settings,
    sendgrid: FakeSendGrid,
    use_outbox: Callable[..., EmailOutbox],
) -> None:
    use_outbox()

    entry = await record_unsent_email(context(app, settings), ORDER_PLACED)
    await run_jobs(app)

    skipped = await stored(entry)
    assert skipped.status is OutboxStatus.SKIPPED
    assert skipped.payload == EmailPayload(
        to="asha@example.com", subject="Order #1001 placed", text="", html=""
    )
    assert skipped.next_relay_at is None
    assert skipped.delete_after is not None
    assert sendgrid.requests == []


async def test_a_message_that_kills_its_jobs_is_not_claimed_again_once_out_of_attempts(
    app: Starlette, settings: Settings, use_outbox: Callable[..., EmailOutbox]
) -> None:
    outbox = use_outbox(email_max_attempts=2)
    entry = await place_order(context(app, settings), await make_category("Shoes"))
    for _ in range(2):  # two jobs claim it and die mid-send
        claimed = await claim(entry.id, policy=outbox.policy, now=utc_now())
        assert claimed is not None
        await OutboxMessage.get_pymongo_collection().update_one(
            {"_id": entry.id}, {"$set": {"lease_expires_at": utc_now() - timedelta(seconds=1)}}
        )

    assert await claim(entry.id, policy=outbox.policy, now=utc_now()) is None
    assert (await stored(entry)).attempts == 2


async def test_an_unexpected_sender_error_is_retried_then_failed(
    app: Starlette,
    settings: Settings,
    use_outbox: Callable[..., EmailOutbox],
    replace_services: Callable[..., None],
) -> None:
    outbox = use_outbox(email_retry_delay_seconds=0, email_max_attempts=2)

    class BrokenSender:
        name = "broken"

        async def send(self, message: EmailMessage) -> None:
            raise ValueError("a bug in the sender")

    replace_services(outbox=outbox, email=BrokenSender())
    entry = await place_order(context(app, settings), await make_category("Shoes"))

    await run_jobs(app)

    failed = await stored(entry)
    assert (failed.status, failed.attempts, failed.last_error) == (
        OutboxStatus.FAILED,
        2,
        "a bug in the sender",
    )
