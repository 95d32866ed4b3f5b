"""The payment side of an order in the API: what Razorpay Checkout needs, and an online order's
payments and refunds."""

from __future__ import annotations

from datetime import datetime

import strawberry

from documents.payments import OnlinePayment, PaymentState, RefundStatus
from resolvers.payments import flow
from schema.common import Money
from schema.enums import described_enum

described_enum(
    PaymentState,
    "Where an online order's money stands.",
    {
        "AWAITING": "Nothing captured yet.",
        "PAID": "Captured.",
        "NEEDS_REVIEW": "A captured amount differs from the order's total: an admin decides.",
        "REFUND_PENDING": "A refund is on its way.",
        "PARTIALLY_REFUNDED": "Part of what was paid is refunded.",
        "REFUNDED": "Everything paid is refunded.",
        "REFUND_FAILED": "The latest refund failed at the provider.",
    },
)
described_enum(
    RefundStatus,
    "Where a refund stands.",
    {
        "REQUESTED": "Decided; the provider has not yet confirmed that it has it.",
        "PENDING": "The provider has it.",
        "PROCESSED": "The money went back.",
        "FAILED": "The provider could not refund it.",
    },
)


@strawberry.type(description="Prefill for Razorpay Checkout's form.")
class PaymentPrefill:
    name: str = strawberry.field(description="The recipient on the order.")
    email: str = strawberry.field(description="The buyer's email.")
    contact: str = strawberry.field(description="The recipient's phone, E.164.")


@strawberry.type(
    description="The options to open Razorpay Checkout with (`new Razorpay({key: keyId, "
    "order_id: razorpayOrderId, amount, currency, name, description, prefill, handler})`)."
)
class PaymentCheckout:
    key_id: str = strawberry.field(description="Razorpay key id (public); Checkout's `key`.")
    razorpay_order_id: str = strawberry.field(description="Checkout's `order_id`.")
    amount: int = strawberry.field(description="In minor units (paise), as Checkout wants it.")
    currency: str = strawberry.field(description="ISO 4217.")
    name: str = strawberry.field(description="The shop's name.")
    description: str = strawberry.field(description="What is paid for.")
    prefill: PaymentPrefill = strawberry.field(description="Checkout's `prefill`.")
    expires_at: datetime = strawberry.field(
        description="The stock is held until then; pay before it (UTC)."
    )
    pay_url: str | None = strawberry.field(
        description="Stand-in provider only: the development page to make the payment on."
    )

    @classmethod
    def of(cls, checkout: flow.PaymentCheckout) -> PaymentCheckout:
        return cls(
            key_id=checkout.key_id,
            razorpay_order_id=checkout.razorpay_order_id,
            amount=checkout.amount,
            currency=checkout.currency,
            name=checkout.name,
            description=checkout.description,
            prefill=PaymentPrefill(
                name=checkout.prefill_name,
                email=checkout.prefill_email,
                contact=checkout.prefill_contact,
            ),
            expires_at=checkout.expires_at,
            pay_url=checkout.pay_url,
        )


@strawberry.type(description="One payment attempt, as the provider reported it.")
class PaymentAttempt:
    provider_payment_id: str = strawberry.field(description="Razorpay's id (pay_...).")
    amount: Money = strawberry.field(description="What was paid (or tried).")
    status: str = strawberry.field(
        description="Razorpay's status: created, authorized, captured, refunded or failed."
    )
    method: str | None = strawberry.field(description="card, upi, netbanking ...")
    error_code: str | None = strawberry.field(description="Why it failed, if it did.")
    error_description: str | None = strawberry.field(description="The provider's explanation.")
    flag: str | None = strawberry.field(
        description="Why an admin must look at it (a captured amount unlike the total); admins "
        "only, null for the buyer."
    )
    created_at: datetime = strawberry.field(description="First heard of (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")


@strawberry.type(description="One refund of (part of) a payment.")
class Refund:
    key: str | None = strawberry.field(
        description="Ours (admins only; null for the buyer): the refund's receipt is made from it."
    )
    provider_refund_id: str | None = strawberry.field(description="Razorpay's id (rfnd_...).")
    provider_payment_id: str = strawberry.field(description="The payment refunded.")
    amount: Money = strawberry.field(description="How much.")
    status: RefundStatus = strawberry.field(description="Where it stands.")
    provider_status: str | None = strawberry.field(description="Razorpay's raw status.")
    reason: str = strawberry.field(description="Why.")
    error: str | None = strawberry.field(
        description="The provider's last failure, if any (admins only; null for the buyer)."
    )
    requested_at: datetime = strawberry.field(description="When it was decided (UTC).")
    updated_at: datetime = strawberry.field(description="Last changed (UTC).")


@strawberry.type(description="An online order's payment: its state, attempts and refunds.")
class OrderPayment:
    provider: str = strawberry.field(description="razorpay, or standin in development.")
    state: PaymentState = strawberry.field(description="Where the money stands.")
    razorpay_order_id: str | None = strawberry.field(description="Razorpay's order (order_...).")
    reserved_until: datetime = strawberry.field(description="Stock held until then, unpaid (UTC).")
    amount_paid: Money = strawberry.field(description="Captured.")
    amount_refunded: Money = strawberry.field(description="Refunds processed.")
    attempts: list[PaymentAttempt] = strawberry.field(description="Every payment attempt.")
    refunds: list[Refund] = strawberry.field(description="Every refund, oldest first.")

    @classmethod
    def of(cls, payment: OnlinePayment, currency: str, *, for_admin: bool) -> OrderPayment:
        """The payment as its buyer sees it, or, `for_admin`, with the shop's own notes too (refund
        keys, provider errors, flags)."""

        def money(amount: int) -> Money:
            return Money.of(amount, currency)

        return cls(
            provider=payment.provider,
            state=payment.state,
            razorpay_order_id=payment.provider_order_id,
            reserved_until=payment.reserved_until,
            amount_paid=money(payment.amount_paid),
            amount_refunded=money(payment.amount_refunded),
            attempts=[
                PaymentAttempt(
                    provider_payment_id=p.id,
                    amount=Money.of(p.amount, p.currency),
                    status=p.status,
                    method=p.method,
                    error_code=p.error_code,
                    error_description=p.error_description,
                    flag=p.flag if for_admin else None,
                    created_at=p.created_at,
                    updated_at=p.updated_at,
                )
                for p in payment.payments
            ],
            refunds=[
                Refund(
                    key=r.key if for_admin else None,
                    provider_refund_id=r.provider_id,
                    provider_payment_id=r.payment_id,
                    amount=Money.of(r.amount, r.currency),
                    status=r.status,
                    provider_status=r.provider_status,
                    reason=r.reason,
                    error=r.error if for_admin else None,
                    requested_at=r.requested_at,
                    updated_at=r.updated_at,
                )
                for r in payment.refunds
            ],
        )
