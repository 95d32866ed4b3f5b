"""Two tabs at once: concurrent cart changes never lose a line and never pass a limit."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from documents.carts import Cart
from tests.cart.cart_api import add_line, remove_line
from tests.factories import DEFAULT_PASSWORD, make_category, make_product, make_user, make_user_cart
from tests.support import login, user_token


async def stored_cart() -> Cart:
    carts = await Cart.find_all().to_list()
    assert len(carts) == 1
    return carts[0]


async def test_20_concurrent_adds_of_different_products_make_20_lines(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    products = [await make_product(category) for _ in range(20)]
    token = await user_token(client)  # no cart yet: the first adds race to create it too

    results = await asyncio.gather(*(add_line(client, p, token=token) for p in products))

    assert all(result["errors"] == [] for result in results)
    cart = await stored_cart()
    assert sorted(str(line.product_id) for line in cart.lines) == sorted(
        str(p.id) for p in products
    )
    assert all(line.quantity == 1 for line in cart.lines)
    assert cart.version == 20


async def test_20_concurrent_adds_of_one_product_stop_exactly_at_the_line_limit(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category(), stock=100)
    token = await user_token(client)

    results = await asyncio.gather(*(add_line(client, shoes, 1, token=token) for _ in range(20)))

    outcomes = Counter(
        result["errors"][0]["code"] if result["errors"] else "ADDED" for result in results
    )
    assert outcomes == {"ADDED": 10, "INVALID_QUANTITY": 10}
    cart = await stored_cart()
    assert [line.quantity for line in cart.lines] == [10]
    assert cart.version == 10


async def test_concurrent_adds_never_take_a_line_past_the_stock(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category(), stock=4)
    token = await user_token(client)

    results = await asyncio.gather(*(add_line(client, shoes, 1, token=token) for _ in range(12)))

    outcomes = Counter(
        (result["errors"][0]["code"], result["errors"][0]["available"])
        if result["errors"]
        else "ADDED"
        for result in results
    )
    assert outcomes == {"ADDED": 4, ("INSUFFICIENT_STOCK", 4): 8}
    assert [line.quantity for line in (await stored_cart()).lines] == [4]


async def test_concurrent_adds_of_new_products_stop_exactly_at_the_line_count(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    products = [await make_product(category) for _ in range(55)]
    cart_token = (await add_line(client, products[0]))["cartToken"]
    for product in products[1:45]:
        await add_line(client, product, cart_token=cart_token)

    results = await asyncio.gather(
        *(add_line(client, p, cart_token=cart_token) for p in products[45:])
    )

    outcomes = Counter(
        result["errors"][0]["code"] if result["errors"] else "ADDED" for result in results
    )
    assert outcomes == {"ADDED": 5, "TOO_MANY_LINES": 5}
    assert len((await stored_cart()).lines) == 50


async def test_adds_and_removes_at_once_lose_nothing(client: httpx.AsyncClient) -> None:
    category = await make_category()
    products = [await make_product(category) for _ in range(30)]
    kept, removed, added = products[:10], products[10:20], products[20:]
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    cart = await make_user_cart(user, [(product, 1) for product in kept + removed])
    to_remove = [line.id for line in cart.lines[10:]]

    results = await asyncio.gather(
        *(remove_line(client, line_id, token=token) for line_id in to_remove),
        *(add_line(client, product, token=token) for product in added),
    )

    assert all(result["errors"] == [] for result in results)
    final = await stored_cart()
    assert sorted(str(line.product_id) for line in final.lines) == sorted(
        str(p.id) for p in kept + added
    )
    assert final.version == cart.version + 20
