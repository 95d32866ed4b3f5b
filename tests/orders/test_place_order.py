"""`placeOrder` through the API: the happy path, every refusal with nothing changed, idempotency,
and 1,000 buyers racing for 100 units."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from documents.accounts import AuthSession, User
from documents.addresses import Address, AddressBook
from documents.carts import Cart, CartLine
from documents.catalog import Product
from documents.orders import Order
from tests.factories import fill_cart, global_id, make_buyer, make_category, make_product
from tests.support import (
    MongoCommandCounter,
    access_token_for,
    error_codes,
    graphql,
    sent_emails,
)

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order {
      number status paymentMethod
      lines { name quantity unitPrice { amount } lineTotal { amount } }
      subtotal { amount } discount { amount } shipping { amount } total { amount currency }
      shippingAddress { name city postalCode }
    }
    errors { field code message total { amount currency } shortLines { productId requested available } }
  }
}
"""
MY_CART = "{ cart { itemCount lines { quantity } } }"


def order_input(address: Address, **fields: Any) -> dict[str, Any]:
    return {
        "input": {
            "addressId": global_id(address),
            "idempotencyKey": fields.pop("idempotencyKey", str(uuid.uuid4())),
            **fields,
        }
    }


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


async def test_a_verified_buyer_orders_the_cart_cash_on_delivery(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    runner = await make_product(
        await make_category(), name="Runner", price=60_000, discount_percent=10, stock=4
    )
    await fill_cart(user, (runner, 1))
    token = await access_token_for(app, user)

    body = await graphql(client, PLACE, order_input(address, expectedTotal="540.00"), token=token)

    result = body["data"]["placeOrder"]
    assert result["errors"] == []
    assert result["order"] == {
        "number": 1001,
        "status": "CONFIRMED",
        "paymentMethod": "COD",
        "lines": [
            {
                "name": "Runner",
                "quantity": 1,
                "unitPrice": {"amount": "540.00"},
                "lineTotal": {"amount": "540.00"},
            }
        ],
        "subtotal": {"amount": "600.00"},
        "discount": {"amount": "60.00"},
        "shipping": {"amount": "0.00"},
        "total": {"amount": "540.00", "currency": "INR"},
        "shippingAddress": {"name": "Asha Rao", "city": "Bengaluru", "postalCode": "560001"},
    }
    assert await stock_of(runner) == 3
    cart = await graphql(client, MY_CART, token=token)
    assert cart["data"]["cart"]["itemCount"] == 0


async def test_a_changed_price_is_refused_with_the_new_total_and_nothing_changes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    runner = await make_product(await make_category(), price=60_000, stock=4)
    await fill_cart(user, (runner, 1))

    body = await graphql(
        client,
        PLACE,
        order_input(address, expectedTotal="500.00"),
        token=await access_token_for(app, user),
    )

    [error] = body["data"]["placeOrder"]["errors"]
    assert (error["field"], error["code"]) == ("expectedTotal", "PRICE_CHANGED")
    assert error["total"] == {"amount": "600.00", "currency": "INR"}
    assert await stock_of(runner) == 4
    assert await Order.find_all().count() == 0


async def test_short_lines_are_each_named_and_nothing_changes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    shoes = await make_category()
    runner, sock = await make_product(shoes, stock=1), await make_product(shoes, stock=0)
    await fill_cart(user, (runner, 2), (sock, 1))

    body = await graphql(
        client, PLACE, order_input(address), token=await access_token_for(app, user)
    )

    [error] = body["data"]["placeOrder"]["errors"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["shortLines"] == [
        {"productId": global_id(runner), "requested": 2, "available": 1},
        {"productId": global_id(sock), "requested": 1, "available": 0},
    ]
    assert (await stock_of(runner), await stock_of(sock)) == (1, 0)
    cart = await Cart.find_one(Cart.user_id == user.id)
    assert cart is not None
    assert len(cart.lines) == 2


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("unverified", "EMAIL_NOT_VERIFIED", None),
        ("someone_elses_address", "ADDRESS_NOT_FOUND", "addressId"),
        ("empty_cart", "CART_EMPTY", None),
        ("blank_key", "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ],
)
async def test_refusals_change_nothing(
    app: Starlette, client: httpx.AsyncClient, case: str, code: str, field: str | None
) -> None:
    user, address = await make_buyer(email_verified=case != "unverified")
    runner = await make_product(await make_category(), stock=4)
    if case != "empty_cart":
        await fill_cart(user, (runner, 1))
    if case == "someone_elses_address":
        _, address = await make_buyer()
    extra = {"online": {"paymentMethod": "ONLINE"}, "blank_key": {"idempotencyKey": ""}}
    variables = order_input(address, **extra.get(case, {}))

    body = await graphql(client, PLACE, variables, token=await access_token_for(app, user))

    [error] = body["data"]["placeOrder"]["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert await stock_of(runner) == 4
    assert await Order.find_all().count() == 0


async def test_placing_an_order_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    _, address = await make_buyer()

    body = await graphql(client, PLACE, order_input(address))

    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_a_repeated_idempotency_key_returns_the_first_order(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    runner = await make_product(await make_category(), stock=4)
    await fill_cart(user, (runner, 1))
    token = await access_token_for(app, user)
    variables = order_input(address, idempotencyKey="checkout-1")

    bodies = await asyncio.gather(
        *(graphql(client, PLACE, variables, token=token) for _ in range(4))
    )
    again = await graphql(client, PLACE, variables, token=token)

    numbers = {body["data"]["placeOrder"]["order"]["number"] for body in [*bodies, again]}
    assert len(numbers) == 1
    assert await stock_of(runner) == 3
    assert await Order.find_all().count() == 1


async def test_a_thousand_buyers_racing_for_a_hundred_units_get_exactly_a_hundred_orders(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    runner = await make_product(await make_category(), stock=100, price=10_000)
    address = Address(
        name="Buyer",
        phone="+919812345678",
        line1="1 Main Road",
        city="Pune",
        state="Maharashtra",
        postal_code="411001",
    )
    users = [
        User(email=f"buyer{n}@example.com", name=f"Buyer {n}", email_verified=True)
        for n in range(1000)
    ]
    await User.insert_many(users)
    users = await User.find_all().to_list()
    await AddressBook.insert_many(
        [AddressBook(user_id=u.id, addresses=[address], default_id=address.id) for u in users]
    )
    await Cart.insert_many(
        [Cart(user_id=u.id, lines=[CartLine(product_id=runner.id, quantity=1)]) for u in users]
    )
    tokens = [await access_token_for(app, user) for user in users]
    assert await AuthSession.find_all().count() == 1000

    bodies = await asyncio.gather(
        *(graphql(client, PLACE, order_input(address), token=t) for t in tokens)
    )

    errors = [body["data"]["placeOrder"]["errors"] for body in bodies]
    placed = [body for body, error in zip(bodies, errors, strict=True) if not error]
    refused = [error[0]["code"] for error in errors if error]
    assert len(placed) == 100
    assert refused == ["INSUFFICIENT_STOCK"] * 900
    assert await stock_of(runner) == 0
    assert await Order.find_all().count() == 100


async def test_one_confirmation_email_per_order_and_none_for_a_refusal(
    app: Starlette, client: httpx.AsyncClient, settings: Any
) -> None:
    user, address = await make_buyer()
    runner = await make_product(await make_category(), name="Runner", stock=1)
    await fill_cart(user, (runner, 1))
    token = await access_token_for(app, user)
    variables = order_input(address, idempotencyKey="checkout-1")

    first = await graphql(client, PLACE, variables, token=token)
    await graphql(client, PLACE, variables, token=token)  # a retry of the same checkout
    await fill_cart_again(user, runner)
    refused = await graphql(client, PLACE, order_input(address), token=token)

    number = first["data"]["placeOrder"]["order"]["number"]
    assert refused["data"]["placeOrder"]["errors"][0]["code"] == "INSUFFICIENT_STOCK"
    emails = await sent_emails(app, settings, user.email)
    assert [email["subject"] for email in emails] == [f"Order #{number} confirmed"]
    assert "1 x Runner" in emails[0]["text"]


async def fill_cart_again(user: User, product: Product) -> None:
    await Cart.get_pymongo_collection().update_one(
        {"user_id": user.id},
        {"$set": {"lines": [CartLine(product_id=product.id, quantity=1).model_dump()]}},
    )


async def a_first_order(
    app: Starlette, client: httpx.AsyncClient
) -> tuple[User, Address, str, dict[str, Any], dict[str, Any]]:
    """A buyer who has ordered with the key "checkout-1": the buyer, their address and token,
    the order's variables and its answer."""
    user, address = await make_buyer()
    await fill_cart(user, (await make_product(await make_category(), stock=4), 1))
    token = await access_token_for(app, user)
    variables = order_input(address, idempotencyKey="checkout-1")
    return user, address, token, variables, await graphql(client, PLACE, variables, token=token)


async def test_a_retry_returns_the_first_order_even_after_its_address_is_gone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, _, token, variables, first = await a_first_order(app, client)
    await AddressBook.get_pymongo_collection().delete_many({"user_id": user.id})

    again = await graphql(client, PLACE, variables, token=token)

    assert again["data"]["placeOrder"] == first["data"]["placeOrder"]


async def test_a_cart_changed_since_it_was_reviewed_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    runner = await make_product(await make_category(), stock=4)
    await fill_cart(user, (runner, 1))
    await Cart.get_pymongo_collection().update_one({"user_id": user.id}, {"$inc": {"version": 1}})

    body = await graphql(
        client,
        PLACE,
        order_input(address, expectedCartVersion=0),
        token=await access_token_for(app, user),
    )

    [error] = body["data"]["placeOrder"]["errors"]
    assert (error["field"], error["code"]) == ("expectedCartVersion", "CART_CHANGED")
    assert await stock_of(runner) == 4


async def test_one_account_may_place_30_orders_an_hour(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user, address = await make_buyer()
    token = await access_token_for(app, user)

    answers = [await graphql(client, PLACE, order_input(address), token=token) for _ in range(31)]

    assert all(a["data"]["placeOrder"]["errors"][0]["code"] == "CART_EMPTY" for a in answers[:30])
    assert error_codes(answers[30]) == ["RATE_LIMITED"]


async def test_a_checkout_costs_the_same_mongodb_commands_for_one_line_or_three(
    app: Starlette, client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    shoes = await make_category()
    sent = []
    for count in (1, 3):
        user, address = await make_buyer()
        await fill_cart(user, *[(await make_product(shoes, stock=4), 1) for _ in range(count)])
        token = await access_token_for(app, user)
        mongo_commands.reset()

        body = await graphql(client, PLACE, order_input(address), token=token)

        assert body["data"]["placeOrder"]["errors"] == []
        sent.append([(name, command.get(name)) for name, command in mongo_commands.sent])
    # Who is asking, the address, the cart; the order number; then one transaction: the
    # products, the order (its unique (user, key) index is the idempotency guard), the cart
    # emptied, the email into the outbox, the stock with its reference and movements. After
    # the commit the email is handed to the job queue.
    assert (
        sent[0]
        == sent[1]
        == [
            ("find", "sessions"),
            ("find", "users"),
            ("find", "address_books"),
            ("find", "carts"),
            ("find", "products"),
            ("findAndModify", "order_counters"),
            ("insert", "orders"),
            ("update", "carts"),
            ("insert", "outbox_messages"),
            ("insert", "stock_references"),
            ("update", "products"),
            ("insert", "stock_movements"),
            ("commitTransaction", 1),
            ("update", "outbox_messages"),
        ]
    )


async def test_a_repeat_over_the_rate_limit_still_gets_the_first_order(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    _, address, token, variables, first = await a_first_order(app, client)
    for _ in range(30):  # the hour's other 29 attempts, and one over
        await graphql(client, PLACE, order_input(address), token=token)

    again = await graphql(client, PLACE, variables, token=token)
    other = await graphql(client, PLACE, order_input(address), token=token)

    assert again["data"]["placeOrder"] == first["data"]["placeOrder"]
    assert error_codes(other) == ["RATE_LIMITED"]
