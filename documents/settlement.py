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

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import pymongo
from beanie import Document
from bson import ObjectId
from pydantic import Field
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import Product
from documents.common import utc_now
from documents.orders import (
    Order,
    OrderError,
    OrderErrorCode,
    OrderStatus,
    change_order_status,
    order_in,
    stock_reference_of,
)
from documents.payments import (
    PAYMENT_STATUS_RANK,
    REFUND_STATUS_RANK,
    OnlinePayment,
    PaymentRecord,
    PaymentReport,
    PaymentState,
    RefundRecord,
    RefundReport,
    RefundStatus,
    recomputed,
    with_refund,
)
from documents.stock import StockLine, stock_turns, take_stock
from documents.transactions import in_transaction

T = TypeVar("T")

# How long after its reservation ends an order is still asked about (a late payment).
LATE_PAYMENT_WINDOW = timedelta(hours=24)
_CHECK_AT_LEAST_EVERY = timedelta(hours=1)
_CHECK_AT_MOST_EVERY = timedelta(minutes=1)
_REFUND_CHECK_AFTER = timedelta(minutes=5)
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "processed": RefundStatus.PROCESSED,
    "failed": RefundStatus.FAILED,
}


class PaymentEffects(Protocol):
    """What a payment change does beyond the order's document, inside its transaction."""

    async def order_moved(self, before: Order, after: Order, session: AsyncClientSession) -> None:
        """The order changed status (its email, its products' cached stock)."""
        ...

    async def refunds_requested(
        self, order: Order, refunds: list[RefundRecord], session: AsyncClientSession
    ) -> None:
        """Refunds were decided: ask the provider once the change commits."""
        ...

    async def refund_finished(
        self, order: Order, refund: RefundRecord, session: AsyncClientSession
    ) -> None:
        """A refund was PROCESSED or FAILED (the shopper's email)."""
        ...


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


class ProcessedWebhook(Document):
    """A webhook event already applied, by the provider's event id: a replay finds it here."""

    id: str  # type: ignore[assignment]  # X-Razorpay-Event-Id
    event: str
    outcome: str = ""
    received_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "processed_webhooks"
        indexes = [
            # The provider retries for a day; a month covers any replay worth catching.
            IndexModel(
                [("received_at", pymongo.ASCENDING)],
                name="forget_after_30_days",
                expireAfterSeconds=30 * 24 * 3600,
            )
        ]


SETTLEMENT_DOCUMENTS: list[type[Document]] = [ProcessedWebhook]


async def once_per_event(
    event_id: str, event: str, work: Callable[[AsyncClientSession], Awaitable[str]]
) -> str | None:
    """Run `work` and record `event_id` in one transaction; None if the event was applied
    before (the unique id decides, also between two deliveries arriving together)."""

    async def apply(session: AsyncClientSession) -> str:
        record = ProcessedWebhook(id=event_id, event=event)
        try:
            await ProcessedWebhook.get_pymongo_collection().insert_one(
                record.model_dump(by_alias=True), session=session
            )
        except DuplicateKeyError:
            raise _AppliedBeforeError from None  # only this insert means a replay
        outcome = await work(session)
        await ProcessedWebhook.get_pymongo_collection().update_one(
            {"_id": event_id}, {"$set": {"outcome": outcome}}, session=session
        )
        return outcome

    try:
        return await in_transaction(apply)
    except _AppliedBeforeError:
        return None


class _AppliedBeforeError(Exception):
    """The event id is recorded already: the event was applied."""


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
        online = _online(order)
        before = online.payment(payment.id)
        record = _moved_forward(before, payment)
        if before is not None and record == before:
            return Settled(Settlement.ALREADY_SETTLED, order)
        online = _with_record(online, record)
        if not record.captured or (before is not None and before.captured):
            return Settled(Settlement.RECORDED, await _write(order, online, session))
        if (payment.amount, payment.currency) != (order.total, order.currency):
            flag = (
                f"captured {payment.amount} {payment.currency} (minor units); "
                f"the order's total is {order.total} {order.currency}"
            )
            online = _with_record(online, record.model_copy(update={"flag": flag}))
            return Settled(Settlement.FLAGGED, await _write(order, online, session))
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
        written = await _write(order, online, session)
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
            also_set={"payment.next_check_at": now + _CHECK_AT_MOST_EVERY},
            session=session,
        )
        await effects.order_moved(before, after, session)
        return after

    # Its stock goes back: take turns with this process's other changes of those products.
    products = [line.product_id for line in (await order_in(None, order_id)).lines]
    async with stock_turns(products):
        return await in_transaction(apply)


async def request_refund(
    order_id: ObjectId,
    *,
    amount: int | None,
    key: str,
    reason: str,
    actor_id: ObjectId | None,
    effects: PaymentEffects,
) -> tuple[Order, RefundRecord]:
    """Refund `amount` (None: all that is left) of the order's captured payment, once per `key`.
    The order's status does not change (cancelling is another operation)."""

    async def apply(session: AsyncClientSession) -> tuple[Order, RefundRecord]:
        order = await order_in(session, order_id, field="orderId")
        online = order.payment
        if online is None:
            raise OrderError(
                OrderErrorCode.NOT_AN_ONLINE_ORDER, "Only online payments refund", field="orderId"
            )
        if existing := online.refund(key):
            return order, existing
        record = max(online.payments, key=online.refundable, default=None)
        left = online.refundable(record) if record else 0
        if record is None or left <= 0:
            raise OrderError(OrderErrorCode.NOTHING_TO_REFUND, "Nothing is left to refund")
        wanted = left if amount is None else amount
        if not 0 < wanted <= left:
            raise OrderError(
                OrderErrorCode.INVALID_REFUND_AMOUNT,
                f"Refund more than 0 and at most what is left ({left} minor units)",
                field="amount",
                extensions={"refundable": left, "currency": order.currency},
            )
        online, refund = with_refund(
            online, record, key=key, amount=wanted, reason=reason, actor_id=actor_id
        )
        written = await _write(order, online, session)
        await effects.refunds_requested(written, [refund], session)
        return written, refund

    return await in_transaction(apply)


async def claim_refund(
    order_id: ObjectId, key: str, *, now: datetime, lease: timedelta
) -> tuple[Order, RefundRecord] | None:
    """Take a REQUESTED refund for one call to the provider: no other claim succeeds until the
    lease ends (when a worker died mid-call, the next claim checks before asking again)."""
    raw = await Order.get_pymongo_collection().find_one_and_update(
        {
            "_id": order_id,
            "payment.refunds": {
                "$elemMatch": {
                    "key": key,
                    "status": RefundStatus.REQUESTED.value,
                    "next_attempt_at": {"$lte": now},
                }
            },
        },
        {
            "$set": {"payment.refunds.$[r].next_attempt_at": now + lease},
            "$inc": {"payment.refunds.$[r].attempts": 1},
        },
        array_filters=[{"r.key": key}],
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return None
    order = Order.model_validate(raw)
    refund = _online(order).refund(key)
    assert refund is not None
    return order, refund


async def refund_attempt_failed(
    order_id: ObjectId,
    key: str,
    *,
    error: str,
    retry_at: datetime | None,
    effects: PaymentEffects,
) -> None:
    """The provider could not be asked (`retry_at`: try again then) or said no (None: FAILED)."""

    async def apply(session: AsyncClientSession) -> None:
        order = await order_in(session, order_id)
        online = _online(order)
        refund = online.refund(key)
        if refund is None or refund.status is not RefundStatus.REQUESTED:
            return  # the webhook or the reconciler knew better meanwhile
        changes: dict[str, Any] = {"error": error[:500], "updated_at": utc_now()}
        if retry_at is None:
            changes.update(status=RefundStatus.FAILED, next_attempt_at=None)
        else:
            changes["next_attempt_at"] = retry_at
        failed = refund.model_copy(update=changes)
        written = await _write(order, _with_refund_record(online, failed), session)
        if retry_at is None:
            await effects.refund_finished(written, failed, session)

    await in_transaction(apply)


async def record_refund(
    refund: RefundReport,
    *,
    key: str | None = None,
    effects: PaymentEffects,
    session: AsyncClientSession | None = None,
) -> Order | None:
    """Take the provider's word on `refund`: matched to our record by the provider's id, else by
    our key (or the receipt made from it), else recorded as a refund made elsewhere (the provider's dashboard).
    Statuses only move forward, so the call's own answer and the webhook agree in any order.
    None when no order has the payment."""

    async def apply(session: AsyncClientSession) -> Order | None:
        raw = await Order.get_pymongo_collection().find_one(
            {"payment.payments.id": refund.payment_id}, session=session
        )
        if raw is None:
            return None
        order = Order.model_validate(raw)
        online = _online(order)
        before = next(
            (r for r in online.refunds if r.provider_id == refund.id),
            next(
                (
                    r
                    for r in online.refunds
                    if r.key == key or (refund.receipt and r.receipt == refund.receipt)
                ),
                None,
            ),
        )
        status = _REFUND_STATUS.get(refund.status, RefundStatus.PENDING)
        if before is None:
            before = RefundRecord(
                key=refund.id,
                payment_id=refund.payment_id,
                amount=refund.amount,
                currency=refund.currency,
                reason="refunded outside the shop",
                next_attempt_at=None,
            )
            online = online.model_copy(update={"refunds": [*online.refunds, before]})
        moved = REFUND_STATUS_RANK[status] > REFUND_STATUS_RANK[before.status]
        after = before.model_copy(
            update={
                "provider_id": refund.id,
                "provider_status": refund.status if moved else before.provider_status,
                "status": status if moved else before.status,
                "next_attempt_at": None,
                "updated_at": utc_now() if moved else before.updated_at,
            }
        )
        if after == before:
            return order
        written = await _write(order, _with_refund_record(online, after), session)
        if moved and after.status in (RefundStatus.PROCESSED, RefundStatus.FAILED):
            await effects.refund_finished(written, after, session)
        return written

    return await in_transaction(apply, session=session)


async def payment_checked(order_id: ObjectId, *, now: datetime) -> None:
    """The reconciler asked about the order: when to ask next, or never again."""
    order = await order_in(None, order_id)
    online = _online(order)
    waiting = order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_EXPIRED) and (
        now - online.reserved_until < LATE_PAYMENT_WINDOW
    )
    open_refunds = any(r.status is RefundStatus.PENDING for r in online.refunds)
    next_at = None
    if waiting or open_refunds:
        age = now - order.created_at
        next_at = now + min(max(age / 2, _CHECK_AT_MOST_EVERY), _CHECK_AT_LEAST_EVERY)
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
            for refund in _online(order).refunds
            if refund.status is RefundStatus.REQUESTED
            and refund.next_attempt_at is not None
            and refund.next_attempt_at <= now
        ]
    return due


# -- the pieces --------------------------------------------------------------------------------


def _online(order: Order) -> OnlinePayment:
    if order.payment is None:
        raise OrderError(
            OrderErrorCode.NOT_AN_ONLINE_ORDER, "The order is not paid online", field="orderId"
        )
    return order.payment


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


def _with_refund_record(online: OnlinePayment, refund: RefundRecord) -> OnlinePayment:
    refunds = [refund if r.key == refund.key else r for r in online.refunds]
    return online.model_copy(update={"refunds": refunds})


async def _write(order: Order, online: OnlinePayment, session: AsyncClientSession) -> Order:
    online = recomputed(online)
    if online.next_check_at is None and any(
        r.status is RefundStatus.PENDING for r in online.refunds
    ):  # the reconciler asks after it, in case its webhook never comes
        online = online.model_copy(update={"next_check_at": utc_now() + _REFUND_CHECK_AFTER})
    raw = await Order.get_pymongo_collection().find_one_and_update(
        {"_id": order.id},
        {"$set": {"payment": online.model_dump(), "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert raw is not None  # read and written in one transaction
    return Order.model_validate(raw)


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
        order.id,  # type: ignore[arg-type]
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
