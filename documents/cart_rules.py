"""The rules of a cart change: error codes, limits, whose cart it is, and what may be added.

Plain checks with no database access; `documents/carts.py` applies them in its conditional writes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from documents.accounts import new_secret_token, token_hash
from documents.catalog import Product
from documents.errors import DomainError


class CartErrorCode(enum.StrEnum):
    """Why a cart change was refused; clients branch on these."""

    INVALID_QUANTITY = "INVALID_QUANTITY"
    TOO_MANY_LINES = "TOO_MANY_LINES"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    LINE_NOT_FOUND = "LINE_NOT_FOUND"
    CART_NOT_FOUND = "CART_NOT_FOUND"


class CartError(DomainError):
    """A refused cart change; `available` is the stock left, for INSUFFICIENT_STOCK."""

    def __init__(
        self,
        code: CartErrorCode,
        message: str,
        *,
        field: str | None = None,
        available: int | None = None,
    ) -> None:
        extensions = None if available is None else {"available": available}
        super().__init__(code, message, field=field, extensions=extensions)
        self.available = available


@dataclass(frozen=True)
class CartRules:
    """The limits every cart change obeys (from the settings), and the shop currency."""

    currency: str
    max_line_quantity: int
    max_lines: int
    guest_cart_days: int


@dataclass(frozen=True)
class CartOwner:
    """Whose cart: a signed-in user's, or the guest's whose token hashes to `token_hash`."""

    user_id: ObjectId | None = None
    token_hash: str | None = None

    @classmethod
    def user(cls, user_id: ObjectId) -> CartOwner:
        return cls(user_id=user_id)

    @classmethod
    def guest(cls, token: str) -> CartOwner:
        return cls(token_hash=cart_token_hash(token))

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    def match(self, now: datetime) -> dict[str, Any]:
        """The query for this owner's cart. An expired guest cart is gone, even before the TTL
        monitor deletes it."""
        if self.user_id is not None:
            return {"user_id": self.user_id}
        return {"token_hash": self.token_hash, "expires_at": {"$gt": now}}

    def stamp(self, now: datetime, rules: CartRules) -> dict[str, Any]:
        """What every change sets besides its own fields: the time, and a guest cart's new expiry."""
        if self.user_id is not None:
            return {"updated_at": now}
        return {"updated_at": now, "expires_at": now + timedelta(days=rules.guest_cart_days)}


def new_cart_token() -> str:
    """A guest's cart token: 256 random bits, URL-safe. Only its hash is stored."""
    return new_secret_token()


def cart_token_hash(token: str) -> str:
    return token_hash(token)


def cart_not_found() -> CartError:
    return CartError(CartErrorCode.CART_NOT_FOUND, "No such cart", field="cartToken")


def line_not_found() -> CartError:
    return CartError(CartErrorCode.LINE_NOT_FOUND, "No such line in this cart", field="lineId")


def is_purchasable(product: Product | None, rules: CartRules) -> bool:
    """Whether a product may be added: it exists, the storefront shows it, in the shop currency."""
    return product is not None and product.is_visible and product.currency == rules.currency


def check_quantity(quantity: int, rules: CartRules) -> None:
    if not 1 <= quantity <= rules.max_line_quantity:
        raise CartError(
            CartErrorCode.INVALID_QUANTITY,
            f"Choose 1 to {rules.max_line_quantity} of a product",
            field="quantity",
        )


def check_stock(product: Product, quantity: int) -> None:
    """INSUFFICIENT_STOCK, with what is left, when `quantity` is more than the stock."""
    if quantity > product.stock:
        message = f"Only {product.stock} left" if product.stock else "Out of stock"
        raise CartError(
            CartErrorCode.INSUFFICIENT_STOCK, message, field="quantity", available=product.stock
        )


def check_addable(
    product: Product | None, quantity: int, rules: CartRules, *, field: str
) -> Product:
    check_quantity(quantity, rules)
    if product is None or not is_purchasable(product, rules):
        raise CartError(
            CartErrorCode.PRODUCT_UNAVAILABLE, "This product is not available", field=field
        )
    check_stock(product, quantity)
    return product
