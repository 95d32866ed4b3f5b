"""`placeOrder`: the signed-in user's cart becomes an order, with its email, in one unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents import checkout
from documents.addresses import address_of
from documents.common import stored_id
from documents.errors import RateLimitedError
from documents.money import to_minor_units
from documents.orders import Order, OrderAddress, OrderError, OrderErrorCode, PaymentMethod
from resolvers.accounts.viewer import Viewer
from resolvers.cart import shipping_rule
from resolvers.context import Context
from resolvers.orders.emails import send_status_email
from resolvers.payments.flow import PaymentCheckout, new_online_payment, start_payment


@dataclass(frozen=True)
class Placed:
    order: Order
    created: bool  # False: an earlier call with the same key placed it
    payment: PaymentCheckout | None  # ONLINE, while unpaid: what Razorpay Checkout needs


async def place_order(
    ctx: Context,
    viewer: Viewer,
    *,
    address_id: ObjectId,
    payment_method: PaymentMethod,
    idempotency_key: str,
    expected_total: Decimal | None,
    expected_cart_version: int | None = None,
) -> Placed:
    """Place the viewer's cart as an order, or say precisely why not; nothing is half-done.

    A repeated idempotency key answers with the first order, so a retry succeeds even when its
    address or cart has changed since: the first order is looked for only when something
    refuses this call (the order's unique (user, key) index included), not on every checkout.
    A repeat counts against the rate limit, and is answered when over it."""
    user_id = stored_id(viewer.user)
    key = checkout.check_idempotency_key(idempotency_key)
    try:
        await ctx.services.rate_limiter.check("place_order", ip=ctx.client_ip, account=str(user_id))
        if not viewer.user.email_verified:
            raise OrderError(OrderErrorCode.EMAIL_NOT_VERIFIED, "Verify your email address first")
        online = new_online_payment(ctx) if payment_method is PaymentMethod.ONLINE else None
        address = await address_of(user_id, address_id)
        if address is None:
            raise OrderError(OrderErrorCode.ADDRESS_NOT_FOUND, "No such address", field="addressId")
    except (OrderError, RateLimitedError):
        if earlier := await checkout.order_for_key(user_id, key):
            return await _with_payment(ctx, earlier, created=False)
        raise
    currency = ctx.settings.shop_currency
    expected = None
    if expected_total is not None:  # a malformed amount is BAD_USER_INPUT, naming the field
        expected = to_minor_units(expected_total, currency, field="expectedTotal")
    order_checkout = checkout.Checkout(
        user=viewer.user,
        address=OrderAddress.model_validate(address, from_attributes=True),
        payment_method=payment_method,
        idempotency_key=key,
        expected_total=expected,
        currency=currency,
        shipping=shipping_rule(ctx.settings),
        expected_cart_version=expected_cart_version,
        payment=online,
    )

    async def also(placed: checkout.PlacedOrder, session: AsyncClientSession) -> None:
        await ctx.query_cache.product_changed(*placed.products)  # their stock changed
        # CONFIRMED (cash on delivery): the confirmation.
        await send_status_email(ctx, placed.order, session, new_order=True)

    placed = await checkout.place_order(order_checkout, also=also)
    return await _with_payment(ctx, placed.order, created=placed.created)


async def _with_payment(ctx: Context, order: Order, *, created: bool) -> Placed:
    """An ONLINE order waiting for its payment gets its provider order (now, or on a replay if
    the first call could not make it)."""
    order, payment = await start_payment(ctx, order)
    return Placed(order, created, payment)
