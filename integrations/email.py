"""Outgoing email: SendGrid in production, a stand-in that stores each email in development.

``build_email_sender`` picks the implementation once, from settings. Both raise
``EmailDeliveryError`` when a message could not be handed over.

This module deliberately imports nothing from the project.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import From, Mail

__all__ = [
    "EmailDeliveryError",
    "EmailMessage",
    "EmailSender",
    "SendGridEmailSender",
    "StoredEmailSender",
    "build_email_sender",
]

logger = logging.getLogger("commerce.email")

SENDGRID_HOST = "https://api.sendgrid.com"
_DEFAULT_TIMEOUT = 10.0
_ERROR_DETAIL_CHARS = 300


@dataclass(frozen=True)
class EmailMessage:
    """One email to one recipient, with a plain-text and an HTML body."""

    to: str
    subject: str
    text: str
    html: str


class EmailDeliveryError(Exception):
    """The message could not be handed over to the email service."""


class EmailSender(Protocol):
    """Sends an ``EmailMessage``; ``name`` says which implementation runs (shown at startup)."""

    name: str

    async def send(self, message: EmailMessage) -> None:
        """Hand the message over for delivery; raise ``EmailDeliveryError`` on failure."""
        ...


class SendGridEmailSender:
    """Sends through SendGrid's v3 Mail Send API with the official (blocking) SDK."""

    name = "sendgrid"

    def __init__(
        self,
        api_key: str,
        from_email: str,
        from_name: str,
        host: str = SENDGRID_HOST,
        *,
        timeout: float = _DEFAULT_TIMEOUT,
    ) -> None:
        # The SDK silently falls back to the SENDGRID_API_KEY variable when given no key.
        if not api_key:
            raise ValueError("SendGridEmailSender needs a non-empty API key")
        self._api_key = api_key
        self._from = (from_email, from_name)
        self._client = SendGridAPIClient(api_key=api_key, host=host.rstrip("/"))
        # The SDK has no timeout of its own; without one a stalled request pins a thread forever.
        self._client.client.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` via SendGrid; raise ``EmailDeliveryError`` unless it answers 2xx.

        The SDK call runs in a worker thread. Error messages never contain the API key.
        """
        mail = Mail(
            from_email=From(*self._from),
            to_emails=message.to,
            subject=message.subject,
            plain_text_content=message.text,
            html_content=message.html,
        )
        try:
            response = await asyncio.to_thread(self._client.send, mail)
        except HTTPError as exc:
            detail = _sendgrid_error_detail(exc.body)
            raise EmailDeliveryError(
                self._redact(f"SendGrid answered HTTP {exc.status_code}: {detail}")
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            # URLError, refused connections and timeouts are OSErrors; a malformed answer is not.
            raise EmailDeliveryError(self._redact(f"SendGrid could not be reached: {exc}")) from exc
        status = int(response.status_code)
        if not 200 <= status < 300:
            raise EmailDeliveryError(f"SendGrid answered HTTP {status}")

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")


class StoredEmailSender:
    """Development stand-in: stores each message in a MongoDB collection (the mail "sent") and
    logs it; nothing leaves the machine.

    With ``log_bodies``, the log line carries the plain-text body too, so a developer can follow
    a verification link or use a reset code straight from the server log. Bodies hold one-time
    secrets, so the builder turns this off in production.
    """

    name = "stored"

    def __init__(
        self, collection: AsyncCollection[dict[str, Any]], *, log_bodies: bool = False
    ) -> None:
        self._collection = collection
        self._log_bodies = log_bodies

    async def send(self, message: EmailMessage) -> None:
        """Insert ``message`` with a UTC ``created_at``; raise ``EmailDeliveryError`` on failure."""
        document: dict[str, Any] = {
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "created_at": datetime.now(UTC),
        }
        try:
            await self._collection.insert_one(document)
        except PyMongoError as exc:
            raise EmailDeliveryError(f"Could not store the email: {exc}") from exc
        if self._log_bodies:
            logger.info(
                "email to %s: %s\n%s",
                message.to,
                message.subject,
                textwrap.indent(message.text, "    "),
            )
        else:
            logger.info("email to %s: %s", message.to, message.subject)


def build_email_sender(
    *,
    sendgrid_api_key: str | None,
    from_email: str,
    from_name: str,
    sendgrid_host: str,
    sent_emails: AsyncCollection[dict[str, Any]],
    log_bodies: bool = False,
) -> EmailSender:
    """Return the SendGrid sender when an API key is set, else the stand-in storing emails in
    ``sent_emails``.

    ``log_bodies`` makes the stand-in log each message's plain text (links, codes); pass it only
    where the log is not a place for one-time secrets, i.e. outside production.
    """
    if sendgrid_api_key:
        return SendGridEmailSender(sendgrid_api_key, from_email, from_name, sendgrid_host)
    return StoredEmailSender(sent_emails, log_bodies=log_bodies)


def _sendgrid_error_detail(body: bytes | str | None) -> str:
    # SendGrid explains failures as {"errors": [{"message": ..., "field": ..., "help": ...}]}.
    raw = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body or ""
    try:
        errors = json.loads(raw)["errors"]
        messages = [str(error["message"]) for error in errors]
    except (ValueError, KeyError, TypeError):
        messages = []
    detail = "; ".join(messages) or raw.strip() or "no details"
    return detail[:_ERROR_DETAIL_CHARS]
