"""`placeOrder`: the signed-in user's cart becomes an order, with its email, in one unit of work."""

from __future__ import annotations

from decimal import Decimal

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents import checkout
from documents.addresses import address_of
from documents.common import stored_id
from documents.money import to_minor_units
from documents.orders import OrderAddress, OrderError, OrderErrorCode, PaymentMethod
from resolvers.accounts.viewer import Viewer
from resolvers.cart import shipping_rule
from resolvers.context import Context
from resolvers.orders.emails import send_status_email

# Online payment comes with the payments issue.
AVAILABLE_PAYMENT_METHODS = frozenset({PaymentMethod.COD})


async def place_order(
    ctx: Context,
    viewer: Viewer,
    *,
    address_id: ObjectId,
    payment_method: PaymentMethod,
    idempotency_key: str,
    expected_total: Decimal | None,
    expected_cart_version: int | None = None,
) -> checkout.PlacedOrder:
    """Place the viewer's cart as an order, or say precisely why not; nothing is half-done.

    A repeated idempotency key answers with the first order before anything else is checked, so
    a retry succeeds even when its address or cart has changed since."""
    user_id = stored_id(viewer.user)
    key = checkout.check_idempotency_key(idempotency_key)
    if earlier := await checkout.order_for_key(user_id, key):
        return checkout.PlacedOrder(earlier, created=False, products=[])
    await ctx.services.rate_limiter.check("place_order", ip=ctx.client_ip, account=str(user_id))
    if not viewer.user.email_verified:
        raise OrderError(OrderErrorCode.EMAIL_NOT_VERIFIED, "Verify your email address first")
    if payment_method not in AVAILABLE_PAYMENT_METHODS:
        raise OrderError(
            OrderErrorCode.PAYMENT_METHOD_UNAVAILABLE,
            f"{payment_method} is not available yet",
            field="paymentMethod",
        )
    address = await address_of(user_id, address_id)
    if address is None:
        raise OrderError(OrderErrorCode.ADDRESS_NOT_FOUND, "No such address", field="addressId")
    currency = ctx.settings.shop_currency
    expected = None
    if expected_total is not None:  # a malformed amount is BAD_USER_INPUT, naming the field
        expected = to_minor_units(expected_total, currency, field="expectedTotal")
    order_checkout = checkout.Checkout(
        user=viewer.user,
        address=OrderAddress.model_validate(address, from_attributes=True),
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        expected_total=expected,
        currency=currency,
        shipping=shipping_rule(ctx.settings),
        expected_cart_version=expected_cart_version,
    )

    async def also(placed: checkout.PlacedOrder, session: AsyncClientSession) -> None:
        await ctx.query_cache.product_changed(*placed.products)  # their stock changed
        await send_status_email(ctx, placed.order, session)  # CONFIRMED: the confirmation

    return await checkout.place_order(order_checkout, also=also)
