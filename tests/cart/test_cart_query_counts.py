"""A cart's products load in one batch, whatever the number of lines."""

from __future__ import annotations

import httpx

from documents.carts import Cart
from tests.factories import (
    DEFAULT_PASSWORD,
    make_category,
    make_product,
    make_user,
    make_user_cart,
)
from tests.support import MongoCommandCounter, graphql, login

CART_WITH_PRODUCTS = """
{ cart { total { amount } lines { quantity problem unitPrice { amount } product { name } } } }
"""


async def commands_for_a_cart_of(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter, lines: int
) -> list[tuple[str, object]]:
    """The (command, collection) pairs one `cart` query costs, for a cart of `lines` lines."""
    category = await make_category()
    products = [await make_product(category) for _ in range(lines)]
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    await make_user_cart(user, [(product, 1) for product in products])
    mongo_commands.reset()

    body = await graphql(client, CART_WITH_PRODUCTS, token=token)

    assert "errors" not in body, body
    assert len(body["data"]["cart"]["lines"]) == lines
    sent = [(name, command.get(name)) for name, command in mongo_commands.sent]
    await Cart.get_pymongo_collection().delete_many({})
    return sent


async def test_a_20_line_cart_with_its_products_costs_four_commands(
    client: httpx.AsyncClient, mongo_commands: MongoCommandCounter
) -> None:
    one_line = await commands_for_a_cart_of(client, mongo_commands, 1)
    twenty_lines = await commands_for_a_cart_of(client, mongo_commands, 20)

    # The viewer's session and user (one batch each), the cart, and every product in one batch:
    # pricing and `product { name }` share the request's ProductByIdLoader.
    assert sorted(twenty_lines) == sorted(
        [("find", "sessions"), ("find", "users"), ("find", "carts"), ("find", "products")]
    ), twenty_lines
    assert sorted(twenty_lines) == sorted(one_line)
