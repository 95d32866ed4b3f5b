"""Picks the payment provider once, from settings."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from integrations.payments.interface import PaymentProvider
from integrations.payments.razorpay_api import RazorpayPaymentProvider
from integrations.payments.standin import StandInPaymentProvider, WebhookDelivery

__all__ = ["STANDIN_KEY_ID", "build_payment_provider"]

# The stand-in's development credentials when settings give none; nothing real is behind them.
STANDIN_KEY_ID = "rzp_test_standin"
_STANDIN_KEY_SECRET = "standin-key-secret"  # noqa: S105
_STANDIN_WEBHOOK_SECRET = "standin-webhook-secret"  # noqa: S105


def build_payment_provider(
    *,
    provider: str,
    key_id: str | None,
    key_secret: str | None,
    webhook_secret: str | None,
    api_base_url: str,
    standin_collection: AsyncCollection[dict[str, Any]],
    deliver_webhook: WebhookDelivery | None,
    timeout_seconds: float = 10.0,
) -> PaymentProvider:
    """``"razorpay"``: the real API at ``api_base_url``, which needs all three secrets.
    ``"standin"``: the local stand-in in ``standin_collection``, delivering its webhooks with
    ``deliver_webhook``; missing secrets fall back to fixed development ones.

    ``ValueError`` for another provider name or a Razorpay provider missing a secret.
    """
    if provider == "razorpay":
        if not (key_id and key_secret and webhook_secret):
            raise ValueError(
                "the razorpay provider needs a key id, a key secret and a webhook secret"
            )
        return RazorpayPaymentProvider(
            key_id,
            key_secret,
            webhook_secret,
            base_url=api_base_url,
            timeout_seconds=timeout_seconds,
        )
    if provider == "standin":
        return StandInPaymentProvider(
            standin_collection,
            key_id=key_id or STANDIN_KEY_ID,
            key_secret=key_secret or _STANDIN_KEY_SECRET,
            webhook_secret=webhook_secret or _STANDIN_WEBHOOK_SECRET,
            deliver_webhook=deliver_webhook,
        )
    raise ValueError(f"unknown payment provider {provider!r}: use 'razorpay' or 'standin'")
