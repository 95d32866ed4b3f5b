"""Tests for the email senders: the real SendGrid SDK against a local fake, and the stand-in."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from starlette.applications import Starlette

from integrations.email import (
    EmailDeliveryError,
    EmailMessage,
    SendGridEmailSender,
    StoredEmailSender,
    build_email_sender,
)
from integrations.local_servers import free_port
from settings import Settings
from tests.fakes.sendgrid import FakeSendGrid

API_KEY = "SG.test-key.do-not-leak"
FROM_EMAIL = "shop@example.com"
FROM_NAME = "Example Shop"
MESSAGE = EmailMessage(
    to="customer@example.org",
    subject="Your order #1001",
    text="Thanks for your order.",
    html="<p>Thanks for your order.</p>",
)


@pytest.fixture
def sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
async def sent_emails(
    app: Starlette, settings: Settings
) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    collection: AsyncCollection[dict[str, Any]] = app.state.mongo[settings.mongodb_database][
        "sent_emails_test"
    ]
    yield collection
    await collection.drop()


def _sender(host: str) -> SendGridEmailSender:
    return SendGridEmailSender(API_KEY, FROM_EMAIL, FROM_NAME, host=host)


async def test_sendgrid_posts_the_message_to_mail_send(sendgrid: FakeSendGrid) -> None:
    await _sender(sendgrid.url).send(MESSAGE)

    assert len(sendgrid.requests) == 1
    request = sendgrid.requests[0]
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"] == "application/json"
    body = request.json
    assert body["personalizations"] == [{"to": [{"email": "customer@example.org"}]}]
    assert body["from"] == {"email": FROM_EMAIL, "name": FROM_NAME}
    assert body["subject"] == "Your order #1001"
    assert body["content"] == [
        {"type": "text/plain", "value": "Thanks for your order."},
        {"type": "text/html", "value": "<p>Thanks for your order.</p>"},
    ]


async def test_sendgrid_rejection_raises_without_the_api_key(sendgrid: FakeSendGrid) -> None:
    sendgrid.fail_with(401, "The provided authorization grant is invalid, expired, or revoked")

    with pytest.raises(EmailDeliveryError) as raised:
        await _sender(sendgrid.url).send(MESSAGE)

    message = str(raised.value)
    assert "401" in message
    assert "authorization grant is invalid" in message
    assert API_KEY not in message
    assert len(sendgrid.requests) == 1


async def test_sendgrid_error_echoing_the_key_is_redacted(sendgrid: FakeSendGrid) -> None:
    sendgrid.fail_with(400, f"bad key {API_KEY}")

    with pytest.raises(EmailDeliveryError) as raised:
        await _sender(sendgrid.url).send(MESSAGE)

    assert API_KEY not in str(raised.value)
    assert "400" in str(raised.value)


async def test_sendgrid_unreachable_host_raises() -> None:
    nothing_listening = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(EmailDeliveryError) as raised:
        await _sender(nothing_listening).send(MESSAGE)

    assert "could not be reached" in str(raised.value)
    assert API_KEY not in str(raised.value)


async def test_the_stand_in_stores_the_message_and_logs_it(
    sent_emails: AsyncCollection[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    sender = StoredEmailSender(sent_emails)
    before = datetime.now(UTC)

    with caplog.at_level(logging.INFO, logger="commerce.email"):
        await sender.send(MESSAGE)

    documents = await sent_emails.find({}, {"_id": 0}).to_list()
    assert len(documents) == 1
    stored = documents[0]
    created_at = stored.pop("created_at")
    assert stored == {
        "to": "customer@example.org",
        "subject": "Your order #1001",
        "text": "Thanks for your order.",
        "html": "<p>Thanks for your order.</p>",
    }
    # MongoDB keeps milliseconds, so the stored time may sit just below ``before``.
    assert before - timedelta(milliseconds=1) <= created_at <= datetime.now(UTC)
    assert [(record.name, record.levelno, record.getMessage()) for record in caplog.records] == [
        ("commerce.email", logging.INFO, "email to customer@example.org: Your order #1001")
    ]


async def test_the_stand_in_logs_the_plain_text_body_when_asked(
    sent_emails: AsyncCollection[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    message = EmailMessage(
        to="customer@example.org",
        subject="Confirm your email address",
        text="Hello,\n\nhttp://localhost:3000/verify-email?token=abc123",
        html="<p>Hello,</p>",
    )

    with caplog.at_level(logging.INFO, logger="commerce.email"):
        await StoredEmailSender(sent_emails, log_bodies=True).send(message)

    assert [record.getMessage() for record in caplog.records] == [
        "email to customer@example.org: Confirm your email address\n"
        "    Hello,\n"
        "\n"
        "    http://localhost:3000/verify-email?token=abc123"
    ]


async def test_build_passes_the_body_logging_choice_to_the_stand_in(
    sent_emails: AsyncCollection[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    options: dict[str, Any] = {
        "sendgrid_api_key": None,
        "from_email": FROM_EMAIL,
        "from_name": FROM_NAME,
        "sendgrid_host": "https://api.sendgrid.com",
        "sent_emails": sent_emails,
    }

    with caplog.at_level(logging.INFO, logger="commerce.email"):
        await build_email_sender(**options, log_bodies=True).send(MESSAGE)
        await build_email_sender(**options, log_bodies=False).send(MESSAGE)
        await build_email_sender(**options).send(MESSAGE)

    assert [record.getMessage() for record in caplog.records] == [
        "email to customer@example.org: Your order #1001\n    Thanks for your order.",
        "email to customer@example.org: Your order #1001",
        "email to customer@example.org: Your order #1001",
    ]


async def test_build_picks_sendgrid_with_a_key_and_the_stand_in_without(
    sent_emails: AsyncCollection[dict[str, Any]],
) -> None:
    options: dict[str, Any] = {
        "from_email": FROM_EMAIL,
        "from_name": FROM_NAME,
        "sendgrid_host": "https://api.sendgrid.com",
        "sent_emails": sent_emails,
    }

    assert build_email_sender(sendgrid_api_key=API_KEY, **options).name == "sendgrid"
    assert build_email_sender(sendgrid_api_key=None, **options).name == "stored"
    assert build_email_sender(sendgrid_api_key="", **options).name == "stored"
