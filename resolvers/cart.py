"""The cart operations, for signed-in users and guests.

A signed-in user always works on their own cart. A guest's cart is named by its cart token: the
operation's `cartToken` argument, else the `X-Cart-Token` header. A signed-in user's token is only
read to merge that guest cart into theirs (`merge_cart`, and the sign-in mutations through
`merge_after_sign_in`). Carts depend on who asks, so no result that reads one is ever cached.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from bson import ObjectId

from documents import carts
from documents.accounts import User
from documents.cart_rules import CartOwner, CartRules, cart_not_found, cart_token_hash
from documents.carts import Cart, CartLine
from documents.catalog import Product
from documents.common import stored_id, utc_now
from documents.money import to_minor_units
from documents.pricing import PricedLine, Quote, ShippingRule, price_lines
from resolvers.accounts.viewer import private_viewer, require_viewer
from resolvers.context import Context
from settings import Settings

logger = logging.getLogger(__name__)
CART_TOKEN_HEADER = "x-cart-token"  # noqa: S105 - a header name, not a secret


@dataclass(frozen=True)
class CartView:
    """A cart priced now. `cart` is None for a signed-in user who has none yet: the empty view,
    under the id their cart will have. `new_token` is set when the operation created a guest cart."""

    cart_id: ObjectId
    cart: Cart | None
    quote: Quote
    new_token: str | None = None

    @property
    def lines(self) -> Iterator[tuple[CartLine, PricedLine]]:
        return zip(self.cart.lines if self.cart else [], self.quote.lines, strict=True)


def cart_rules(settings: Settings) -> CartRules:
    return CartRules(
        currency=settings.shop_currency,
        max_line_quantity=settings.cart_max_line_quantity,
        max_lines=settings.cart_max_lines,
        guest_cart_days=settings.guest_cart_days,
    )


def shipping_rule(settings: Settings) -> ShippingRule:
    """The shop's flat shipping fee and free-shipping threshold, in minor units."""
    currency = settings.shop_currency
    return ShippingRule(
        fee=to_minor_units(settings.shipping_fee, currency, field="SHIPPING_FEE"),
        free_from=to_minor_units(settings.free_shipping_from, currency, field="FREE_SHIPPING_FROM"),
    )


async def quote_cart(ctx: Context, cart: Cart | None) -> Quote:
    """The cart priced against its products as they are now (`documents/pricing.py`)."""
    lines = cart.lines if cart else []
    found = await ctx.loaders.product_by_id.load_many([line.product_id for line in lines])
    products: dict[ObjectId, Product] = {
        stored_id(product): product for product in found if product is not None
    }
    return price_lines(
        [(line.product_id, line.quantity) for line in lines],
        products,
        currency=ctx.settings.shop_currency,
        shipping=shipping_rule(ctx.settings),
    )


async def _view(
    ctx: Context, owner: CartOwner, cart: Cart | None, *, new_token: str | None = None
) -> CartView:
    cart_id = stored_id(cart) if cart else owner.user_id
    assert cart_id is not None  # only a user has a cart before it exists
    return CartView(cart_id, cart, await quote_cart(ctx, cart), new_token)


def guest_cart_token(ctx: Context, argument: str | None) -> str | None:
    """The guest cart token of this request: the argument, else the X-Cart-Token header."""
    header = ctx.request.headers.get(CART_TOKEN_HEADER) if ctx.request else None
    token = (argument or header or "").strip()
    return token or None


async def _owner(ctx: Context, cart_token: str | None) -> CartOwner | None:
    """Whose cart the request works on: the signed-in user's, else the guest token's (None when
    there is no token). A bearer token that no longer signs anyone in is UNAUTHENTICATED, not a
    guest: a client whose access token expired must not fill a guest cart by mistake."""
    viewer = await private_viewer(ctx)
    if viewer is not None:
        return CartOwner.user(stored_id(viewer.user))
    if ctx.access_claims is not None or ctx.access_error is not None:
        await require_viewer(ctx)  # raises, saying why
    token = guest_cart_token(ctx, cart_token)
    return CartOwner.guest(token) if token else None


async def _existing_owner(ctx: Context, cart_token: str | None) -> CartOwner:
    owner = await _owner(ctx, cart_token)
    if owner is None:
        raise cart_not_found()  # a guest without a token has no cart to change
    return owner


async def cart(ctx: Context, *, cart_token: str | None) -> CartView | None:
    """The signed-in user's cart (empty if they have none; none is created), or the guest
    token's cart; None for a guest without a token, or with one that names no live cart."""
    owner = await _owner(ctx, cart_token)
    if owner is None:
        return None
    found = await carts.find_cart(owner)
    if found is None and owner.is_guest:
        return None
    return await _view(ctx, owner, found)


async def add_cart_line(
    ctx: Context, *, product: Product, quantity: int, cart_token: str | None
) -> CartView:
    """Add to the product's line, or as a new line. A guest without a token gets a new cart and
    its token; a user's cart is created on the first add."""
    owner = await _owner(ctx, cart_token)
    rules = cart_rules(ctx.settings)
    if owner is None:
        await ctx.services.rate_limiter.check("create_guest_cart", ip=ctx.client_ip)
        created, token = await carts.create_guest_cart(product, quantity, rules)
        return await _view(ctx, CartOwner.guest(token), created, new_token=token)
    return await _view(ctx, owner, await carts.add_line(owner, product, quantity, rules))


async def update_cart_line(
    ctx: Context, *, line_id: str, quantity: int, cart_token: str | None
) -> CartView:
    """Set a line's quantity, checked against its product's stock now."""
    owner = await _existing_owner(ctx, cart_token)
    line = await carts.find_line(owner, line_id)
    product = await ctx.loaders.product_by_id.load(line.product_id)
    changed = await carts.set_line_quantity(
        owner, line, quantity, product, cart_rules(ctx.settings)
    )
    return await _view(ctx, owner, changed)


async def remove_cart_line(ctx: Context, *, line_id: str, cart_token: str | None) -> CartView:
    owner = await _existing_owner(ctx, cart_token)
    changed = await carts.remove_line(owner, line_id, cart_rules(ctx.settings))
    return await _view(ctx, owner, changed)


async def clear_cart(ctx: Context, *, cart_token: str | None) -> CartView:
    """Remove every line; a user without a cart gets the empty view, and no cart is created."""
    owner = await _existing_owner(ctx, cart_token)
    cleared = await carts.clear_cart(owner, cart_rules(ctx.settings))
    return await _view(ctx, owner, cleared)


async def merge_cart(ctx: Context, *, cart_token: str | None) -> CartView:
    """Merge the guest cart of the token into the signed-in user's cart. A token that names no
    live cart (already merged: a retry) merges nothing and is not an error."""
    viewer = await require_viewer(ctx)
    owner = CartOwner.user(stored_id(viewer.user))
    token = guest_cart_token(ctx, cart_token)
    if token is None:
        return await _view(ctx, owner, await carts.find_cart(owner))
    merged = await carts.merge_guest_cart(
        stored_id(viewer.user), CartOwner.guest(token), cart_rules(ctx.settings)
    )
    return await _view(ctx, owner, merged)


async def merge_after_sign_in(ctx: Context, user: User, cart_token: str | None) -> None:
    """On sign-in, merge the guest cart the client passed (argument or header) into the user's.
    The sign-in stands even if this fails: the merge's transaction aborted, the guest cart is as
    it was, and the client can still call `mergeCart`."""
    token = guest_cart_token(ctx, cart_token)
    if token is None:
        return
    try:
        await carts.merge_guest_cart(
            stored_id(user), CartOwner.guest(token), cart_rules(ctx.settings)
        )
    except Exception:
        logger.exception("merging a guest cart on sign-in failed; the guest cart is kept")


async def cart_node(ctx: Context, cart_id: ObjectId) -> CartView | None:
    """A cart by id for its owner only: the signed-in user, or the guest whose X-Cart-Token
    header names it. Anyone else gets None, as for an id of nothing."""
    viewer = await private_viewer(ctx)
    found: Cart | None = await ctx.loaders.cart_by_id.load(cart_id)
    if viewer is not None:
        user = CartOwner.user(stored_id(viewer.user))
        mine = found.user_id == user.user_id if found else cart_id == user.user_id
        return await _view(ctx, user, found) if mine else None
    token = guest_cart_token(ctx, None)
    if found is None or token is None or found.token_hash != cart_token_hash(token):
        return None
    if found.expires_at is None or found.expires_at <= utc_now():
        return None
    return await _view(ctx, CartOwner.guest(token), found)


async def line_product(ctx: Context, product_id: ObjectId) -> Product | None:
    """A line's product as it is now, hidden or not (the shopper put it there); None once deleted."""
    found: Product | None = await ctx.loaders.product_by_id.load(product_id)
    return found
