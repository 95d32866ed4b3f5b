"""Razorpay through its official (blocking) SDK, each call in a worker thread with a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError

from integrations.payments.interface import (
    PaymentProviderUnavailableError,
    PaymentRejectedError,
    ProviderOrder,
    ProviderPayment,
    ProviderRefund,
)
from integrations.payments.razorpay_format import (
    RazorpaySignatures,
    order_from_entity,
    payment_from_entity,
    refund_from_entity,
)

__all__ = ["RAZORPAY_API", "RazorpayPaymentProvider"]

RAZORPAY_API = "https://api.razorpay.com"
_DEFAULT_TIMEOUT = 10.0
_Parsed = TypeVar("_Parsed")


class RazorpayPaymentProvider(RazorpaySignatures):
    """Razorpay's Orders, Payments and Refunds APIs.

    Errors follow the interface: the SDK's ``BadRequestError`` is a rejection; its
    ``ServerError``/``GatewayError``, any ``requests`` failure (refused, timed out) and an answer
    that is not the JSON expected mean the outcome is unknown. Error messages never contain the
    key secret.
    """

    name = "razorpay"

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        *,
        base_url: str = RAZORPAY_API,
        timeout_seconds: float = _DEFAULT_TIMEOUT,
    ) -> None:
        if not (key_id and key_secret and webhook_secret):
            raise ValueError("Razorpay needs a key id, a key secret and a webhook secret")
        self.key_id = key_id
        self._secrets = (key_secret, webhook_secret)
        self._timeout = timeout_seconds
        # Retries stay off (the SDK's default): a retried POST could create a second order.
        self._client = razorpay.Client(auth=(key_id, key_secret), base_url=base_url.rstrip("/"))
        super().__init__(self._client, webhook_secret)

    async def create_order(
        self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> ProviderOrder:
        """Create an order for ``amount`` minor units (``POST /v1/orders``)."""
        data = {"amount": amount, "currency": currency, "receipt": receipt, "notes": notes}
        entity = await self._call("create an order", self._client.order.create, data)
        return self._parse(order_from_entity, entity)

    async def fetch_payment(self, payment_id: str) -> ProviderPayment:
        """The payment with this id (``GET /v1/payments/:id``)."""
        entity = await self._call("fetch a payment", self._client.payment.fetch, payment_id)
        return self._parse(payment_from_entity, entity)

    async def order_payments(self, order_id: str) -> list[ProviderPayment]:
        """Every payment attempt on the order (``GET /v1/orders/:id/payments``)."""
        answer = await self._call("list an order's payments", self._client.order.payments, order_id)
        return [self._parse(payment_from_entity, item) for item in self._items(answer)]

    async def refund(
        self, payment_id: str, *, amount: int, receipt: str, notes: dict[str, str]
    ) -> ProviderRefund:
        """Refund ``amount`` of a captured payment at normal speed
        (``POST /v1/payments/:id/refund``)."""
        data = {"amount": amount, "receipt": receipt, "notes": notes, "speed": "normal"}
        entity = await self._call("refund a payment", self._client.payment.refund, payment_id, data)
        return self._parse(refund_from_entity, entity)

    async def payment_refunds(self, payment_id: str) -> list[ProviderRefund]:
        """Every refund of the payment (``GET /v1/payments/:id/refunds``, up to Razorpay's
        largest page: 100, far more than one payment is refunded in parts)."""
        answer = await self._call(
            "list a payment's refunds",
            self._client.payment.fetch_multiple_refund,
            payment_id,
            {"count": 100},
        )
        return [self._parse(refund_from_entity, item) for item in self._items(answer)]

    async def _call(self, action: str, function: Callable[..., Any], *args: Any) -> Any:
        # The SDK hands extra keyword arguments to requests; without a timeout a stalled
        # connection would pin the worker thread forever.
        try:
            return await asyncio.to_thread(function, *args, timeout=self._timeout)
        # The SDK's own errors hold Razorpay's description unredacted, and their message is
        # all they carry, so they are not chained: a traceback cannot show a secret.
        except BadRequestError as exc:
            message = f"Razorpay refused to {action}: {exc}"
            raise PaymentRejectedError(self._redact(message)) from None
        except (ServerError, GatewayError) as exc:
            message = f"Razorpay failed to {action} (server error): {exc}"
            raise PaymentProviderUnavailableError(self._redact(message)) from None
        except requests.Timeout as exc:
            message = f"Razorpay did not answer in time to {action}"
            raise PaymentProviderUnavailableError(message) from exc
        except requests.JSONDecodeError as exc:
            message = f"Razorpay's answer to {action} was not JSON"
            raise PaymentProviderUnavailableError(message) from exc
        except requests.RequestException as exc:
            message = f"Razorpay could not be reached to {action}: {exc}"
            raise PaymentProviderUnavailableError(self._redact(message)) from exc

    def _parse(self, parse: Callable[[dict[str, Any]], _Parsed], entity: Any) -> _Parsed:
        try:
            return parse(entity)
        except ValueError as exc:
            message = f"Razorpay answered with an unexpected entity: {exc}"
            raise PaymentProviderUnavailableError(self._redact(message)) from exc

    def _items(self, answer: Any) -> list[Any]:
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise PaymentProviderUnavailableError("Razorpay answered with an unexpected collection")
        return items

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text
