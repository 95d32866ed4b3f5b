"""The emails accounts send, in plain text and HTML."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from integrations.email import EmailMessage
from resolvers.context import Context
from resolvers.outbox import enqueue_email, record_unsent_email


def _paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{html.escape(text)}</p>" for text in texts)


def email_html(
    paragraphs: list[str],
    *,
    action: tuple[str, str] | None = None,
    closing: list[str] | None = None,
) -> str:
    """One HTML document: the paragraphs, then the action's link, then the closing paragraphs."""
    body = _paragraphs(paragraphs)
    if action:
        label, url = action
        body += f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'
    body += _paragraphs(closing or [])
    return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


def verification_email(ctx: Context, *, to: str, name: str, token: str) -> EmailMessage:
    link = f"{ctx.settings.frontend_url}/verify-email?{urlencode({'token': token})}"
    hours = ctx.settings.email_verification_hours
    lines = [f"Hello {name},", "Confirm your email address to finish setting up your account."]
    closing = f"The link works for {hours} hours. If you did not sign up, ignore this email."
    return EmailMessage(
        to=to,
        subject="Confirm your email address",
        text="\n\n".join([*lines, link, closing]),
        html=email_html(lines, action=("Confirm email address", link), closing=[closing]),
    )


def password_reset_email(ctx: Context, *, to: str, otp: str) -> EmailMessage:
    minutes = ctx.settings.password_reset_minutes
    lines = [
        f"Your password reset code is {otp}.",
        f"It works once, for {minutes} minutes.",
        "If you did not ask to reset your password, ignore this email: nothing changes.",
    ]
    return EmailMessage(
        to=to,
        # No code in the subject: subjects are logged (delivery failures, the outbox in production).
        subject="Your password reset code",
        text="\n\n".join(lines),
        html=email_html(lines),
    )


def password_changed_email(ctx: Context, *, to: str, name: str) -> EmailMessage:
    lines = [
        f"Hello {name},",
        "The password of your account was just changed, and you were signed out everywhere else.",
        "If this was not you, reset your password now and contact us.",
    ]
    return EmailMessage(
        to=to, subject="Your password was changed", text="\n\n".join(lines), html=email_html(lines)
    )


async def deliver(ctx: Context, message: EmailMessage, *, send: bool = True) -> None:
    """Send through the outbox: written in the transaction under way (if any), handed to the job
    queue once that commits and the response has gone out, so the answer's timing says nothing
    about the email, and never sent for a change that was rolled back. Failed deliveries are
    retried with a backoff (README, "Jobs").

    `send=False` records the email without sending it: the same database work, for answers that
    must not reveal whether an account exists.
    """
    if send:
        await enqueue_email(ctx, message)
    else:
        await record_unsent_email(ctx, message)
