"""What the shop needs from a payment provider, in Razorpay's shapes.

Amounts are integer minor units (paise) throughout.

Errors: `PaymentProviderUnavailableError` when the outcome is unknown (timeout, connection
refused, 5xx: the call may or may not have taken effect); `PaymentRejectedError` when the provider
said no (4xx: nothing happened). `NOT_FOUND` lookups raise `PaymentRejectedError` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentProviderUnavailableError",
    "PaymentRejectedError",
    "ProviderOrder",
    "ProviderPayment",
    "ProviderRefund",
    "WebhookEvent",
]


class PaymentProviderError(Exception):
    """A call to the payment provider failed."""


class PaymentProviderUnavailableError(PaymentProviderError):
    """No answer (timeout, refused connection) or a server error: the outcome is unknown."""


class PaymentRejectedError(PaymentProviderError):
    """The provider refused the request (bad request, unknown id): nothing happened."""


@dataclass(frozen=True)
class ProviderOrder:
    """A Razorpay order: what a shopper pays against."""

    id: str  # order_...
    amount: int
    currency: str
    receipt: str
    status: str  # created, attempted, paid
    notes: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderPayment:
    """A payment attempt against a Razorpay order."""

    id: str  # pay_...
    order_id: str  # order_...
    amount: int
    currency: str
    status: str  # created, authorized, captured, refunded, failed
    method: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    amount_refunded: int = 0
    # Whether the money was ever captured: a payment Razorpay refunds by itself without capturing
    # it (a late authorisation past the capture window) ends `refunded` with this False.
    captured: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderRefund:
    """A refund of (part of) a captured payment."""

    id: str  # rfnd_...
    payment_id: str
    amount: int
    currency: str
    status: str  # pending, processed, failed
    receipt: str | None = None
    notes: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookEvent:
    """A webhook body, parsed: the event name and the entities it carries."""

    event: str  # payment.captured, order.paid, payment.failed, refund.processed, refund.failed, ...
    payment: ProviderPayment | None
    order: ProviderOrder | None
    refund: ProviderRefund | None
    created_at: int | None  # Unix seconds, as Razorpay sends it


class PaymentProvider(Protocol):
    """What the shop needs from a payment provider. `name` is shown at startup."""

    name: str  # "razorpay" or "standin"
    key_id: str  # public: Razorpay Checkout needs it in the browser

    async def create_order(
        self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> ProviderOrder: ...

    async def fetch_payment(self, payment_id: str) -> ProviderPayment: ...

    async def order_payments(self, order_id: str) -> list[ProviderPayment]: ...

    async def refund(
        self, payment_id: str, *, amount: int, receipt: str, notes: dict[str, str]
    ) -> ProviderRefund: ...

    async def payment_refunds(self, payment_id: str) -> list[ProviderRefund]: ...

    def payment_signature_valid(self, *, order_id: str, payment_id: str, signature: str) -> bool:
        """The browser callback's `razorpay_signature`, checked with the SDK's utility."""
        ...

    def webhook_signature_valid(self, body: bytes, signature: str) -> bool:
        """`X-Razorpay-Signature` over the raw body, checked with the SDK's utility."""
        ...
