"""`placeOrder`: checkout in the API."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from documents.orders import PaymentMethod
from resolvers.accounts.viewer import require_viewer
from resolvers.orders import checkout
from schema.ids import decode_global_id
from schema.info import Info
from schema.orders.payment_types import PaymentCheckout
from schema.orders.types import Order, OrderError
from schema.payloads import user_errors
from schema.permissions import IsAuthenticated


@strawberry.input(
    description="What to order: the signed-in user's cart, to one of their addresses."
)
class PlaceOrderInput:
    address_id: strawberry.ID = strawberry.field(description="One of the user's addresses.")
    payment_method: PaymentMethod = strawberry.field(
        default=PaymentMethod.COD,
        description="COD (cash on delivery) or ONLINE (Razorpay Checkout: the order waits in "
        "PENDING_PAYMENT, its stock held, until paid or PAYMENT_RESERVATION_MINUTES pass).",
    )
    idempotency_key: str = strawberry.field(
        description="Unique per checkout attempt (a UUID): a repeat returns the first order."
    )
    expected_total: Decimal | None = strawberry.field(
        default=None,
        description="The total the shopper was shown; if it changed, nothing is ordered and the "
        "answer is PRICE_CHANGED with the new total.",
    )
    expected_cart_version: int | None = strawberry.field(
        default=None,
        description="The `Cart.version` the shopper reviewed; if the cart changed since (another "
        "tab), nothing is ordered and the answer is CART_CHANGED.",
    )


@strawberry.type(description="Result of `placeOrder`.")
class PlaceOrderPayload:
    order: Order | None = strawberry.field(default=None, description="The placed order.")
    payment: PaymentCheckout | None = strawberry.field(
        default=None,
        description="ONLINE, while unpaid: the options to open Razorpay Checkout with. A repeat "
        "with the same idempotency key gives them again.",
    )
    errors: list[OrderError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type
class CheckoutMutation:
    @strawberry.mutation(
        description="Order the cart: stock taken, order written and cart emptied in one "
        "transaction, or nothing at all. Needs a verified email. ONLINE orders also get a "
        "Razorpay order (`payment`); if Razorpay cannot make one, nothing is ordered and the "
        "error is PAYMENT_PROVIDER_UNAVAILABLE (retryable).",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(PlaceOrderPayload, OrderError)
    async def place_order(self, info: Info, input: PlaceOrderInput) -> PlaceOrderPayload:
        viewer = await require_viewer(info.context)
        address_id = decode_global_id(input.address_id, "Address", field="addressId")
        assert address_id is not None
        placed = await checkout.place_order(
            info.context,
            viewer,
            address_id=address_id,
            payment_method=input.payment_method,
            idempotency_key=input.idempotency_key,
            expected_total=input.expected_total,
            expected_cart_version=input.expected_cart_version,
        )
        payment = placed.payment
        return PlaceOrderPayload(
            order=Order.from_document(placed.order),
            payment=PaymentCheckout.of(payment) if payment else None,
        )
