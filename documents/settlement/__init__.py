"""Settling online payments, in one place for every way news of a payment arrives.

`settle_payment` is the one function the browser callback, the webhook and the reconciler call
with what the provider said about a payment. It runs in one transaction on the order's document,
so a callback and a webhook for the same payment arriving together settle it once: the second
finds it settled (or conflicts, runs again, and then finds it settled). What it does with a
captured payment:

    order PENDING_PAYMENT, amount right  ─▶ CONFIRMED (the confirmation email, once)
    order PAYMENT_EXPIRED, stock left    ─▶ stock taken again, CONFIRMED
    order PAYMENT_EXPIRED, no stock      ─▶ refunded in full (the shopper is told)
    order CANCELLED, or paid already     ─▶ refunded in full (a second payment is returned)
    amount or currency differ            ─▶ recorded and flagged (NEEDS_REVIEW), not confirmed

`expire_reservation` ends unpaid reservations (PAYMENT_EXPIRED, stock back once); `record_refund`
takes the provider's word on a refund from the refund job, the webhook or the reconciler;
`claim_refund` and `refund_attempt_failed` are the refund job's bookkeeping. Effects outside the
database (emails, cache invalidation, waking the refund job) are the caller's `PaymentEffects`,
run inside the same transaction so they happen exactly when the change commits.
"""

from documents.settlement.common import PaymentEffects
from documents.settlement.refunds import (
    claim_refund,
    record_refund,
    refund_attempt_failed,
    request_refund,
)
from documents.settlement.settling import (
    Settled,
    Settlement,
    attach_provider_order,
    expire_reservation,
    order_of_provider_order,
    settle_payment,
    settling_turns,
)
from documents.settlement.sweeps import (
    LATE_PAYMENT_WINDOW,
    payment_checked,
    payments_to_check,
    refunds_due,
    reservations_ended,
)
from documents.settlement.webhooks import SETTLEMENT_DOCUMENTS, ProcessedWebhook, once_per_event

__all__ = [
    "LATE_PAYMENT_WINDOW",
    "SETTLEMENT_DOCUMENTS",
    "PaymentEffects",
    "ProcessedWebhook",
    "Settled",
    "Settlement",
    "attach_provider_order",
    "claim_refund",
    "expire_reservation",
    "once_per_event",
    "order_of_provider_order",
    "payment_checked",
    "payments_to_check",
    "record_refund",
    "refund_attempt_failed",
    "refunds_due",
    "request_refund",
    "reservations_ended",
    "settle_payment",
    "settling_turns",
]
