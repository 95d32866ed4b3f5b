"""Refunds: deciding one (`request_refund`), the refund job's claim and failures, and taking the
provider's word on one (`record_refund`) from the job, the webhook or the reconciler."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.common import utc_now
from documents.orders import (
    Order,
    OrderError,
    OrderErrorCode,
    order_in,
)
from documents.payments import (
    REFUND_STATUS_RANK,
    RefundRecord,
    RefundReport,
    RefundStatus,
    with_refund,
)
from documents.settlement.common import (
    PaymentEffects,
    online_of,
    with_refund_record,
    write_payment,
)
from documents.transactions import in_transaction

_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "processed": RefundStatus.PROCESSED,
    "failed": RefundStatus.FAILED,
}


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
        written = await write_payment(order, online, session)
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
    refund = online_of(order).refund(key)
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
        online = online_of(order)
        refund = online.refund(key)
        if refund is None or refund.status is not RefundStatus.REQUESTED:
            return  # the webhook or the reconciler knew better meanwhile
        changes: dict[str, Any] = {"error": error[:500], "updated_at": utc_now()}
        if retry_at is None:
            changes.update(status=RefundStatus.FAILED, next_attempt_at=None)
        else:
            changes["next_attempt_at"] = retry_at
        failed = refund.model_copy(update=changes)
        written = await write_payment(order, with_refund_record(online, failed), session)
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
        online = online_of(order)
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
        written = await write_payment(order, with_refund_record(online, after), session)
        if moved and after.status in (RefundStatus.PROCESSED, RefundStatus.FAILED):
            await effects.refund_finished(written, after, session)
        return written

    return await in_transaction(apply, session=session)
