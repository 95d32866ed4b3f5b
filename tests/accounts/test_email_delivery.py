"""Account emails through the real SendGrid SDK against a local fake; failures never break a mutation.

Emails go through the outbox and are sent by jobs, which `run_jobs` runs here as a worker would.
Without SendGrid, the stand-in sender logs each email with its link or code (outside production).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from documents.accounts import CodePurpose, OneTimeCode, User, token_hash
from integrations.email import SendGridEmailSender
from settings import Settings
from tests.factories import make_user
from tests.fakes.sendgrid import MAIL_SEND_PATH, FakeSendGrid
from tests.support import graphql, run_jobs, sent_emails

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken
    user { email emailVerified }
    errors { field code message }
  }
}
"""
REQUEST_RESET = """
mutation RequestReset($email: String!) {
  requestPasswordReset(email: $email) { ok errors { field code message } }
}
"""
ME = "{ me { email } }"
ASHA = {"email": "asha@example.com", "password": "a good passphrase", "name": "Asha Rao"}


@pytest.fixture
def sendgrid(replace_services: Callable[..., None]) -> Iterator[FakeSendGrid]:
    """A fake SendGrid, and the app sending through the real SDK to it."""
    with FakeSendGrid() as fake:
        replace_services(
            email=SendGridEmailSender(
                api_key="SG.test",
                from_email="shop@example.com",
                from_name="The Shop",
                host=fake.url,
            )
        )
        yield fake


async def test_register_sends_the_verification_email_through_sendgrid(
    app: Starlette, client: httpx.AsyncClient, sendgrid: FakeSendGrid, settings: Settings
) -> None:
    body = await graphql(client, REGISTER, {"input": ASHA})
    await run_jobs(app)

    assert body["data"]["register"]["errors"] == []
    assert len(sendgrid.requests) == 1
    request = sendgrid.requests[0]
    assert (request.method, request.path) == ("POST", MAIL_SEND_PATH)
    assert request.headers["authorization"] == "Bearer SG.test"
    mail = request.json
    assert mail["from"] == {"email": "shop@example.com", "name": "The Shop"}
    assert mail["personalizations"][0]["to"] == [{"email": "asha@example.com"}]
    assert mail["subject"] == "Confirm your email address"
    contents = {content["type"]: content["value"] for content in mail["content"]}
    assert set(contents) == {"text/plain", "text/html"}
    link = re.search(
        re.escape(settings.frontend_url) + r"/verify-email\?token=([\w-]{40,})",
        contents["text/plain"],
    )
    assert link is not None
    token = link.group(1)
    assert f"verify-email?token={token}" in contents["text/html"]
    # The emailed token is the one the account's verification code was stored for.
    code = await OneTimeCode.find_one(
        OneTimeCode.purpose == CodePurpose.VERIFY_EMAIL, OneTimeCode.code_hash == token_hash(token)
    )
    assert code is not None
    assert code.email == "asha@example.com"


async def test_register_succeeds_and_logs_when_sendgrid_fails(
    app: Starlette,
    client: httpx.AsyncClient,
    sendgrid: FakeSendGrid,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sendgrid.fail_with(500, "mail service is down")

    with caplog.at_level(logging.ERROR):
        body = await graphql(client, REGISTER, {"input": ASHA})
        await run_jobs(app)  # the first attempt; the retry waits out its backoff

    payload = body["data"]["register"]
    assert "errors" not in body
    assert payload["errors"] == []
    assert payload["user"] == {"email": "asha@example.com", "emailVerified": False}
    assert (await graphql(client, ME, token=payload["accessToken"]))["data"]["me"] == {
        "email": "asha@example.com"
    }
    assert await User.find_one(User.email == "asha@example.com") is not None
    assert len(sendgrid.requests) == 1  # it was tried
    failures = [record for record in caplog.records if "not delivered" in record.getMessage()]
    assert len(failures) == 1
    message = failures[0].getMessage()
    assert "asha@example.com" in message
    assert "HTTP 500" in message
    assert "mail service is down" in message
    assert "SG.test" not in caplog.text  # the API key never reaches the log


async def test_register_succeeds_when_sendgrid_cannot_be_reached(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeSendGrid() as stopped:
        address = stopped.url  # a port nothing listens on once the fake has stopped
    replace_services(
        email=SendGridEmailSender(
            api_key="SG.test",
            from_email="shop@example.com",
            from_name="The Shop",
            host=address,
            timeout=2.0,
        )
    )

    with caplog.at_level(logging.ERROR):
        body = await graphql(client, REGISTER, {"input": ASHA})
        await run_jobs(app)

    assert body["data"]["register"]["errors"] == []
    assert await User.find_one(User.email == "asha@example.com") is not None
    assert any("could not be reached" in record.getMessage() for record in caplog.records)


async def test_the_stand_in_log_line_carries_the_verification_link(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="commerce.email"):
        body = await graphql(client, REGISTER, {"input": ASHA})
        [email] = await sent_emails(app, settings, "asha@example.com")

    assert body["data"]["register"]["errors"] == []
    link = re.search(
        re.escape(settings.frontend_url) + r"/verify-email\?token=[\w-]{40,}", email["text"]
    )
    assert link is not None
    [line] = [record.getMessage() for record in caplog.records if record.name == "commerce.email"]
    assert line.startswith("email to asha@example.com: Confirm your email address\n")
    assert link.group(0) in line


async def test_the_stand_in_log_line_carries_the_password_reset_code(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_user("asha@example.com")

    with caplog.at_level(logging.INFO, logger="commerce.email"):
        body = await graphql(client, REQUEST_RESET, {"email": "asha@example.com"})
        [email] = await sent_emails(app, settings, "asha@example.com")

    assert body["data"]["requestPasswordReset"] == {"ok": True, "errors": []}
    otp = re.search(r"Your password reset code is (\d{6})\.", email["text"])
    assert otp is not None
    [line] = [record.getMessage() for record in caplog.records if record.name == "commerce.email"]
    assert line.startswith("email to asha@example.com: ")
    assert f"    Your password reset code is {otp.group(1)}." in line
