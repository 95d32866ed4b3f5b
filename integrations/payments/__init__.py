"""Online payments: Razorpay through its SDK, or a local stand-in that behaves like it.

`build_payment_provider` picks one from settings. Both speak Razorpay's shapes: the same ids
(`order_...`, `pay_...`, `rfnd_...`), the same payment signature (HMAC-SHA256 of
`"<order id>|<payment id>"` with the key secret), the same webhook body and signature (HMAC-SHA256
of the raw body with the webhook secret), checked with the SDK's own utility in both cases.
Amounts are integer minor units (paise) throughout.

- `interface`: the entities, the errors and the `PaymentProvider` protocol.
- `razorpay_format`: Razorpay's JSON entities, ids, signatures and webhook bodies.
- `razorpay_api`: the real provider. `standin`: the stand-in. `build`: the choice.

This package deliberately imports nothing else from the project.
"""

from integrations.payments.build import build_payment_provider
from integrations.payments.interface import (
    PaymentProvider,
    PaymentProviderError,
    PaymentProviderUnavailableError,
    PaymentRejectedError,
    ProviderOrder,
    ProviderPayment,
    ProviderRefund,
    WebhookEvent,
)
from integrations.payments.razorpay_api import RAZORPAY_API, RazorpayPaymentProvider
from integrations.payments.razorpay_format import (
    RazorpaySignatures,
    new_razorpay_id,
    order_from_entity,
    parse_webhook,
    payment_from_entity,
    payment_signature,
    refund_from_entity,
    sign,
    webhook_body,
)
from integrations.payments.standin import StandInPaymentProvider, WebhookDelivery

__all__ = [
    "RAZORPAY_API",
    "PaymentProvider",
    "PaymentProviderError",
    "PaymentProviderUnavailableError",
    "PaymentRejectedError",
    "ProviderOrder",
    "ProviderPayment",
    "ProviderRefund",
    "RazorpayPaymentProvider",
    "RazorpaySignatures",
    "StandInPaymentProvider",
    "WebhookDelivery",
    "WebhookEvent",
    "build_payment_provider",
    "new_razorpay_id",
    "order_from_entity",
    "parse_webhook",
    "payment_from_entity",
    "payment_signature",
    "refund_from_entity",
    "sign",
    "webhook_body",
]
