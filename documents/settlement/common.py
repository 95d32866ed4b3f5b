"""What the settlement modules share: the effects a change asks for, and writing an order's
payment with its sums, state and next check worked out again."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.common import utc_now
from documents.orders import (
    Order,
    OrderError,
    OrderErrorCode,
)
from documents.payments import (
    OnlinePayment,
    RefundRecord,
    RefundStatus,
    recomputed,
)

# The reconciler looks at a pending refund this long after it is recorded, in case its webhook
# never comes; and at an expired order this soon after, in case a payment was made at the last
# moment.
REFUND_CHECK_AFTER = timedelta(minutes=5)
CHECK_AT_MOST_EVERY = timedelta(minutes=1)


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


def online_of(order: Order) -> OnlinePayment:
    if order.payment is None:
        raise OrderError(
            OrderErrorCode.NOT_AN_ONLINE_ORDER, "The order is not paid online", field="orderId"
        )
    return order.payment


def with_refund_record(online: OnlinePayment, refund: RefundRecord) -> OnlinePayment:
    refunds = [refund if r.key == refund.key else r for r in online.refunds]
    return online.model_copy(update={"refunds": refunds})


async def write_payment(order: Order, online: OnlinePayment, session: AsyncClientSession) -> Order:
    online = recomputed(online)
    if online.next_check_at is None and any(
        r.status is RefundStatus.PENDING for r in online.refunds
    ):  # the reconciler asks after it, in case its webhook never comes
        online = online.model_copy(update={"next_check_at": utc_now() + REFUND_CHECK_AFTER})
    raw = await Order.get_pymongo_collection().find_one_and_update(
        {"_id": order.id},
        {"$set": {"payment": online.model_dump(), "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    assert raw is not None  # read and written in one transaction
    return Order.model_validate(raw)
