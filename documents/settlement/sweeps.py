"""What the payment sweep looks for: ended reservations, orders to ask the provider about, and
refunds due; and when to ask about an order next."""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId

from documents.orders import (
    Order,
    OrderStatus,
    order_in,
)
from documents.payments import (
    PaymentState,
    RefundStatus,
)
from documents.settlement.common import CHECK_AT_MOST_EVERY, online_of

# How long after its reservation ends an order is still asked about (a late payment).
LATE_PAYMENT_WINDOW = timedelta(hours=24)
_CHECK_AT_LEAST_EVERY = timedelta(hours=1)


async def payment_checked(order_id: ObjectId, *, now: datetime) -> None:
    """The reconciler asked about the order: when to ask next, or never again."""
    order = await order_in(None, order_id)
    online = online_of(order)
    waiting = order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_EXPIRED) and (
        now - online.reserved_until < LATE_PAYMENT_WINDOW
    )
    open_refunds = any(r.status is RefundStatus.PENDING for r in online.refunds)
    next_at = None
    if waiting or open_refunds:
        age = now - order.created_at
        next_at = now + min(max(age / 2, CHECK_AT_MOST_EVERY), _CHECK_AT_LEAST_EVERY)
    await Order.get_pymongo_collection().update_one(
        {"_id": order_id}, {"$set": {"payment.next_check_at": next_at}}
    )


async def reservations_ended(now: datetime, *, limit: int) -> list[Order]:
    """Unpaid orders whose reservation has ended, oldest first."""
    query = {
        "status": OrderStatus.PENDING_PAYMENT.value,
        "payment.reserved_until": {"$lte": now},
        "payment_method": "ONLINE",
        "payment.state": PaymentState.AWAITING.value,  # a flagged payment waits for an admin
    }
    rows = Order.get_pymongo_collection().find(query).sort("payment.reserved_until", 1).limit(limit)
    return [Order.model_validate(row) async for row in rows]


async def payments_to_check(now: datetime, *, limit: int) -> list[Order]:
    """Orders the reconciler should ask the provider about now."""
    query = {"payment.next_check_at": {"$lte": now}}
    rows = Order.get_pymongo_collection().find(query).sort("payment.next_check_at", 1).limit(limit)
    return [Order.model_validate(row) async for row in rows]


async def refunds_due(now: datetime, *, limit: int) -> list[tuple[ObjectId, str]]:
    """(order id, refund key) of REQUESTED refunds whose next attempt is due."""
    query = {
        "payment_method": "ONLINE",
        "payment.refunds": {
            "$elemMatch": {"status": RefundStatus.REQUESTED.value, "next_attempt_at": {"$lte": now}}
        },
    }
    due = []
    async for row in Order.get_pymongo_collection().find(query).limit(limit):
        order = Order.model_validate(row)
        due += [
            (order.id, refund.key)
            for refund in online_of(order).refunds
            if refund.status is RefundStatus.REQUESTED
            and refund.next_attempt_at is not None
            and refund.next_attempt_at <= now
        ]
    return due
