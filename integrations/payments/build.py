"""Picks the payment provider once, from settings."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from integrations.payments.interface import PaymentProvider
from integrations.payments.razorpay_api import RazorpayPaymentProvider
from integrations.payments.standin import StandInPaymentProvider, WebhookDelivery

__all__ = ["build_payment_provider"]


def build_payment_provider(
    *,
    provider: str,
    key_id: str,
    key_secret: str,
    webhook_secret: str,
    api_base_url: str,
    standin_collection: AsyncCollection[dict[str, Any]],
    deliver_webhook: WebhookDelivery | None,
    timeout_seconds: float = 10.0,
) -> PaymentProvider:
    """``"razorpay"``: the real API at ``api_base_url``, which needs all three secrets.
    ``"standin"``: the local stand-in in ``standin_collection``, signing with the same three and
    delivering its webhooks with ``deliver_webhook``.

    ``ValueError`` for another provider name or a missing secret.
    """
    if not (key_id and key_secret and webhook_secret):
        raise ValueError("a payment provider needs a key id, a key secret and a webhook secret")
    if provider == "razorpay":
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
            key_id=key_id,
            key_secret=key_secret,
            webhook_secret=webhook_secret,
            deliver_webhook=deliver_webhook,
        )
    raise ValueError(f"unknown payment provider {provider!r}: use 'razorpay' or 'standin'")
