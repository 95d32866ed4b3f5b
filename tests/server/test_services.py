"""The composition root picks each integration, and how it behaves, from the settings."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette

from integrations.email import EmailMessage
from resolvers.accounts.emails import password_reset_email
from resolvers.context import new_context
from server import build_services
from settings import Environment, Settings

MESSAGE = EmailMessage(
    to="asha@example.com",
    subject="Your password reset code",
    text="Your password reset code is 123456.",
    html="<p>Your password reset code is 123456.</p>",
)
SUBJECT_LINE = "email to asha@example.com: Your password reset code"
WITH_BODY = f"{SUBJECT_LINE}\n    Your password reset code is 123456."


@pytest.mark.parametrize(
    ("environment", "logged"),
    [
        (Environment.DEVELOPMENT, WITH_BODY),
        (Environment.TEST, WITH_BODY),
        # Production may run without SENDGRID_API_KEY; its log must not collect one-time codes.
        (Environment.PRODUCTION, SUBJECT_LINE),
    ],
)
async def test_the_stand_in_logs_email_bodies_outside_production_only(
    app: Starlette,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    environment: Environment,
    logged: str,
) -> None:
    configured = settings.model_copy(update={"environment": environment})
    services = build_services(configured, app.state.mongo, app.state.redis)

    with caplog.at_level(logging.INFO, logger="commerce.email"):
        await services.email.send(MESSAGE)

    assert services.email.name == "stored"
    assert [record.getMessage() for record in caplog.records] == [logged]


async def test_a_production_log_never_holds_a_reset_code(
    app: Starlette, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    services = build_services(production, app.state.mongo, app.state.redis)
    ctx = new_context(settings=production, services=services, request_id="test")
    message = password_reset_email(ctx, to="asha@example.com", otp="493817")

    with caplog.at_level(logging.INFO):
        await services.email.send(message)

    assert "493817" in message.text
    assert caplog.records
    assert all("493817" not in record.getMessage() for record in caplog.records)
