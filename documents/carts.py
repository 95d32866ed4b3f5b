"""Carts: one per signed-in user, or one per guest token. Lines hold product ids and quantities
only; prices are always computed now (`documents/pricing.py`), never stored in the cart.

Every change is one conditional update of the cart document that also bumps `version` and
`updated_at` (and, for a guest cart, pushes `expires_at` back): a new line is pushed only while the
product has no line and the cart has room, a line grows only while it stays within its bound, a
line is set or pulled only while it exists. Concurrent changes (two tabs) then never lose a line or
pass a limit. When an update does not match, the cart is read to say which rule refused it, or to
try again if it merely changed in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

import pymongo
from beanie import Document, PydanticObjectId
from beanie.operators import In
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from documents.cart_rules import (
    CartError,
    CartErrorCode,
    CartOwner,
    CartRules,
    cart_not_found,
    cart_token_hash,
    check_addable,
    check_stock,
    is_purchasable,
    line_not_found,
    new_cart_token,
)
from documents.catalog import Product
from documents.common import stored_id, utc_now
from documents.transactions import in_transaction

# A change that keeps missing because the cart changes in between gives up after this many tries;
# each miss means another request changed the cart, so this is reached only under a storm of them.
_MAX_ATTEMPTS = 10


def new_line_id() -> str:
    return str(ObjectId())


class CartLine(BaseModel):
    """A product and how many of it; `id` names the line in cart mutations."""

    id: str = Field(default_factory=new_line_id)
    product_id: PydanticObjectId
    quantity: Annotated[int, Field(ge=1)]
    added_at: datetime = Field(default_factory=utc_now)


class Cart(Document):
    """A shopper's cart. Exactly one of `user_id` (signed in) and `token_hash` (a guest's opaque
    cart token, stored as SHA-256) is set. `version` grows with every change, so checkout can
    refuse a view of the cart that is no longer current.

    A user's cart is created with the user's id as its own id, so the empty cart of a user who has
    none yet already has the id it will keep."""

    user_id: PydanticObjectId | None = None
    token_hash: str | None = None
    lines: list[CartLine] = Field(default_factory=list)
    version: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    # Guest carts are removed this long after their last change (TTL index); users' carts stay.
    expires_at: datetime | None = None

    def line(self, line_id: str) -> CartLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    def line_of_product(self, product_id: ObjectId) -> CartLine | None:
        return next((line for line in self.lines if line.product_id == product_id), None)

    class Settings:
        name = "carts"
        indexes = [
            IndexModel(
                [("user_id", pymongo.ASCENDING)],
                name="user_unique",
                unique=True,
                partialFilterExpression={"user_id": {"$type": "objectId"}},
            ),
            IndexModel(
                [("token_hash", pymongo.ASCENDING)],
                name="token_unique",
                unique=True,
                partialFilterExpression={"token_hash": {"$type": "string"}},
            ),
            IndexModel([("expires_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


CART_DOCUMENTS: list[type[Document]] = [Cart]


def _carts() -> AsyncCollection[dict[str, Any]]:
    return Cart.get_pymongo_collection()


async def find_cart(owner: CartOwner, *, session: AsyncClientSession | None = None) -> Cart | None:
    """The owner's cart; None if they have none (or a guest's has expired)."""
    raw = await _carts().find_one(owner.match(utc_now()), session=session)
    return Cart.model_validate(raw) if raw else None


async def cart_of_user(
    user_id: ObjectId, *, session: AsyncClientSession | None = None
) -> Cart | None:
    """The signed-in user's cart, as `session` reads it; None if they never added anything."""
    return await find_cart(CartOwner.user(user_id), session=session)


async def find_line(
    owner: CartOwner, line_id: str, *, session: AsyncClientSession | None = None
) -> CartLine:
    """A line of the owner's cart. Another cart's line is LINE_NOT_FOUND, like a made-up id."""
    cart = await find_cart(owner, session=session)
    if cart is None and owner.is_guest:
        raise cart_not_found()
    line = cart.line(line_id) if cart else None
    if line is None:
        raise line_not_found()
    return line


async def _change(
    owner: CartOwner,
    rules: CartRules,
    condition: dict[str, Any],
    update: dict[str, Any],
    session: AsyncClientSession | None,
) -> Cart | None:
    """Apply `update` to the owner's cart if it meets `condition`, bumping its version; the cart
    after the change, or None when nothing matched."""
    now = utc_now()
    update = {
        **update,
        "$inc": {**update.get("$inc", {}), "version": 1},
        "$set": {**update.get("$set", {}), **owner.stamp(now, rules)},
    }
    raw = await _carts().find_one_and_update(
        {**owner.match(now), **condition},
        update,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    return Cart.model_validate(raw) if raw else None


async def add_line(
    owner: CartOwner,
    product: Product | None,
    quantity: int,
    rules: CartRules,
    *,
    session: AsyncClientSession | None = None,
) -> Cart:
    """Add `quantity` of `product` (as loaded now; None if it does not exist) to the owner's cart:
    to the product's line if there is one, else as a new line. A user's cart is created on the
    first add; a guest's must exist (`create_guest_cart` starts one)."""
    product = check_addable(product, quantity, rules, field="productId")
    product_id = stored_id(product)
    # The most one line may hold: the line limit, or the stock if that is lower.
    most = min(rules.max_line_quantity, product.stock)
    new_line = CartLine(product_id=product_id, quantity=quantity).model_dump()
    for _ in range(_MAX_ATTEMPTS):
        line_within_bound = {"product_id": product_id, "quantity": {"$lte": most - quantity}}
        grown = await _change(
            owner,
            rules,
            {"lines": {"$elemMatch": line_within_bound}},
            {"$inc": {"lines.$.quantity": quantity}},
            session,
        )
        if grown is not None:
            return grown
        room_for_new_line = {
            "lines.product_id": {"$ne": product_id},
            f"lines.{rules.max_lines - 1}": {"$exists": False},
        }
        pushed = await _change(
            owner, rules, room_for_new_line, {"$push": {"lines": new_line}}, session
        )
        if pushed is not None:
            return pushed
        await _refuse_add_or_retry(owner, product, quantity, rules, session)
    raise RuntimeError("the cart kept changing while a line was being added")


async def _refuse_add_or_retry(
    owner: CartOwner,
    product: Product,
    quantity: int,
    rules: CartRules,
    session: AsyncClientSession | None,
) -> None:
    """Neither update of `add_line` matched: raise the rule that refused the add, or return so it
    tries again when the cart only changed in between (or a user's cart had to be created)."""
    cart = await find_cart(owner, session=session)
    if cart is None:
        if owner.user_id is None:
            raise cart_not_found()
        await _create_user_cart(owner.user_id, session)
        return
    line = cart.line_of_product(stored_id(product))
    if line is None:
        if len(cart.lines) >= rules.max_lines:
            raise CartError(
                CartErrorCode.TOO_MANY_LINES,
                f"A cart holds at most {rules.max_lines} different products",
            )
        return
    if line.quantity + quantity > rules.max_line_quantity:
        raise CartError(
            CartErrorCode.INVALID_QUANTITY,
            f"A line holds at most {rules.max_line_quantity}; this cart has {line.quantity}",
            field="quantity",
        )
    check_stock(product, line.quantity + quantity)


async def _create_user_cart(user_id: ObjectId, session: AsyncClientSession | None) -> None:
    """The user's empty cart, under the user's id, unless it exists. Concurrent first adds all
    end up with the one cart: the unique indexes refuse a second."""
    now = utc_now()
    empty = {"_id": user_id, "lines": [], "version": 0, "created_at": now, "updated_at": now}
    try:
        await _carts().update_one(
            {"user_id": user_id}, {"$setOnInsert": empty}, upsert=True, session=session
        )
    except DuplicateKeyError:
        if session is not None:
            raise  # the transaction is aborted; its retry will find the cart
        # Another request created it between the lookup and the insert.


async def create_guest_cart(
    product: Product | None,
    quantity: int,
    rules: CartRules,
    *,
    session: AsyncClientSession | None = None,
) -> tuple[Cart, str]:
    """A new guest cart holding `quantity` of `product`, and its token (only the hash is kept)."""
    product = check_addable(product, quantity, rules, field="productId")
    token = new_cart_token()
    now = utc_now()
    cart = Cart(
        token_hash=cart_token_hash(token),
        lines=[CartLine(product_id=stored_id(product), quantity=quantity, added_at=now)],
        version=1,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=rules.guest_cart_days),
    )
    await cart.insert(session=session)
    return cart, token


async def set_line_quantity(
    owner: CartOwner,
    line: CartLine,
    quantity: int,
    product: Product | None,
    rules: CartRules,
    *,
    session: AsyncClientSession | None = None,
) -> Cart:
    """Set a line (found with `find_line`) to `quantity`, checked against its product as loaded
    now (None if it was deleted). LINE_NOT_FOUND if the line was removed meanwhile."""
    check_addable(product, quantity, rules, field="lineId")
    changed = await _change(
        owner,
        rules,
        {"lines": {"$elemMatch": {"id": line.id, "product_id": line.product_id}}},
        {"$set": {"lines.$.quantity": quantity}},
        session,
    )
    if changed is None:
        raise line_not_found()
    return changed


async def remove_line(
    owner: CartOwner,
    line_id: str,
    rules: CartRules,
    *,
    session: AsyncClientSession | None = None,
) -> Cart:
    """Remove a line from the owner's cart."""
    removed = await _change(
        owner, rules, {"lines.id": line_id}, {"$pull": {"lines": {"id": line_id}}}, session
    )
    if removed is None:
        await find_line(owner, line_id, session=session)  # says which: no cart, or no such line
        raise line_not_found()  # it was there a moment ago and has just been removed
    return removed


async def clear_cart(
    owner: CartOwner, rules: CartRules, *, session: AsyncClientSession | None = None
) -> Cart | None:
    """Remove every line. An empty cart stays as it is (its version too); a user without a cart
    gets None, and no cart is created."""
    cleared = await _change(
        owner, rules, {"lines.0": {"$exists": True}}, {"$set": {"lines": []}}, session
    )
    if cleared is not None:
        return cleared
    cart = await find_cart(owner, session=session)
    if cart is None and owner.is_guest:
        raise cart_not_found()
    return cart


async def empty_cart(
    cart_id: ObjectId, *, expected_version: int | None, session: AsyncClientSession | None
) -> bool:
    """Remove every line of a cart (checkout, once the order is written in the same transaction)
    and bump its version, only if its version is still `expected_version` (any, when None).
    Whether it did."""
    condition: dict[str, Any] = {"_id": cart_id}
    if expected_version is not None:
        condition["version"] = expected_version
    result = await _carts().update_one(
        condition,
        {"$set": {"lines": [], "updated_at": utc_now()}, "$inc": {"version": 1}},
        session=session,
    )
    return result.matched_count == 1


def merged_lines(
    kept: Sequence[CartLine],
    incoming: Sequence[CartLine],
    products: dict[ObjectId, Product],
    rules: CartRules,
) -> list[CartLine]:
    """`kept` with `incoming` added: a product in both gets the quantities added, up to the line
    limit and the stock (never below what `kept` had); a new product becomes a line, capped the
    same way, while the cart has room. Lines of products that cannot be bought (gone, hidden, out
    of stock) are dropped."""
    lines = [line.model_copy() for line in kept]
    by_product = {line.product_id: line for line in lines}
    for line in incoming:
        product = products.get(line.product_id)
        if product is None or not is_purchasable(product, rules):
            continue
        most = min(rules.max_line_quantity, product.stock)
        existing = by_product.get(line.product_id)
        if existing is not None:
            existing.quantity = max(existing.quantity, min(existing.quantity + line.quantity, most))
        elif most > 0 and len(lines) < rules.max_lines:
            added = line.model_copy(update={"quantity": min(line.quantity, most)})
            lines.append(added)
            by_product[added.product_id] = added
    return lines


async def merge_guest_cart(
    user_id: ObjectId,
    guest: CartOwner,
    rules: CartRules,
    *,
    session: AsyncClientSession | None = None,
) -> Cart | None:
    """Move a guest cart's lines into the user's cart (`merged_lines`) and delete the guest cart,
    in one transaction (the caller's, given `session`). The guest cart is claimed by deleting it,
    so a repeated merge (a retried sign-in) finds nothing and changes nothing. Returns the user's
    cart, None if they have none and nothing was merged."""

    async def apply(session: AsyncClientSession) -> Cart | None:
        now = utc_now()
        claimed = await _carts().find_one_and_delete(guest.match(now), session=session)
        user_cart = await cart_of_user(user_id, session=session)
        if claimed is None:
            return user_cart
        incoming = Cart.model_validate(claimed).lines
        wanted = [line.product_id for line in incoming]
        found = await Product.find(In(Product.id, wanted), session=session).to_list()
        kept = user_cart.lines if user_cart else []
        lines = merged_lines(kept, incoming, {stored_id(p): p for p in found}, rules)
        if user_cart is None:
            if not lines:
                return None
            cart = Cart(
                id=user_id, user_id=user_id, lines=lines, version=1, created_at=now, updated_at=now
            )
            return await cart.insert(session=session)
        merged = await _carts().find_one_and_update(
            {"_id": user_cart.id},
            {
                "$set": {"lines": [line.model_dump() for line in lines], "updated_at": now},
                "$inc": {"version": 1},
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return Cart.model_validate(merged)

    return await in_transaction(apply, session=session)
