"""`POST /webhooks/razorpay`: the provider's news of payments and refunds.

The signature (`X-Razorpay-Signature`, HMAC-SHA256 of the raw body with the webhook secret) is
checked before anything is read; a forged or missing one is 400 and changes nothing. The event
id (`X-Razorpay-Event-Id`) is recorded in the transaction that applies the event, so a replay
does nothing. The work is a few database writes; emails and refunds go to the job queue, so the
answer comes in milliseconds, well within the provider's timeout.
"""

from __future__ import annotations

import logging

from pymongo.errors import PyMongoError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.payments.flow import receive_webhook
from schema.request_context import context_for_request

__all__ = ["WEBHOOK_PATH", "razorpay_webhook"]

logger = logging.getLogger("commerce.payments")

WEBHOOK_PATH = "/webhooks/razorpay"
# Razorpay's bodies are a few kilobytes; anything far larger is not from it.
MAX_WEBHOOK_BYTES = 256 * 1024
_MAX_EVENT_ID = 100


def _refuse(reason: str, status: int = 400) -> Response:
    return JSONResponse(
        {"error": reason}, status_code=status, headers={"Cache-Control": "no-store"}
    )


async def razorpay_webhook(request: Request) -> Response:
    payments = request.app.state.services.payments
    if not payments.enabled:
        return _refuse("online payments are not configured", 404)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        return _refuse("body too large", 413)
    body = b""
    async for chunk in request.stream():  # a body sent without its length is capped as it comes
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return _refuse("body too large", 413)
    signature = request.headers.get("x-razorpay-signature", "")
    if not signature or not payments.provider.webhook_signature_valid(body, signature):
        logger.warning("webhook refused: bad or missing signature")
        return _refuse("invalid signature")
    event_id = request.headers.get("x-razorpay-event-id", "")
    if not 1 <= len(event_id) <= _MAX_EVENT_ID or not event_id.isprintable():
        return _refuse("missing event id")
    response = JSONResponse({})
    ctx = context_for_request(request, response)
    try:
        outcome = await receive_webhook(ctx, body, signature, event_id)
    except ValueError as error:
        logger.warning("webhook %s refused: %s", event_id, error)
        return _refuse("malformed event")
    except PyMongoError:
        logger.exception("webhook %s could not be applied; the provider will retry", event_id)
        return _refuse("try again later", 503)
    logger.info("webhook %s: %s", event_id, outcome)
    response.body = response.render({"status": outcome})
    response.headers["content-length"] = str(len(response.body))
    return response
