"""Paying online: what Razorpay Checkout needs, the browser's callback, webhooks and refunds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents import settlement
from documents.checkout import abandon_unpaid_order, check_idempotency_key
from documents.common import stored_id, utc_now
from documents.money import to_minor_units
from documents.orders import Order, OrderError, OrderErrorCode, OrderStatus, check_note, order_in
from documents.payments import CAPTURED, OnlinePayment, RefundRecord
from integrations.payments import (
    PaymentProviderError,
    PaymentProviderUnavailableError,
    PaymentRejectedError,
    StandInPaymentProvider,
    WebhookEvent,
    parse_webhook,
)
from resolvers.accounts.viewer import Viewer
from resolvers.cart import cart_rules
from resolvers.context import Context
from resolvers.payments.effects import OrderEffects
from resolvers.payments.service import PaymentsUnavailableError, payment_report, refund_report
from settings import Environment

logger = logging.getLogger("commerce.payments")

# The stand-in's development pay page (`schema/dev_pay.py`), outside production only.
DEV_PAY_URL = "{base}/dev/pay/{razorpay_order_id}"


@dataclass(frozen=True)
class PaymentCheckout:
    """What the frontend passes to Razorpay Checkout (`new Razorpay({...}).open()`)."""

    key_id: str
    razorpay_order_id: str
    amount: int  # minor units, as Checkout wants them
    currency: str
    name: str
    description: str
    prefill_name: str
    prefill_email: str
    prefill_contact: str
    expires_at: datetime  # the reservation's end: pay before it
    pay_url: str | None  # the stand-in's development pay page; None with Razorpay


def new_online_payment(ctx: Context) -> OnlinePayment:
    """The payment an ONLINE order starts with; PAYMENT_METHOD_UNAVAILABLE when payments are off."""
    payments = ctx.services.payments
    if not payments.enabled:
        raise OrderError(
            OrderErrorCode.PAYMENT_METHOD_UNAVAILABLE,
            "Online payment is not available",
            field="paymentMethod",
        )
    now = utc_now()
    return OnlinePayment(
        provider=payments.name,
        reserved_until=now + payments.settings.reservation,
        next_check_at=now + payments.settings.reconcile_after,
    )


async def start_payment(ctx: Context, order: Order) -> tuple[Order, PaymentCheckout | None]:
    """Make sure the unpaid order has its provider order, and say what Checkout needs; None for an
    order that is not waiting for a payment. If the provider cannot make one, the order is undone
    (`abandon_unpaid_order`) and the shopper gets a retryable PAYMENT_PROVIDER_UNAVAILABLE."""
    online = order.payment
    if online is None or order.status is not OrderStatus.PENDING_PAYMENT:
        return order, None
    if online.provider_order_id is None:
        try:
            made = await ctx.services.payments.provider.create_order(
                amount=order.total,
                currency=order.currency,
                receipt=str(order.number),
                notes={"order_id": str(order.id), "order_number": str(order.number)},
            )
        except (PaymentProviderError, PaymentsUnavailableError) as error:
            logger.error("could not start the payment of order #%s: %s", order.number, error)
            rules = cart_rules(ctx.settings)
            reason = "the payment could not be started"
            if await abandon_unpaid_order(order, reason=reason, rules=rules) is None:
                current = await order_in(None, stored_id(order))
                if current.payment is not None and current.payment.provider_order_id is not None:
                    return await start_payment(ctx, current)  # a racing replay made it
            raise _payment_not_started() from None
        order = await settlement.attach_provider_order(stored_id(order), made.id)
        online = order.payment
        assert online is not None
        if online.provider_order_id is None:  # a racing call abandoned the order meanwhile
            raise _payment_not_started()
    address = order.shipping_address
    return order, PaymentCheckout(
        key_id=ctx.services.payments.provider.key_id,
        razorpay_order_id=online.provider_order_id,
        amount=order.total,
        currency=order.currency,
        name=ctx.services.payments.settings.shop_name,
        description=f"Order #{order.number}",
        prefill_name=address.name,
        prefill_email=order.email,
        prefill_contact=address.phone,
        expires_at=online.reserved_until,
        pay_url=DEV_PAY_URL.format(
            razorpay_order_id=online.provider_order_id, base=ctx.settings.public_url
        )
        if standin_provider(ctx) and ctx.settings.environment is not Environment.PRODUCTION
        else None,
    )


async def confirm_payment(
    ctx: Context,
    viewer: Viewer,
    *,
    order_id: ObjectId,
    razorpay_order_id: str,
    razorpay_payment_id: str,
    razorpay_signature: str,
) -> Order:
    """The browser's callback after Razorpay Checkout: the signature checked, then the payment
    fetched from the provider (its status, amount and currency) and settled like any other news
    of it. A wrong signature changes nothing."""
    order = await order_in(None, order_id, field="orderId")
    if order.user_id != viewer.user.id:
        raise OrderError(OrderErrorCode.ORDER_NOT_FOUND, "No such order", field="orderId")
    if order.payment is None:
        raise OrderError(
            OrderErrorCode.NOT_AN_ONLINE_ORDER, "The order is not paid online", field="orderId"
        )
    payments = ctx.services.payments
    if not payments.enabled:
        raise _unavailable(PaymentProviderUnavailableError("online payments are off"))
    provider = payments.provider
    if razorpay_order_id != order.payment.provider_order_id or not (
        provider.payment_signature_valid(
            order_id=razorpay_order_id, payment_id=razorpay_payment_id, signature=razorpay_signature
        )
    ):
        raise OrderError(
            OrderErrorCode.INVALID_PAYMENT_SIGNATURE,
            "The payment's signature does not match this order",
            field="razorpaySignature",
        )
    await ctx.services.rate_limiter.check(
        "confirm_payment", ip=ctx.client_ip, account=str(viewer.user.id)
    )
    try:
        payment = await provider.fetch_payment(razorpay_payment_id)
    except PaymentProviderError as error:
        raise _unavailable(error) from None
    if payment.order_id != razorpay_order_id:
        raise OrderError(
            OrderErrorCode.INVALID_PAYMENT_SIGNATURE,
            "The payment belongs to another order",
            field="razorpayPaymentId",
        )
    async with settlement.settling_turns(payment.order_id):
        settled = await settlement.settle_payment(
            payment_report(payment), effects=OrderEffects(ctx)
        )
    # Whatever the outcome: a failed payment the webhook (or an earlier callback) recorded
    # first is ALREADY_SETTLED, and is still no payment.
    if payment.status not in CAPTURED:
        raise OrderError(
            OrderErrorCode.PAYMENT_NOT_COMPLETED,
            f"The payment is {payment.status}, not captured",
            extensions={"paymentStatus": payment.status},
        )
    settled_order = settled.order or order
    _refuse_unaccepted(settled_order, payment.id)
    return settled_order


def _refuse_unaccepted(order: Order, payment_id: str) -> None:
    """A captured payment the order did not take (cancelled, expired without stock, paid twice)
    or that an admin must look at (the wrong amount) is no success for the shopper."""
    online = order.payment
    record = online.payment(payment_id) if online else None
    if online is None or record is None:
        return
    if record.flag:
        raise OrderError(
            OrderErrorCode.PAYMENT_NEEDS_REVIEW,
            "The payment does not match the order's total; the shop will look at it",
        )
    if any(r.payment_id == payment_id and r.automatic for r in online.refunds):
        raise OrderError(
            OrderErrorCode.PAYMENT_REFUNDED,
            "The order could not take this payment; it is refunded in full",
            extensions={"currentStatus": str(order.status)},
        )


async def refund_order(
    ctx: Context,
    viewer: Viewer,
    *,
    order_id: ObjectId,
    amount: Decimal | None,
    reason: str,
    idempotency_key: str,
) -> tuple[Order, RefundRecord]:
    """An admin refunds part (or, without `amount`, the rest) of an order's payment; the order
    keeps its status. A repeated idempotency key returns the first refund."""
    order = await order_in(None, order_id, field="orderId")
    minor = to_minor_units(amount, order.currency, field="amount") if amount is not None else None
    return await settlement.request_refund(
        order_id,
        amount=minor,
        key=f"admin:{check_idempotency_key(idempotency_key)}",
        reason=check_note(reason, field="reason"),
        actor_id=viewer.user.id,
        effects=OrderEffects(ctx),
    )


async def receive_webhook(ctx: Context, body: bytes, signature: str, event_id: str) -> str:
    """Apply one webhook delivery whose signature was checked; returns what it did. A replayed
    event id does nothing ("duplicate")."""
    event = parse_webhook(body)

    async def apply(session: AsyncClientSession) -> str:
        return await _apply_event(ctx, event, session)

    provider_order_id = event.payment.order_id if event.payment else ""
    async with settlement.settling_turns(provider_order_id):
        outcome = await settlement.once_per_event(event_id, event.event, apply)
    return "duplicate" if outcome is None else outcome


async def _apply_event(ctx: Context, event: WebhookEvent, session: AsyncClientSession) -> str:
    effects = OrderEffects(ctx)
    outcome = "ignored"
    if event.payment is not None and event.event.startswith(("payment.", "order.", "refund.")):
        settled = await settlement.settle_payment(
            payment_report(event.payment), effects=effects, session=session
        )
        outcome = settled.outcome.lower()
    if event.refund is not None and event.event.startswith("refund."):
        found = await settlement.record_refund(
            refund_report(event.refund), effects=effects, session=session
        )
        outcome = "refund recorded" if found else "refund of an unknown payment"
    return outcome


def _payment_not_started() -> OrderError:
    return OrderError(
        OrderErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
        "The payment could not be started; nothing was ordered. Try again in a moment.",
        extensions={"retryable": True},
    )


def _unavailable(error: PaymentProviderError) -> OrderError:
    if isinstance(error, PaymentRejectedError):
        return OrderError(
            OrderErrorCode.PAYMENT_NOT_COMPLETED,
            "The payment provider does not know this payment",
            field="razorpayPaymentId",
        )
    return OrderError(
        OrderErrorCode.PAYMENT_PROVIDER_UNAVAILABLE,
        "The payment provider could not be reached; try again in a moment",
        extensions={"retryable": True},
    )


@dataclass(frozen=True)
class StandInPayment:
    """What the development pay page shows after paying at the stand-in."""

    payment_id: str
    status: str
    callback: dict[str, str]  # what Razorpay Checkout's handler would get


def standin_provider(ctx: Context) -> StandInPaymentProvider | None:
    """The stand-in, when it is the provider in use; None otherwise (the page is then off)."""
    payments = ctx.services.payments
    provider = payments.provider if payments.enabled else None
    return provider if isinstance(provider, StandInPaymentProvider) else None


async def pay_at_standin(
    ctx: Context, provider_order_id: str, *, succeed: bool
) -> StandInPayment | None:
    """Make the stand-in's payment of one of our unpaid orders succeed or fail; it then delivers
    Razorpay's webhooks to this API. None when the stand-in is off; PaymentProviderError when
    it refuses (the order is paid already)."""
    provider = standin_provider(ctx)
    if provider is None:
        return None
    payment, callback = await provider.pay(provider_order_id, succeed=succeed)
    return StandInPayment(payment.id, payment.status, callback)
