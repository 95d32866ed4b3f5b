"""Orders: what was bought (snapshots, not live reads), where it goes, and the state machine.

An order's lines, totals and address are copies taken at checkout, so an order reads the same
after its products change, are archived or are deleted. Its status moves only through
`ORDER_TRANSITIONS`, by `change_order_status`, which appends each move to `history`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import pymongo
from beanie import Document, PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.common import Image, utc_now
from documents.errors import DomainError
from documents.payments import OnlinePayment, with_everything_refunded
from documents.stock import give_back_stock
from documents.text import is_visible_text
from documents.transactions import in_transaction


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "PENDING_PAYMENT"  # online: stock reserved until the payment or its expiry
    PAYMENT_EXPIRED = "PAYMENT_EXPIRED"  # online: not paid in time; its stock went back
    CONFIRMED = "CONFIRMED"  # to fulfil: cash on delivery, or paid online
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


# Where each status may go next. Cancelling is allowed until the order is delivered (who may
# cancel when is the caller's rule); the stock of a cancelled or expired order goes back exactly
# once (`documents/stock.give_back_stock`), and a cancelled paid order is refunded. An expired
# order becomes CONFIRMED only when a late payment could take its stock again.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING_PAYMENT: frozenset(
        {OrderStatus.CONFIRMED, OrderStatus.PAYMENT_EXPIRED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAYMENT_EXPIRED: frozenset({OrderStatus.CONFIRMED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PACKED, OrderStatus.CANCELLED}),
    OrderStatus.PACKED: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
    OrderStatus.DELIVERED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
if set(ORDER_TRANSITIONS) != set(OrderStatus) or any(
    not targets <= set(OrderStatus) for targets in ORDER_TRANSITIONS.values()
):
    raise RuntimeError("ORDER_TRANSITIONS must name every status")


class PaymentMethod(enum.StrEnum):
    COD = "COD"  # cash on delivery
    ONLINE = "ONLINE"  # Razorpay Checkout


class OrderErrorCode(enum.StrEnum):
    """Why an order operation was refused; clients branch on these."""

    CART_EMPTY = "CART_EMPTY"
    CART_CHANGED = "CART_CHANGED"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    PRICE_CHANGED = "PRICE_CHANGED"
    ADDRESS_NOT_FOUND = "ADDRESS_NOT_FOUND"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    PAYMENT_METHOD_UNAVAILABLE = "PAYMENT_METHOD_UNAVAILABLE"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    INVALID_ORDER_TRANSITION = "INVALID_ORDER_TRANSITION"
    INVALID_REASON = "INVALID_REASON"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    INVALID_PAYMENT_SIGNATURE = "INVALID_PAYMENT_SIGNATURE"
    PAYMENT_NOT_COMPLETED = "PAYMENT_NOT_COMPLETED"
    NOT_AN_ONLINE_ORDER = "NOT_AN_ONLINE_ORDER"
    NOTHING_TO_REFUND = "NOTHING_TO_REFUND"
    INVALID_REFUND_AMOUNT = "INVALID_REFUND_AMOUNT"
    PAYMENT_NEEDS_REVIEW = "PAYMENT_NEEDS_REVIEW"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"


class OrderError(DomainError):
    def __init__(
        self,
        code: OrderErrorCode,
        message: str,
        *,
        field: str | None = None,
        extensions: dict[str, object] | None = None,
    ) -> None:
        super().__init__(code, message, field=field, extensions=extensions)


class OrderLine(BaseModel):
    """A product as it was bought."""

    product_id: PydanticObjectId
    name: str
    slug: str
    image: Image | None = None
    unit_price: int
    quantity: Annotated[int, Field(ge=1)]
    line_total: int


class OrderAddress(BaseModel):
    """The shipping address as it was when the order was placed."""

    name: str
    phone: str
    line1: str
    line2: str = ""
    city: str
    state: str
    postal_code: str
    country: str


class OrderEvent(BaseModel):
    """One move of an order's status."""

    from_status: OrderStatus | None
    to_status: OrderStatus
    actor_id: PydanticObjectId | None  # None: the system (a payment, a sweep)
    at: datetime = Field(default_factory=utc_now)
    note: str = ""


class Order(Document):
    """A placed order. Money is integer minor units of `currency`."""

    number: int  # human-readable, increasing, unique (#1001)
    user_id: PydanticObjectId
    email: str
    status: OrderStatus
    payment_method: PaymentMethod
    lines: list[OrderLine]
    currency: str
    item_count: int
    subtotal: int
    discount: int
    shipping: int
    total: int
    shipping_address: OrderAddress
    idempotency_key: str
    history: list[OrderEvent] = Field(default_factory=list)
    payment: OnlinePayment | None = None  # ONLINE orders
    # Which take of stock the order holds: a late payment after expiry takes it a second time.
    stock_round: int = 1
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def stock_reference(self) -> str:
        """The reference its stock is taken and given back under (each take has its own)."""
        return stock_reference_of(self.id, self.stock_round)

    class Settings:
        name = "orders"
        indexes = [
            IndexModel([("number", pymongo.ASCENDING)], name="number_unique", unique=True),
            # The guard that makes placeOrder idempotent: one order per (user, key).
            IndexModel(
                [("user_id", pymongo.ASCENDING), ("idempotency_key", pymongo.ASCENDING)],
                name="user_idempotency_key_unique",
                unique=True,
            ),
            IndexModel(
                [
                    ("user_id", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="user_newest",
            ),
            IndexModel(
                [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)], name="newest"
            ),
            # Webhooks and callbacks find the order by the provider's order id and payment ids.
            IndexModel(
                [("payment.provider_order_id", pymongo.ASCENDING)],
                name="provider_order_unique",
                unique=True,
                partialFilterExpression={"payment.provider_order_id": {"$type": "string"}},
            ),
            IndexModel(
                [
                    ("payment.state", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="payment_state_newest",
                partialFilterExpression={"payment_method": PaymentMethod.ONLINE.value},
            ),
            IndexModel(
                [("payment.payments.id", pymongo.ASCENDING)],
                name="provider_payment",
                partialFilterExpression={"payment_method": PaymentMethod.ONLINE.value},
            ),
            # The sweeps: reservations that run out, orders the reconciler should ask about,
            # refunds due to be asked for.
            IndexModel(
                [("status", pymongo.ASCENDING), ("payment.reserved_until", pymongo.ASCENDING)],
                name="reservation_ends",
                partialFilterExpression={"payment_method": PaymentMethod.ONLINE.value},
            ),
            IndexModel(
                [("payment.next_check_at", pymongo.ASCENDING)],
                name="payment_check_due",
                partialFilterExpression={"payment.next_check_at": {"$type": "date"}},
            ),
            IndexModel(
                [("payment.refunds.next_attempt_at", pymongo.ASCENDING)],
                name="refund_attempt_due",
                partialFilterExpression={"payment_method": PaymentMethod.ONLINE.value},
            ),
            IndexModel(
                [
                    ("status", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="status_newest",
            ),
            IndexModel(
                [
                    ("lines.product_id", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="product_newest",
            ),
        ]


class OrderCounter(Document):
    """The next order number. Taken outside the order's transaction, so concurrent checkouts do
    not all conflict on it; an aborted checkout leaves a gap, as shops' order numbers do."""

    value: int

    class Settings:
        name = "order_counters"


def stock_reference_of(order_id: ObjectId | None, stock_round: int) -> str:
    return f"order:{order_id}" if stock_round == 1 else f"order:{order_id}:{stock_round}"


FIRST_ORDER_NUMBER = 1001
ORDER_DOCUMENTS: list[type[Document]] = [Order, OrderCounter]


MAX_NOTE_LENGTH = 500


def check_note(note: str | None, *, field: str = "note") -> str:
    """A short plain-text note or reason: whitespace collapsed, no control characters."""
    cleaned = " ".join((note or "").split())
    if len(cleaned) > MAX_NOTE_LENGTH or not is_visible_text(cleaned):
        raise OrderError(
            OrderErrorCode.INVALID_REASON,
            f"Use at most {MAX_NOTE_LENGTH} visible characters",
            field=field,
        )
    return cleaned


async def next_order_number() -> int:
    """The next order number (#1001, #1002, ...), unique and increasing."""
    counter = await OrderCounter.get_pymongo_collection().find_one_and_update(
        {"_id": "orders"},
        {"$inc": {"value": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert counter is not None
    return FIRST_ORDER_NUMBER + int(counter["value"]) - 1


async def insert_order(order: Order, *, session: AsyncClientSession | None = None) -> None:
    """Write a new order, validated when it was built, as Beanie's `insert` stores it but
    without its per-document work (checkout writes one per order). A second order of the same
    user and idempotency key is a DuplicateKeyError (the `user_idempotency_key_unique` index)."""
    stored = order.model_dump(exclude={"id", "revision_id"})
    if order.id is not None:
        stored = {"_id": order.id, **stored}
    result = await Order.get_pymongo_collection().insert_one(stored, session=session)
    order.id = result.inserted_id


async def order_in(
    session: AsyncClientSession | None, order_id: ObjectId, *, field: str | None = None
) -> Order:
    raw = await Order.get_pymongo_collection().find_one({"_id": order_id}, session=session)
    if raw is None:
        raise OrderError(OrderErrorCode.ORDER_NOT_FOUND, "No such order", field=field)
    return Order.model_validate(raw)


_GIVES_STOCK_BACK = frozenset({OrderStatus.CANCELLED, OrderStatus.PAYMENT_EXPIRED})


async def change_order_status(
    order_id: ObjectId,
    to_status: OrderStatus,
    *,
    actor_id: ObjectId | None,
    note: str = "",
    allowed_from: frozenset[OrderStatus] | None = None,
    also_set: dict[str, Any] | None = None,
    session: AsyncClientSession | None = None,
) -> tuple[Order, Order]:
    """Move the order to `to_status` if `ORDER_TRANSITIONS` allows it from where it is (and, with
    `allowed_from`, only from those states), recording the move in its history; `also_set`
    writes more fields in the same update. Cancelling or expiring gives its stock back, exactly
    once; cancelling a paid order also asks for its money back (REQUESTED refunds, sent by the
    refund job). Returns the order before and after. Every status change goes through here:
    mutations, payments and sweeps alike."""
    note = check_note(note)

    async def apply(session: AsyncClientSession) -> tuple[Order, Order]:
        before = await order_in(session, order_id, field="id")
        allowed = ORDER_TRANSITIONS[before.status]
        if allowed_from is not None and before.status not in allowed_from:
            allowed = frozenset()
        if to_status not in allowed:
            raise OrderError(
                OrderErrorCode.INVALID_ORDER_TRANSITION,
                f"An order that is {before.status} cannot become {to_status}",
                field="status",
                extensions={"currentStatus": str(before.status)},
            )
        event = OrderEvent(
            from_status=before.status, to_status=to_status, actor_id=actor_id, note=note
        )
        changes: dict[str, Any] = {"status": to_status, "updated_at": event.at, **(also_set or {})}
        if to_status is OrderStatus.CANCELLED and before.payment is not None:
            refunded = with_everything_refunded(
                before.payment,
                key=f"cancel:{order_id}",
                reason="order cancelled",
                actor_id=actor_id,
            )
            changes["payment"] = refunded.model_dump()
        raw = await Order.get_pymongo_collection().find_one_and_update(
            {"_id": order_id, "status": before.status},
            {"$set": changes, "$push": {"history": event.model_dump()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert raw is not None  # read and written in one transaction
        if to_status in _GIVES_STOCK_BACK:
            await give_back_stock(
                reference=before.stock_reference,
                reason=f"order {to_status.lower().replace('_', ' ')}",
                session=session,
            )
        return before, Order.model_validate(raw)

    return await in_transaction(apply, session=session)
