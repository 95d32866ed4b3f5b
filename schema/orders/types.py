"""Order types: orders with their lines, address and history, and the order error type."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from documents import orders as documents
from documents.accounts import Role
from documents.orders import MAX_NOTE_LENGTH, OrderErrorCode, OrderStatus, PaymentMethod
from resolvers.accounts.viewer import private_viewer
from resolvers.orders.status import next_statuses
from schema.catalog import Product
from schema.common import Image, Money
from schema.enums import described_enum
from schema.info import Info
from schema.orders.payment_types import OrderPayment
from schema.pagination import CountedConnection

described_enum(
    OrderStatus,
    "Where an order is in its life.",
    {
        "PENDING_PAYMENT": "Paid online, not yet paid: its stock is held until `reservedUntil`.",
        "PAYMENT_EXPIRED": "Paid online, not paid in time: its stock went back.",
        "CONFIRMED": "To fulfil: cash on delivery, or paid online.",
        "PACKED": "Packed, waiting to ship.",
        "SHIPPED": "On its way.",
        "DELIVERED": "Delivered; final.",
        "CANCELLED": "Cancelled: its stock went back and an online payment is refunded; final.",
    },
)
described_enum(
    PaymentMethod,
    "How an order is paid.",
    {
        "COD": "Cash on delivery.",
        "ONLINE": "Online with Razorpay Checkout, before the order is confirmed.",
    },
)
described_enum(
    OrderErrorCode,
    "Why an order operation was refused.",
    {
        "CART_EMPTY": "The cart has nothing to order.",
        "CART_CHANGED": (
            "The cart changed since the shopper reviewed it (`expectedCartVersion`): show it again."
        ),
        "PRODUCT_UNAVAILABLE": (
            "Some products in the cart are no longer sold: remove them from the cart."
        ),
        "INSUFFICIENT_STOCK": "Some lines ask for more than is left; see `shortLines`.",
        "PRICE_CHANGED": (
            "The total is not `expectedTotal` any more; see `total`, show it and confirm again."
        ),
        "ADDRESS_NOT_FOUND": "The user has no address with that ID.",
        "EMAIL_NOT_VERIFIED": "The user must verify their email address before ordering.",
        "INVALID_IDEMPOTENCY_KEY": "The idempotency key is empty, too long or not visible text.",
        "PAYMENT_METHOD_UNAVAILABLE": "Online payment is not enabled on this shop.",
        "ORDER_NOT_FOUND": "No order that the viewer may see has that ID.",
        "INVALID_ORDER_TRANSITION": (
            "The order cannot move to that status from `currentStatus` (see `nextStatuses`), or "
            "only the system makes that move."
        ),
        "INVALID_REASON": (
            f"The reason or note is longer than {MAX_NOTE_LENGTH} characters, or not plain text."
        ),
        "PAYMENT_PROVIDER_UNAVAILABLE": (
            "The payment provider could not be reached, and nothing was done; see `retryable`."
        ),
        "INVALID_PAYMENT_SIGNATURE": (
            "The payment's signature does not match, or the payment belongs to another order."
        ),
        "PAYMENT_NOT_COMPLETED": "The payment is not captured, or the provider does not know it.",
        "NOT_AN_ONLINE_ORDER": "The order is cash on delivery, not paid online.",
        "NOTHING_TO_REFUND": "Everything paid is refunded already.",
        "INVALID_REFUND_AMOUNT": "Refund more than 0 and at most `refundable`.",
        "PAYMENT_NEEDS_REVIEW": (
            "The payment does not match the order's total: the shop looks at it before the "
            "order goes on."
        ),
        "PAYMENT_REFUNDED": (
            "The order could not take this payment (cancelled, expired without stock, or paid "
            "twice): it is refunded in full."
        ),
    },
)


@strawberry.type(description="A line that lacks stock: asked for, and what is left.")
class ShortLine:
    product_id: strawberry.ID = strawberry.field(description="Global ID of the product.")
    requested: int = strawberry.field(description="Units in the cart.")
    available: int = strawberry.field(description="Units left.")


@strawberry.type(description="A problem with an order operation, fixable by the shopper or admin.")
class OrderError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: OrderErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")
    total: Money | None = strawberry.field(
        default=None, description="PRICE_CHANGED: the total now, to show and confirm."
    )
    short_lines: list[ShortLine] = strawberry.field(
        default_factory=list, description="INSUFFICIENT_STOCK: every line that lacks stock."
    )
    current_status: OrderStatus | None = strawberry.field(
        default=None, description="INVALID_ORDER_TRANSITION: the order's status now."
    )
    retryable: bool = strawberry.field(
        default=False, description="The same request may succeed if sent again a little later."
    )
    refundable: Money | None = strawberry.field(
        default=None, description="INVALID_REFUND_AMOUNT: what is left to refund."
    )

    @classmethod
    def from_domain(cls, error: documents.OrderError) -> OrderError:
        details = error.extensions
        total = None
        if "total" in details:
            total = Money(amount=details["total"], currency=details.get("currency", ""))
        return cls(
            field=error.field,
            code=OrderErrorCode(error.code),
            message=error.message,
            total=total,
            short_lines=[
                ShortLine(
                    product_id=strawberry.ID(str(relay.GlobalID("Product", line["productId"]))),
                    requested=line["requested"],
                    available=line["available"],
                )
                for line in details.get("lines", [])
            ],
            current_status=OrderStatus(details["currentStatus"])
            if "currentStatus" in details
            else None,
            retryable=bool(details.get("retryable")),
            refundable=Money.of(details["refundable"], details["currency"])
            if "refundable" in details
            else None,
        )


@strawberry.type(description="A product as it was bought.")
class OrderLine:
    name: str = strawberry.field(description="Product name at the time of the order.")
    slug: str = strawberry.field(description="Product slug at the time of the order.")
    image: Image | None = strawberry.field(description="Main image at the time of the order.")
    unit_price: Money = strawberry.field(description="Price paid per unit.")
    quantity: int = strawberry.field(description="Units bought.")
    line_total: Money = strawberry.field(description="unitPrice times quantity.")
    _product_id: strawberry.Private[object]

    @strawberry.field(description="The product as it is now; null once it is deleted.")
    async def product(self, info: Info) -> Product | None:
        found = await info.context.loaders.product_by_id.load(self._product_id)
        return Product.from_document(found) if found else None


@strawberry.type(description="Where an order goes.")
class OrderAddress:
    name: str = strawberry.field(description="Recipient.")
    phone: str = strawberry.field(description="Phone, E.164.")
    line1: str = strawberry.field(description="Street and number.")
    line2: str = strawberry.field(description="More of the address; may be empty.")
    city: str = strawberry.field(description="City.")
    state: str = strawberry.field(description="State.")
    postal_code: str = strawberry.field(description="PIN code.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="One move of an order's status.")
class OrderEvent:
    from_status: OrderStatus | None = strawberry.field(description="Before; null at placement.")
    to_status: OrderStatus = strawberry.field(description="After.")
    at: datetime = strawberry.field(description="When (UTC).")
    note: str = strawberry.field(description="Why, as the person who moved it said.")


@strawberry.type(description="A placed order.")
class Order(relay.Node):
    id: relay.NodeID[str]
    number: int = strawberry.field(description="Human-readable number, e.g. 1001 (#1001).")
    status: OrderStatus = strawberry.field(description="Where the order is now.")
    payment_method: PaymentMethod = strawberry.field(description="How it is paid.")
    email: str = strawberry.field(description="The buyer's email at the time of the order.")
    lines: list[OrderLine] = strawberry.field(description="What was bought.")
    item_count: int = strawberry.field(description="Units in all lines.")
    subtotal: Money = strawberry.field(description="List prices of all lines.")
    discount: Money = strawberry.field(description="What the product discounts took off.")
    shipping: Money = strawberry.field(description="Shipping fee.")
    total: Money = strawberry.field(
        description="subtotal - discount + shipping; prices include tax."
    )
    shipping_address: OrderAddress = strawberry.field(description="Where it goes.")
    history: list[OrderEvent] = strawberry.field(description="Every status move, oldest first.")
    created_at: datetime = strawberry.field(description="When it was placed (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    _document: strawberry.Private[documents.Order]

    @classmethod
    def from_document(cls, order: documents.Order) -> Order:
        def money(amount: int) -> Money:
            return Money.of(amount, order.currency)

        return cls(
            id=str(order.id),
            number=order.number,
            status=order.status,
            payment_method=order.payment_method,
            email=order.email,
            lines=[
                OrderLine(
                    name=line.name,
                    slug=line.slug,
                    image=Image.from_document(line.image) if line.image else None,
                    unit_price=money(line.unit_price),
                    quantity=line.quantity,
                    line_total=money(line.line_total),
                    _product_id=line.product_id,
                )
                for line in order.lines
            ],
            item_count=order.item_count,
            subtotal=money(order.subtotal),
            discount=money(order.discount),
            shipping=money(order.shipping),
            total=money(order.total),
            shipping_address=OrderAddress(**order.shipping_address.model_dump()),
            history=[
                OrderEvent(from_status=e.from_status, to_status=e.to_status, at=e.at, note=e.note)
                for e in order.history
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            _document=order,
        )

    @strawberry.field(description="Online orders: the payment's state, attempts and refunds.")
    async def payment(self, info: Info) -> OrderPayment | None:
        order = self._document
        if order.payment is None:
            return None
        viewer = await private_viewer(info.context)
        for_admin = viewer is not None and viewer.user.role is Role.ADMIN
        return OrderPayment.of(order.payment, order.currency, for_admin=for_admin)

    @strawberry.field(description="Statuses the order may move to next, by the transitions table.")
    def next_statuses(self) -> list[OrderStatus]:
        return next_statuses(self._document)


@strawberry.type(name="OrderConnection", description="A page of orders.")
class OrderConnection(CountedConnection[Order]):
    pass
