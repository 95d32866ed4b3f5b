"""Builders for test data: each returns an inserted document with sensible defaults."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import Document
from strawberry import relay

from documents.accounts import Role, User, hash_password
from documents.addresses import Address, AddressBook, AddressFields, add_address
from documents.cart_rules import cart_token_hash, new_cart_token
from documents.carts import Cart, CartLine
from documents.catalog import Category, Product, StockMovement
from documents.catalog_counts import count_product_changes
from documents.common import Image, stored_id, utc_now
from documents.orders import Order, OrderAddress, OrderLine, OrderStatus, PaymentMethod
from documents.payments import OnlinePayment, PaymentRecord, recomputed
from documents.reviews import Review, ReviewFields, create_review
from documents.reviews.ratings import imported_rating_fields

_sequence = itertools.count(1)
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


# GraphQL type names where they differ from the document class names.
_TYPE_NAMES = {"AuthSession": "Session"}


def global_id(entity: Document | Address) -> str:
    """The global ID of a stored document, or of an entity stored inside one (an address)."""
    type_name = type(entity).__name__
    return str(relay.GlobalID(_TYPE_NAMES.get(type_name, type_name), str(entity.id)))


async def make_category(
    name: str | None = None, *, parent: Category | None = None, **fields: Any
) -> Category:
    number = next(_sequence)
    name = name or f"Category {number}"
    category = Category(
        name=name,
        slug=fields.pop("slug", f"{name.lower().replace(' ', '-')}-{number}"),
        parent_id=parent.id if parent else None,
        **fields,
    )
    return await category.insert()


async def make_product(category: Category, **fields: Any) -> Product:
    """A published product in `category` (or in its parent, with `category` as subcategory);
    `ratings=[n1, ..., n5]` gives it imported ratings."""
    number = next(_sequence)
    name = fields.pop("name", f"Product {number}")
    if (ratings := fields.pop("ratings", None)) is not None:
        fields.update(imported_rating_fields(ratings))  # stars 1 to 5, as from an import
    top, sub = (category.parent_id, category.id) if category.parent_id else (category.id, None)
    product = Product(
        name=name,
        slug=fields.pop("slug", f"product-{number}"),
        brand=fields.pop("brand", "Acme"),
        price=fields.pop("price", 10_000),
        currency=fields.pop("currency", "INR"),
        stock=fields.pop("stock", 10),
        category_id=fields.pop("category_id", top),
        subcategory_id=fields.pop("subcategory_id", sub),
        images=fields.pop("images", [Image(url=f"https://img.test/{number}.jpg", alt=name)]),
        created_at=fields.pop("created_at", BASE_TIME + timedelta(minutes=number)),
        **fields,
    )
    await product.insert()
    await count_product_changes([(None, product)], session=None)  # as create_product does
    return product


async def make_stock_movement(product: Product, **fields: Any) -> StockMovement:
    """A record of a stock change of `product` (the record only: the product's stock is untouched)."""
    delta = fields.pop("delta", 5)
    before = fields.pop("before", product.stock)
    movement = StockMovement(
        product_id=product.id,
        delta=delta,
        before=before,
        after=fields.pop("after", before + delta),
        reason=fields.pop("reason", "restock"),
        **fields,
    )
    return await movement.insert()


DEFAULT_PASSWORD = "correct horse battery"


async def make_user(
    email: str | None = None,
    *,
    password: str | None = DEFAULT_PASSWORD,
    role: Role = Role.USER,
    **fields: Any,
) -> User:
    """An account that can sign in with `password` (bcrypt at the test cost of 4)."""
    number = next(_sequence)
    user = User(
        email=email or f"user{number}@example.com",
        name=fields.pop("name", f"User {number}"),
        password_hash=hash_password(password, rounds=4) if password else None,
        role=role,
        **fields,
    )
    return await user.insert()


# A valid Indian shipping address, as stored (phone in E.164).
SAMPLE_ADDRESS: dict[str, str] = {
    "name": "Asha Rao",
    "phone": "+919812345678",
    "line1": "12 MG Road",
    "city": "Bengaluru",
    "state": "Karnataka",
    "postal_code": "560001",
    "country": "IN",
}


async def make_order(buyer: User, *lines: tuple[Product, int], **fields: Any) -> Order:
    """A confirmed cash-on-delivery order of `lines`, stored as checkout would (no stock taken)."""
    number = next(_sequence)
    order_lines = [
        OrderLine(
            product_id=product.id,
            name=product.name,
            slug=product.slug,
            unit_price=product.final_price,
            quantity=quantity,
            line_total=product.final_price * quantity,
        )
        for product, quantity in lines
    ]
    goods = sum(line.line_total for line in order_lines)
    order = Order(
        number=fields.pop("number", 100_000 + number),
        user_id=buyer.id,
        email=buyer.email,
        status=fields.pop("status", OrderStatus.CONFIRMED),
        payment_method=fields.pop("payment_method", PaymentMethod.COD),
        lines=order_lines,
        currency="INR",
        item_count=sum(line.quantity for line in order_lines),
        subtotal=goods,
        discount=0,
        shipping=0,
        total=goods,
        shipping_address=OrderAddress.model_validate({**SAMPLE_ADDRESS, "name": buyer.name}),
        idempotency_key=fields.pop("idempotency_key", f"key-{number}"),
        created_at=fields.pop("created_at", BASE_TIME + timedelta(minutes=number)),
        **fields,
    )
    return await order.insert()


async def make_buyer_of(product: Product, **fields: Any) -> User:
    """A user with a delivered order of `product`: a verified buyer, who may review it."""
    buyer = await make_user(**fields)
    await make_order(buyer, (product, 1), status=OrderStatus.DELIVERED)
    return buyer


async def make_review(product: Product, author: User | None = None, **fields: Any) -> Review:
    """A review of `product` written as `createReview` writes it (aggregates counted), by
    `author` or by a new verified buyer."""
    author = author or await make_buyer_of(product)
    given = ReviewFields(
        rating=fields.pop("rating", 5),
        title=fields.pop("title", "Does the job"),
        body=fields.pop("body", "Works as described."),
    )
    change = await create_review(stored_id(author), stored_id(product), given)
    assert change.after is not None
    return change.after


async def make_paid_order(
    buyer: User, *lines: tuple[Product, int], payment_id: str = "pay_FactoryPaid0001", **fields: Any
) -> Order:
    """A CONFIRMED online order of `lines` whose payment was captured in full (no stock taken)."""
    order = await make_order(buyer, *lines, payment_method=PaymentMethod.ONLINE, **fields)
    captured = PaymentRecord(id=payment_id, amount=order.total, currency="INR", status="captured")
    payment = OnlinePayment(
        provider="standin",
        provider_order_id=f"order_{str(order.id)[-14:]}",
        reserved_until=order.created_at + timedelta(minutes=15),
        payments=[captured],
        next_check_at=None,
    )
    order.payment = recomputed(payment)
    await order.save()
    return order


async def make_buyer(*, email_verified: bool = True, **fields: Any) -> tuple[User, Address]:
    """A user (verified, unless told otherwise) with one address: where checkout tests start."""
    user = await make_user(email_verified=email_verified, password=None, **fields)
    address = Address.model_validate(SAMPLE_ADDRESS)
    await AddressBook(user_id=user.id, addresses=[address], default_id=address.id).insert()
    return user, address


async def fill_cart(user: User, *lines: tuple[Product, int]) -> None:
    """`user`'s cart with `lines`, stored as the cart mutations store it (under the user's id)."""
    await Cart(
        id=user.id,
        user_id=user.id,
        lines=[CartLine(product_id=product.id, quantity=quantity) for product, quantity in lines],
    ).insert()


async def make_address(user: User, *, limit: int = 10, **fields: Any) -> Address:
    """A valid Indian address of `user`, added the way `addAddress` adds it."""
    number = next(_sequence)
    values: dict[str, Any] = {
        "name": f"Receiver {number}",
        "phone": "9876543210",
        "line1": f"{number} MG Road",
        "city": "Bengaluru",
        "state": "Karnataka",
        "postal_code": "560001",
    }
    change = await add_address(stored_id(user), AddressFields(**(values | fields)), limit=limit)
    assert change.address is not None
    return change.address


async def make_user_cart(user: User, lines: Sequence[tuple[Product, int]] = ()) -> Cart:
    """The user's cart (under the user's id, as the API creates it) holding `lines`."""
    cart = Cart(id=user.id, user_id=user.id, lines=_cart_lines(lines), version=len(lines))
    return await cart.insert()


async def make_guest_cart(
    lines: Sequence[tuple[Product, int]] = (), *, expires_in: timedelta = timedelta(days=30)
) -> tuple[Cart, str]:
    """A guest cart holding `lines`, and its token."""
    token = new_cart_token()
    cart = Cart(
        token_hash=cart_token_hash(token),
        lines=_cart_lines(lines),
        version=len(lines),
        expires_at=utc_now() + expires_in,
    )
    return await cart.insert(), token


def _cart_lines(lines: Sequence[tuple[Product, int]]) -> list[CartLine]:
    return [
        CartLine(product_id=stored_id(product), quantity=quantity) for product, quantity in lines
    ]
