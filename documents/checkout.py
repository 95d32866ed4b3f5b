"""Placing an order from a cart, in one transaction: price it, take the stock, write the order,
empty the cart. All or nothing, and idempotent per (user, idempotency key)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.accounts import User
from documents.cart_rules import CartRules
from documents.carts import Cart, CartLine, cart_of_user, empty_cart, merged_lines
from documents.catalog import Product
from documents.common import stored_id, utc_now
from documents.money import to_decimal
from documents.orders import (
    Order,
    OrderAddress,
    OrderError,
    OrderErrorCode,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    change_order_status,
    insert_order,
    next_order_number,
    order_in,
)
from documents.payments import OnlinePayment
from documents.pricing import LineProblem, Quote, ShippingRule, price_lines
from documents.stock import InsufficientStockError, ShortLine, StockLine, take_stock
from documents.text import is_visible_text
from documents.transactions import in_transaction
from documents.trusted_reads import reader
from documents.turns import product_turns

MAX_IDEMPOTENCY_KEY_LENGTH = 100
# Where each payment method's orders start.
INITIAL_STATUS = {
    PaymentMethod.COD: OrderStatus.CONFIRMED,
    PaymentMethod.ONLINE: OrderStatus.PENDING_PAYMENT,
}


@dataclass(frozen=True)
class Checkout:
    """What the shopper asked for. `expected_total` (minor units) is the total they were shown."""

    user: User
    address: OrderAddress
    payment_method: PaymentMethod
    idempotency_key: str
    expected_total: int | None
    currency: str
    shipping: ShippingRule
    # The `Cart.version` the shopper reviewed; a cart changed since is CART_CHANGED.
    expected_cart_version: int | None = None
    # ONLINE: the payment the order starts with (provider, reservation end); None for COD.
    payment: OnlinePayment | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    created: bool  # False: an earlier call with the same key placed it
    products: list[Product]  # as they were before the stock was taken (for cache invalidation)


def check_idempotency_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and key.isprintable()) or not (
        is_visible_text(key)
    ):
        raise OrderError(
            OrderErrorCode.INVALID_IDEMPOTENCY_KEY,
            f"Send 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible characters",
            field="idempotencyKey",
        )
    return key


async def order_for_key(
    user_id: ObjectId, key: str, *, session: AsyncClientSession | None = None
) -> Order | None:
    raw = await Order.get_pymongo_collection().find_one(
        {"user_id": user_id, "idempotency_key": key}, session=session
    )
    return Order.model_validate(raw) if raw else None


# More work for the order's transaction, once the order is written: its email into the outbox,
# its cache invalidations.
AlsoInTransaction = Callable[["PlacedOrder", AsyncClientSession], Awaitable[None]]

# How often a checkout reads the cart again when it changed between the read and the
# transaction's write, before it answers CART_CHANGED.
_CART_READS = 3


class _CartMovedError(Exception):
    """The cart changed after the checkout read it: read it again and start over."""


async def place_order(
    checkout: Checkout,
    *,
    also: AlsoInTransaction | None = None,
    session: AsyncClientSession | None = None,
) -> PlacedOrder:
    """Place the user's cart as an order. A repeated idempotency key returns the first order,
    also when the two calls race (the unique (user, key) index decides) and when the cart or
    the stock would refuse it now; `also` runs only for the call that placed it."""
    key = check_idempotency_key(checkout.idempotency_key)
    user_id = stored_id(checkout.user)
    numbers: list[int] = []  # taken once, when a checkout gets past its refusals

    async def apply(session: AsyncClientSession, *, cart: Cart | None) -> PlacedOrder:
        # The cart was read before the transaction (its products decide the turns). Emptying
        # it matches only that version, so a cart changed since is read again
        # (`_CartMovedError`), as a change inside the transaction would conflict.
        if cart is None or not cart.lines:
            raise OrderError(OrderErrorCode.CART_EMPTY, "The cart is empty")
        expected_version = checkout.expected_cart_version
        if expected_version is not None and cart.version != expected_version:
            raise OrderError(
                OrderErrorCode.CART_CHANGED,
                "The cart changed since it was shown; review it again",
                field="expectedCartVersion",
            )
        products = await _products_of(cart, session)
        quote = price_lines(
            [(line.product_id, line.quantity) for line in cart.lines],
            {stored_id(p): p for p in products},
            currency=checkout.currency,
            shipping=checkout.shipping,
        )
        _refuse_problems(quote, checkout)
        if not numbers:  # outside the transaction: concurrent checkouts never conflict on it
            numbers.append(await next_order_number())
        number = numbers[0]
        order = _new_order(checkout, number, quote)
        # The idempotency guard: a second order with this (user, key) is a DuplicateKeyError.
        await insert_order(order, session=session)
        if not await empty_cart(stored_id(cart), expected_version=cart.version, session=session):
            raise _CartMovedError
        placed = PlacedOrder(order, created=True, products=products)
        if also is not None:
            await also(placed, session)
        # Last, so the products every checkout competes for are written as briefly before the
        # commit as possible; their stock as this transaction read it is known already.
        try:
            await take_stock(
                [StockLine(line.product_id, line.quantity) for line in quote.lines],
                reference=order.stock_reference,
                reason=f"order #{number}",
                session=session,
                stock_as_read={stored_id(product): product.stock for product in products},
            )
        except InsufficientStockError as error:
            raise _short(error) from None
        return placed

    async def apply_in_callers(session: AsyncClientSession) -> PlacedOrder:
        if earlier := await order_for_key(user_id, key, session=session):
            return PlacedOrder(earlier, created=False, products=[])
        try:
            return await apply(session, cart=await cart_of_user(user_id, session=session))
        except _CartMovedError:
            raise _cart_changed() from None

    try:
        if session is not None:
            return await in_transaction(apply_in_callers, session=session)
        for _ in range(_CART_READS):
            cart = await cart_of_user(user_id)
            try:
                async with _turns_for(_product_ids(cart)):
                    return await in_transaction(functools.partial(apply, cart=cart))
            except _CartMovedError:
                continue
        raise _cart_changed()
    except (DuplicateKeyError, OrderError) as error:
        # A repeat: another call with the same key placed its order (committed first: the
        # insert failed on the unique index; or before: its order emptied the cart, took the
        # stock). Its order is the answer; without one the refusal stands. In the caller's
        # transaction a refusal stands: the repeat was looked for first.
        refused_in_callers = session is not None and isinstance(error, OrderError)
        earlier = None if refused_in_callers else await order_for_key(user_id, key)
        if earlier is None:
            raise
        return PlacedOrder(earlier, created=False, products=[])


# Checkouts in this process that take the same product's stock take turns (`product_turns`); a
# name of its own so a test can run checkouts as if each were in a process of its own.
_turns_for = product_turns


def _product_ids(cart: Cart | None) -> list[ObjectId]:
    return list({line.product_id for line in cart.lines}) if cart else []


def _cart_changed() -> OrderError:
    return OrderError(OrderErrorCode.CART_CHANGED, "The cart changed; review it again")


async def _products_of(cart: Cart, session: AsyncClientSession) -> list[Product]:
    # Trusted: every product write validated it; this read only prices and snapshots.
    ids = [line.product_id for line in cart.lines]
    rows = Product.get_pymongo_collection().find({"_id": {"$in": ids}}, session=session)
    return [_stored_product(row) async for row in rows]


_stored_product = reader(Product)


def _refuse_problems(quote: Quote, checkout: Checkout) -> None:
    unavailable = [line for line in quote.lines if line.problem is LineProblem.UNAVAILABLE]
    if unavailable:
        raise OrderError(
            OrderErrorCode.PRODUCT_UNAVAILABLE,
            "Some products are no longer sold; remove them from the cart",
            extensions={"productIds": [str(line.product_id) for line in unavailable]},
        )
    short = [line for line in quote.lines if line.problem is LineProblem.INSUFFICIENT_STOCK]
    if short:  # before any write: a checkout that cannot succeed costs no conflict
        raise _short(
            InsufficientStockError(
                [
                    ShortLine(line.product_id, line.quantity, line.available_quantity)
                    for line in short
                ]
            )
        )
    if checkout.expected_total is not None and checkout.expected_total != quote.total:
        total = str(to_decimal(quote.total, quote.currency))
        raise OrderError(
            OrderErrorCode.PRICE_CHANGED,
            f"The total is now {total} {quote.currency}; review the cart and confirm again",
            field="expectedTotal",
            extensions={"total": total, "currency": quote.currency},
        )


def _short(error: InsufficientStockError) -> OrderError:
    described = ", ".join(f"{line.available} left of {line.requested}" for line in error.short)
    return OrderError(
        OrderErrorCode.INSUFFICIENT_STOCK,
        f"Not enough stock: {described}",
        extensions={
            "lines": [
                {
                    "productId": str(line.product_id),
                    "requested": line.requested,
                    "available": line.available,
                }
                for line in error.short
            ]
        },
    )


def _new_order(checkout: Checkout, number: int, quote: Quote) -> Order:
    status = INITIAL_STATUS[checkout.payment_method]
    lines = []
    for line in quote.lines:
        assert line.product is not None  # unavailable lines were refused
        product = line.product
        lines.append(
            OrderLine(
                product_id=stored_id(product),
                name=product.name,
                slug=product.slug,
                image=product.images[0] if product.images else None,
                unit_price=line.unit_price,
                quantity=line.quantity,
                line_total=line.line_total,
            )
        )
    now = utc_now()
    return Order(
        id=ObjectId(),
        number=number,
        user_id=stored_id(checkout.user),
        email=checkout.user.email,
        status=status,
        payment_method=checkout.payment_method,
        lines=lines,
        currency=quote.currency,
        item_count=quote.item_count,
        subtotal=quote.subtotal,
        discount=quote.discount,
        shipping=quote.shipping,
        total=quote.total,
        shipping_address=checkout.address,
        idempotency_key=checkout.idempotency_key,
        history=[OrderEvent(from_status=None, to_status=status, actor_id=checkout.user.id, at=now)],
        payment=checkout.payment,
        created_at=now,
        updated_at=now,
    )


async def abandon_unpaid_order(order: Order, *, reason: str, rules: CartRules) -> Order | None:
    """Undo an online checkout whose payment could not be started: the order CANCELLED with its
    stock back, its lines back in the cart, and its idempotency key free again, so the shopper's
    retry with the same key places it anew. One transaction; None if the order moved meanwhile
    or got its provider order after all (a replay racing this call made it)."""
    order_id = stored_id(order)

    async def apply(session: AsyncClientSession) -> Order | None:
        current = await order_in(session, order_id)
        if current.payment is not None and current.payment.provider_order_id is not None:
            return None  # a replay handed the shopper this order to pay: it stands
        try:
            _, after = await change_order_status(
                order_id,
                OrderStatus.CANCELLED,
                actor_id=None,
                note=reason,
                allowed_from=frozenset({OrderStatus.PENDING_PAYMENT}),
                also_set={"idempotency_key": f"{order.idempotency_key}#abandoned:{order_id}"},
                session=session,
            )
        except OrderError:
            return None
        cart = await cart_of_user(order.user_id, session=session)
        incoming = [
            CartLine(product_id=line.product_id, quantity=line.quantity) for line in order.lines
        ]
        rows = Product.get_pymongo_collection().find(
            {"_id": {"$in": [line.product_id for line in order.lines]}}, session=session
        )
        products = {row["_id"]: Product.model_validate(row) async for row in rows}
        lines = merged_lines(cart.lines if cart else [], incoming, products, rules)
        await Cart.get_pymongo_collection().update_one(
            {"user_id": order.user_id},
            {
                "$set": {"lines": [line.model_dump() for line in lines], "updated_at": utc_now()},
                "$inc": {"version": 1},
                # A user's cart has the user's id as its own (`documents/carts.py`).
                "$setOnInsert": {"_id": order.user_id, "created_at": utc_now()},
            },
            upsert=True,
            session=session,
        )
        return after

    return await in_transaction(apply)
