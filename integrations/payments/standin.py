"""A local stand-in for Razorpay: the same ids, entities, signatures and webhooks, kept in a
MongoDB collection so that every process of the app (API workers, job workers) sees the same
orders.

Payments happen through `pay`, which the development pay page (and the tests) call in place of
Razorpay Checkout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import razorpay
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from integrations.payments.interface import (
    PaymentRejectedError,
    ProviderOrder,
    ProviderPayment,
    ProviderRefund,
)
from integrations.payments.razorpay_format import (
    RazorpaySignatures,
    new_razorpay_id,
    order_from_entity,
    payment_from_entity,
    payment_signature,
    refund_from_entity,
    sign,
    webhook_body,
)

__all__ = ["StandInPaymentProvider", "WebhookDelivery"]

logger = logging.getLogger("commerce.payments")

WebhookDelivery = Callable[[bytes, dict[str, str]], Awaitable[None]]
"""Hands a webhook (raw body, headers) to the shop, as Razorpay's POST would."""

_MINIMUM_ORDER_AMOUNT = 100  # Razorpay refuses orders below 1.00 of the currency
_NOT_ENTITY_FIELDS = ("_id", "kind")
_FAILURE_DESCRIPTION = "Payment failed because the bank declined it (stand-in)."


class StandInPaymentProvider(RazorpaySignatures):
    """Razorpay's behaviour for development and tests, with nothing leaving the machine.

    One document per entity in ``collection``: ``_id`` is the Razorpay-style id, ``kind`` is
    ``order``, ``payment`` or ``refund``, and the other fields are the entity's JSON. Writes are
    single conditional updates, so concurrent refunds cannot exceed the payment.
    """

    name = "standin"

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        deliver_webhook: WebhookDelivery | None = None,
    ) -> None:
        if not (key_id and key_secret and webhook_secret):
            raise ValueError("the stand-in needs a key id, a key secret and a webhook secret")
        self.key_id = key_id
        self._key_secret = key_secret
        self._collection = collection
        self._deliver_webhook = deliver_webhook
        self._deliveries: set[asyncio.Task[None]] = set()
        # The client serves only for its signature utility: the stand-in makes no HTTP calls.
        # RazorpaySignatures keeps the webhook secret, which `webhook` signs with too.
        super().__init__(razorpay.Client(auth=(key_id, key_secret)), webhook_secret)

    async def create_order(
        self, *, amount: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> ProviderOrder:
        """Record an order in state ``created``; below 100 minor units is rejected, as on
        Razorpay."""
        if not isinstance(amount, int) or amount < _MINIMUM_ORDER_AMOUNT:
            raise PaymentRejectedError("The amount must be at least 100 minor units")
        entity = {
            "id": new_razorpay_id("order_"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes or [],  # Razorpay's JSON has [] for no notes
            "created_at": int(time.time()),
        }
        await self._insert("order", entity)
        return order_from_entity(entity)

    async def fetch_payment(self, payment_id: str) -> ProviderPayment:
        """The payment with this id; ``PaymentRejectedError`` if there is none."""
        return payment_from_entity(await self._entity("payment", payment_id))

    async def order_payments(self, order_id: str) -> list[ProviderPayment]:
        """The order's payment attempts, newest first; ``PaymentRejectedError`` for an
        unknown order."""
        await self._entity("order", order_id)
        found = self._find({"kind": "payment", "order_id": order_id})
        return [payment_from_entity(entity) async for entity in found]

    async def refund(
        self, payment_id: str, *, amount: int, receipt: str, notes: dict[str, str]
    ) -> ProviderRefund:
        """Refund part or all of a captured payment, processed at once, then send
        ``refund.processed`` in the background (see `deliveries_done`).

        ``PaymentRejectedError`` unless the payment is captured and ``amount`` fits in what is
        left to refund.
        """
        if not isinstance(amount, int) or amount <= 0:
            raise PaymentRejectedError("The refund amount must be a positive integer")
        refunded = await self._collection.find_one_and_update(
            {
                "_id": payment_id,
                "kind": "payment",
                "status": "captured",
                "$expr": {"$lte": [{"$add": ["$amount_refunded", amount]}, "$amount"]},
            },
            [
                {"$set": {"amount_refunded": {"$add": ["$amount_refunded", amount]}}},
                {"$set": _refund_state()},
            ],
            return_document=ReturnDocument.AFTER,
        )
        if refunded is None:
            payment = payment_from_entity(await self._entity("payment", payment_id))
            if payment.status != "captured":
                raise PaymentRejectedError(f"A {payment.status} payment cannot be refunded")
            left = payment.amount - payment.amount_refunded
            raise PaymentRejectedError(f"The refund amount is more than the {left} left to refund")
        entity = {
            "id": new_razorpay_id("rfnd_"),
            "entity": "refund",
            "amount": amount,
            "currency": refunded["currency"],
            "payment_id": payment_id,
            "notes": notes or [],
            "receipt": receipt,
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": "normal",
        }
        await self._insert("refund", entity)
        refund = refund_from_entity(entity)
        if self._deliver_webhook is not None:
            # In the background: the caller may be the shop's own request, which the webhook
            # handler could otherwise wait on.
            body, headers = self.webhook(
                "refund.processed", refund=refund, payment=_payment_of(refunded)
            )
            task = asyncio.create_task(_deliver_logged(self._deliver_webhook, body, headers))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return refund

    async def payment_refunds(self, payment_id: str) -> list[ProviderRefund]:
        """The payment's refunds, newest first; ``PaymentRejectedError`` for an unknown payment."""
        await self._entity("payment", payment_id)
        found = self._find({"kind": "refund", "payment_id": payment_id})
        return [refund_from_entity(entity) async for entity in found]

    async def pay(
        self, order_id: str, *, succeed: bool, method: str = "upi", amount: int | None = None
    ) -> tuple[ProviderPayment, dict[str, str]]:
        """Make a payment on the order, as a shopper in Razorpay Checkout would.

        The payment is captured when ``succeed``, else failed; ``amount`` defaults to the
        order's. Returns the payment and the fields Checkout posts back to the browser
        (``razorpay_order_id``, ``razorpay_payment_id``, ``razorpay_signature``). With a
        ``deliver_webhook``, then sends ``payment.captured`` and ``order.paid`` (or
        ``payment.failed``) and waits for them; a failed delivery is logged, not raised.
        ``PaymentRejectedError`` for an unknown order or one already paid.
        """
        known = order_from_entity(await self._entity("order", order_id))
        paid_amount = known.amount if amount is None else amount
        order_change: dict[str, Any] = {"$inc": {"attempts": 1}, "$set": {"status": "attempted"}}
        if succeed:
            order_change = {
                "$inc": {"attempts": 1, "amount_paid": paid_amount, "amount_due": -paid_amount},
                "$set": {"status": "paid"},
            }
        updated = await self._collection.find_one_and_update(
            {"_id": order_id, "kind": "order", "status": {"$ne": "paid"}},
            order_change,
            return_document=ReturnDocument.AFTER,
        )
        if updated is None:
            raise PaymentRejectedError("The order has already been paid")
        entity = _payment_entity(order_id, paid_amount, known.currency, method, succeed)
        await self._insert("payment", entity)
        payment = payment_from_entity(entity)
        callback = {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment.id,
            "razorpay_signature": payment_signature(order_id, payment.id, self._key_secret),
        }
        if self._deliver_webhook is not None:
            if succeed:
                webhooks = [
                    self.webhook("payment.captured", payment=payment),
                    self.webhook("order.paid", payment=payment, order=_order_of(updated)),
                ]
            else:
                webhooks = [self.webhook("payment.failed", payment=payment)]
            for body, headers in webhooks:
                await _deliver_logged(self._deliver_webhook, body, headers)
        return payment, callback

    def webhook(
        self,
        event: str,
        *,
        payment: ProviderPayment | None = None,
        order: ProviderOrder | None = None,
        refund: ProviderRefund | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A signed webhook: its body and the headers Razorpay sends with it."""
        body = webhook_body(event, payment=payment, order=order, refund=refund)
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": sign(body, self._webhook_secret),
            "X-Razorpay-Event-Id": new_razorpay_id("evt_"),
        }
        return body, headers

    async def deliveries_done(self) -> None:
        """Wait until the webhooks sent in the background so far have been delivered (or failed)."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries)

    async def _insert(self, kind: str, entity: dict[str, Any]) -> None:
        await self._collection.insert_one({"_id": entity["id"], "kind": kind, **entity})

    async def _entity(self, kind: str, entity_id: str) -> dict[str, Any]:
        document = await self._collection.find_one({"_id": entity_id, "kind": kind})
        if document is None:
            raise PaymentRejectedError(f"The id provided does not exist: {entity_id!r}")
        return _without_storage_fields(document)

    async def _find(self, query: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        cursor = self._collection.find(query).sort([("created_at", -1), ("_id", -1)])
        async for document in cursor:
            yield _without_storage_fields(document)


async def _deliver_logged(
    deliver_webhook: WebhookDelivery, body: bytes, headers: dict[str, str]
) -> None:
    try:
        await deliver_webhook(body, headers)
    except Exception:
        # Razorpay would retry later; here the shop's reconciliation has to cope, as it must
        # when Razorpay gives up.
        logger.exception("stand-in webhook delivery failed (%s)", headers["X-Razorpay-Event-Id"])


def _without_storage_fields(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in _NOT_ENTITY_FIELDS}


def _payment_of(document: dict[str, Any]) -> ProviderPayment:
    return payment_from_entity(_without_storage_fields(document))


def _order_of(document: dict[str, Any]) -> ProviderOrder:
    return order_from_entity(_without_storage_fields(document))


def _refund_state() -> dict[str, Any]:
    # After the refund: partly refunded payments stay captured, as on Razorpay.
    full = {"$eq": ["$amount_refunded", "$amount"]}
    return {
        "refund_status": {"$cond": [full, "full", "partial"]},
        "status": {"$cond": [full, "refunded", "$status"]},
    }


def _payment_entity(
    order_id: str, amount: int, currency: str, method: str, captured: bool
) -> dict[str, Any]:
    return {
        "id": new_razorpay_id("pay_"),
        "entity": "payment",
        "amount": amount,
        "currency": currency,
        "status": "captured" if captured else "failed",
        "order_id": order_id,
        "invoice_id": None,
        "international": False,
        "method": method,
        "amount_refunded": 0,
        "refund_status": None,
        "captured": captured,
        "description": None,
        "card_id": None,
        "bank": None,
        "wallet": None,
        "vpa": "success@razorpay" if method == "upi" else None,
        "email": "shopper@example.com",
        "contact": "+919000090000",
        "notes": [],
        "fee": None,
        "tax": None,
        "error_code": None if captured else "BAD_REQUEST_ERROR",
        "error_description": None if captured else _FAILURE_DESCRIPTION,
        "error_source": None if captured else "bank",
        "error_step": None if captured else "payment_authorization",
        "error_reason": None if captured else "payment_declined",
        "acquirer_data": {},
        "created_at": int(time.time()),
    }
