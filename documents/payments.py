"""An online order's payment: the provider's payments and refunds as records, and the rules that
read them. Pure: nothing here touches the database (`documents/settlement/` does).

An `OnlinePayment` sits on its order. Its records keep the provider's ids, amounts and raw
statuses for audit, and only ever move forward (`PAYMENT_STATUS_RANK`, `REFUND_STATUS_RANK`), so
events arriving twice or out of order cannot undo each other. Its `state` is derived from the
records by `payment_state`, never set by hand, and stored for filtering.

A refund starts as a REQUESTED record written in the transaction that decided it (a cancellation,
a late payment without stock, an admin's refund): the record is the outbox entry. A job asks the
provider for it (the record's `key` is the refund's receipt, so a retry after an unknown outcome
finds the first one instead of refunding twice), and the answer, the webhook or the reconciler
moves it to PENDING, PROCESSED or FAILED.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from beanie import PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel, Field

from documents.common import utc_now


class PaymentState(enum.StrEnum):
    """Where an online order's money stands."""

    AWAITING = "AWAITING"  # nothing captured yet
    PAID = "PAID"
    NEEDS_REVIEW = "NEEDS_REVIEW"  # a captured amount differed from the total: an admin decides
    REFUND_PENDING = "REFUND_PENDING"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    REFUND_FAILED = "REFUND_FAILED"


class RefundStatus(enum.StrEnum):
    REQUESTED = "REQUESTED"  # decided; the provider has not confirmed it has it yet
    PENDING = "PENDING"  # the provider has it
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


# Razorpay's payment statuses in the order they can happen; a record never moves back. A failed
# payment may still be authorised late (the bank answers within 3 days) and then captured.
PAYMENT_STATUS_RANK = {"created": 0, "failed": 1, "authorized": 2, "captured": 3, "refunded": 4}
REFUND_STATUS_RANK = {
    RefundStatus.REQUESTED: 0,
    RefundStatus.PENDING: 1,
    RefundStatus.PROCESSED: 2,
    RefundStatus.FAILED: 2,
}
CAPTURED = frozenset({"captured", "refunded"})  # money that reached the shop
OPEN_REFUNDS = frozenset({RefundStatus.REQUESTED, RefundStatus.PENDING})


@dataclass(frozen=True)
class PaymentReport:
    """What the provider says about a payment (from its API, a webhook or the callback)."""

    id: str  # pay_...
    order_id: str  # the provider's order: order_...
    amount: int
    currency: str
    status: str  # created, authorized, captured, refunded, failed
    method: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    captured: bool = False  # the money was captured at some point (Razorpay's `captured`)


@dataclass(frozen=True)
class RefundReport:
    """What the provider says about a refund."""

    id: str  # rfnd_...
    payment_id: str
    amount: int
    currency: str
    status: str  # pending, processed, failed
    receipt: str | None = None  # ours: the refund record's key


class PaymentRecord(BaseModel):
    """One payment attempt as the provider reported it."""

    id: str  # pay_...
    amount: int
    currency: str
    status: str  # the provider's: created, authorized, captured, refunded, failed
    method: str | None = None
    error_code: str | None = None
    error_description: str | None = None
    # Why an admin must look at it (a captured amount that differs from the order's total).
    flag: str | None = None
    # The money reached the shop at some point; a payment refunded without ever being captured
    # (Razorpay's own refund of a late authorisation) never counts as paid.
    was_captured: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def captured(self) -> bool:
        return self.status == "captured" or (self.status in CAPTURED and self.was_captured)


class RefundRecord(BaseModel):
    """One refund of (part of) one captured payment."""

    key: str  # ours, unique on the order; sent as the refund's receipt
    payment_id: str
    amount: int
    currency: str
    status: RefundStatus = RefundStatus.REQUESTED
    provider_id: str | None = None  # rfnd_..., once the provider has it
    provider_status: str | None = None  # the provider's raw status
    reason: str = ""
    actor_id: PydanticObjectId | None = None  # None: the system (a late payment, a double one)
    # The system returns a whole payment the order could not take (too late, cancelled, paid
    # twice); the shopper is told why.
    automatic: bool = False
    attempts: int = 0  # calls made to the provider
    # While REQUESTED: when the refund job may (next) call the provider; a claim pushes it on.
    next_attempt_at: datetime | None = Field(default_factory=utc_now)
    error: str | None = None
    requested_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def receipt(self) -> str:
        """What the provider gets as the refund's receipt: derived from the key, within
        Razorpay's 40 characters, so a retry can find the refund an earlier attempt made."""
        return refund_receipt(self.key)


def refund_receipt(key: str) -> str:
    return "rf_" + hashlib.sha256(key.encode()).hexdigest()[:32]


class OnlinePayment(BaseModel):
    """The payment side of an ONLINE order."""

    provider: str  # razorpay, standin
    provider_order_id: str | None = None  # order_..., once the provider made it
    reserved_until: datetime  # the stock is held for the shopper until then
    state: PaymentState = PaymentState.AWAITING
    amount_paid: int = 0  # captured, in the order's minor units
    amount_refunded: int = 0  # processed refunds
    payments: list[PaymentRecord] = Field(default_factory=list)
    refunds: list[RefundRecord] = Field(default_factory=list)
    # When the reconciler should next ask the provider about this order; None: no need.
    next_check_at: datetime | None = None

    def payment(self, payment_id: str) -> PaymentRecord | None:
        return next((record for record in self.payments if record.id == payment_id), None)

    def refund(self, key: str) -> RefundRecord | None:
        return next((record for record in self.refunds if record.key == key), None)

    def refundable(self, payment: PaymentRecord) -> int:
        """What is left to refund of a captured payment: its amount less refunds not failed."""
        if not payment.captured:
            return 0
        taken = sum(
            refund.amount
            for refund in self.refunds
            if refund.payment_id == payment.id and refund.status is not RefundStatus.FAILED
        )
        return payment.amount - taken


def payment_state(payment: OnlinePayment) -> PaymentState:
    """The state the records say the payment is in."""
    if any(refund.status in OPEN_REFUNDS for refund in payment.refunds):
        return PaymentState.REFUND_PENDING
    if payment.refunds and max(payment.refunds, key=lambda r: r.updated_at).status is (
        RefundStatus.FAILED
    ):
        return PaymentState.REFUND_FAILED
    if payment.amount_refunded and payment.amount_refunded >= payment.amount_paid:
        return PaymentState.REFUNDED
    if payment.amount_refunded:
        return PaymentState.PARTIALLY_REFUNDED
    if any(record.flag for record in payment.payments if record.captured):
        return PaymentState.NEEDS_REVIEW
    if payment.amount_paid:
        return PaymentState.PAID
    return PaymentState.AWAITING


def recomputed(payment: OnlinePayment) -> OnlinePayment:
    """`payment` with its sums and state worked out again from its records."""
    paid_by = {record.id for record in payment.payments if record.captured}
    paid = sum(record.amount for record in payment.payments if record.id in paid_by)
    # Razorpay's own refunds of money it never captured are not the shop's refunds.
    refunded = sum(
        r.amount
        for r in payment.refunds
        if r.status is RefundStatus.PROCESSED and r.payment_id in paid_by
    )
    updated = payment.model_copy(update={"amount_paid": paid, "amount_refunded": refunded})
    return updated.model_copy(update={"state": payment_state(updated)})


def with_refund(
    payment: OnlinePayment,
    record: PaymentRecord,
    *,
    key: str,
    amount: int,
    reason: str,
    actor_id: ObjectId | None,
    automatic: bool = False,
) -> tuple[OnlinePayment, RefundRecord]:
    """`payment` with a REQUESTED refund of `amount` of `record`; the caller checked the amount
    against `refundable`. A key already used returns the refund made with it."""
    if existing := payment.refund(key):
        return payment, existing
    refund = RefundRecord(
        key=key,
        payment_id=record.id,
        amount=amount,
        currency=record.currency,
        reason=reason,
        actor_id=actor_id,
        automatic=automatic,
    )
    return recomputed(payment.model_copy(update={"refunds": [*payment.refunds, refund]})), refund


def with_everything_refunded(
    payment: OnlinePayment, *, key: str, reason: str, actor_id: ObjectId | None
) -> OnlinePayment:
    """`payment` with a refund of whatever is left of each captured payment (a cancelled paid
    order, a payment that came too late). Keys are `<key>:<payment id>`, so doing it twice adds
    nothing."""
    for record in payment.payments:
        if left := payment.refundable(record):
            payment, _ = with_refund(
                payment,
                record,
                key=f"{key}:{record.id}",
                amount=left,
                reason=reason,
                actor_id=actor_id,
            )
    return payment
