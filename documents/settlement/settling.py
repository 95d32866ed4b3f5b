"""Settling payments (`settle_payment`), attaching the provider's order, and expiring unpaid
reservations. See the package docstring for what a captured payment does."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Product
from documents.common import stored_id, utc_now
from documents.orders import (
    Order,
    OrderStatus,
    change_order_status,
    order_in,
    stock_reference_of,
)
from documents.payments import (
    PAYMENT_STATUS_RANK,
    OnlinePayment,
    PaymentRecord,
    PaymentReport,
    PaymentState,
    recomputed,
    with_refund,
)
from documents.settlement.common import (
    CHECK_AT_MOST_EVERY,
    PaymentEffects,
    online_of,
    write_payment,
)
from documents.stock import StockLine, take_stock
from documents.transactions import in_transaction
from documents.turns import product_turns


class Settlement(enum.StrEnum):
    CONFIRMED = "CONFIRMED"  # this payment confirmed the order, now
    RECORDED = "RECORDED"  # an attempt that is not captured (failed, authorized), recorded
    ALREADY_SETTLED = "ALREADY_SETTLED"  # nothing new: a replay, or the other path was first
    FLAGGED = "FLAGGED"  # captured, but not the order's amount or currency
    REFUNDING = "REFUNDING"  # captured for an order that cannot take it: the money goes back
    UNKNOWN_ORDER = "UNKNOWN_ORDER"  # not one of this shop's orders


@dataclass(frozen=True)
class Settled:
    outcome: Settlement
    order: Order | None


async def attach_provider_order(order_id: ObjectId, provider_order_id: str) -> Order:
    """Record the provider's order for `order_id`, unless one is recorded already (two replays
    of a checkout racing) or the order no longer waits for a payment (a racing call abandoned
    it): the order with the provider order that counts."""
    raw = await Order.get_pymongo_collection().find_one_and_update(
        {
            "_id": order_id,
            "status": OrderStatus.PENDING_PAYMENT.value,
            "payment.provider_order_id": None,
        },
        {"$set": {"payment.provider_order_id": provider_order_id, "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
    )
    return Order.model_validate(raw) if raw else await order_in(None, order_id)


async def order_of_provider_order(provider_order_id: str) -> Order | None:
    """The order the provider's order `order_...` was made for, if it is one of ours."""
    raw = await Order.get_pymongo_collection().find_one(
        {"payment.provider_order_id": provider_order_id}
    )
    return Order.model_validate(raw) if raw else None


@contextlib.asynccontextmanager
async def settling_turns(provider_order_id: str) -> AsyncIterator[None]:
    """Take this process's turns on the products a settlement of the provider's order may take
    stock of (an expired order confirmed by a late payment), before its transaction starts, as
    checkouts and expiries do; nothing to take for any other order."""
    order = await order_of_provider_order(provider_order_id)
    if order is None or order.status is not OrderStatus.PAYMENT_EXPIRED:
        yield
        return
    async with product_turns(line.product_id for line in order.lines):
        yield


async def settle_payment(
    payment: PaymentReport, *, effects: PaymentEffects, session: AsyncClientSession | None = None
) -> Settled:
    """Apply what the provider says about `payment` to its order (see the module docstring)."""

    async def apply(session: AsyncClientSession) -> Settled:
        raw = await Order.get_pymongo_collection().find_one(
            {"payment.provider_order_id": payment.order_id}, session=session
        )
        if raw is None:
            return Settled(Settlement.UNKNOWN_ORDER, None)
        order = Order.model_validate(raw)
        online = online_of(order)
        before = online.payment(payment.id)
        record = _moved_forward(before, payment)
        if before is not None and record == before:
            return Settled(Settlement.ALREADY_SETTLED, order)
        online = _with_record(online, record)
        if not record.captured or (before is not None and before.captured):
            return Settled(Settlement.RECORDED, await write_payment(order, online, session))
        if (payment.amount, payment.currency) != (order.total, order.currency):
            flag = (
                f"captured {payment.amount} {payment.currency} (minor units); "
                f"the order's total is {order.total} {order.currency}"
            )
            online = _with_record(online, record.model_copy(update={"flag": flag}))
            return Settled(Settlement.FLAGGED, await write_payment(order, online, session))
        paid_before = any(
            p.captured and p.flag is None for p in online.payments if p.id != record.id
        )
        if not paid_before and order.status is OrderStatus.PENDING_PAYMENT:
            return await _confirm(order, online, record, session, effects, late=False)
        if (
            not paid_before
            and order.status is OrderStatus.PAYMENT_EXPIRED
            and await _stock_left_for(order, session)
        ):
            return await _confirm(order, online, record, session, effects, late=True)
        reason = _why_refunded(order, paid_before)
        online, refund = with_refund(
            online,
            record,
            key=f"return:{record.id}",
            amount=online.refundable(record),
            reason=reason,
            actor_id=None,
            automatic=True,
        )
        written = await write_payment(order, online, session)
        await effects.refunds_requested(written, [refund], session)
        return Settled(Settlement.REFUNDING, written)

    return await in_transaction(apply, session=session)


async def expire_reservation(
    order_id: ObjectId, *, now: datetime, effects: PaymentEffects
) -> Order | None:
    """Expire the order if it is still unpaid and its reservation has ended: PAYMENT_EXPIRED,
    its stock back, once. None if it was paid, cancelled or expired meanwhile."""

    async def apply(session: AsyncClientSession) -> Order | None:
        order = await order_in(session, order_id)
        online = order.payment
        if (
            order.status is not OrderStatus.PENDING_PAYMENT
            or online is None
            or online.state is not PaymentState.AWAITING
            or online.reserved_until > now
        ):
            return None
        before, after = await change_order_status(
            order_id,
            OrderStatus.PAYMENT_EXPIRED,
            actor_id=None,
            note="not paid in time",
            allowed_from=frozenset({OrderStatus.PENDING_PAYMENT}),
            # The reconciler asks once more soon: a payment may have been made at the last moment.
            also_set={"payment.next_check_at": now + CHECK_AT_MOST_EVERY},
            session=session,
        )
        await effects.order_moved(before, after, session)
        return after

    # Its stock goes back: take turns with this process's other changes of those products.
    products = [line.product_id for line in (await order_in(None, order_id)).lines]
    async with product_turns(products):
        return await in_transaction(apply)


def _moved_forward(before: PaymentRecord | None, payment: PaymentReport) -> PaymentRecord:
    """The record of `payment` with what the provider says now, unless that would move it back."""
    if before is not None and PAYMENT_STATUS_RANK.get(payment.status, 0) <= (
        PAYMENT_STATUS_RANK.get(before.status, 0)
    ):
        return before
    return PaymentRecord(
        id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        method=payment.method,
        error_code=payment.error_code,
        error_description=payment.error_description,
        flag=before.flag if before else None,
        was_captured=payment.captured
        or payment.status == "captured"
        or (before is not None and before.captured),
        created_at=before.created_at if before else utc_now(),
    )


def _with_record(online: OnlinePayment, record: PaymentRecord) -> OnlinePayment:
    others = [p for p in online.payments if p.id != record.id]
    return online.model_copy(update={"payments": [*others, record]})


async def _confirm(
    order: Order,
    online: OnlinePayment,
    record: PaymentRecord,
    session: AsyncClientSession,
    effects: PaymentEffects,
    *,
    late: bool,
) -> Settled:
    also_set: dict[str, Any] = {}
    note = f"paid online ({record.id})"
    if late:  # its first take was given back at expiry: take the stock again, as a new take
        stock_round = order.stock_round + 1
        await take_stock(
            [StockLine(line.product_id, line.quantity) for line in order.lines],
            reference=stock_reference_of(order.id, stock_round),
            reason=f"order #{order.number} paid after its reservation ended",
            session=session,
        )
        also_set["stock_round"] = stock_round
        note += " after its reservation ended; stock taken again"
    online = recomputed(online).model_copy(update={"next_check_at": None})
    also_set["payment"] = online.model_dump()
    before, after = await change_order_status(
        stored_id(order),
        OrderStatus.CONFIRMED,
        actor_id=None,
        note=note,
        allowed_from=frozenset({order.status}),
        also_set=also_set,
        session=session,
    )
    await effects.order_moved(before, after, session)
    return Settled(Settlement.CONFIRMED, after)


async def _stock_left_for(order: Order, session: AsyncClientSession) -> bool:
    """Whether every line's quantity is in stock now (read in the transaction: a take after this
    read that changes it conflicts with ours)."""
    wanted: dict[ObjectId, int] = {}
    for line in order.lines:
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
    rows = Product.get_pymongo_collection().find(
        {"_id": {"$in": list(wanted)}}, {"stock": 1}, session=session
    )
    stock = {row["_id"]: row.get("stock", 0) async for row in rows}
    return all(stock.get(product_id, 0) >= quantity for product_id, quantity in wanted.items())


def _why_refunded(order: Order, paid_before: bool) -> str:
    if paid_before:
        return "paid twice: this payment is returned"
    if order.status is OrderStatus.PAYMENT_EXPIRED:
        return "paid after the reservation ended, and the stock is gone"
    return f"paid for an order that is {order.status.lower()}"
