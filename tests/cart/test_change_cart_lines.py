"""`updateCartLine`, `removeCartLine` and `clearCart`, for users and guests."""

from __future__ import annotations

import httpx
from strawberry import relay

from documents.carts import Cart
from documents.catalog import Product
from documents.common import utc_now
from tests.cart.cart_api import (
    CLEAR_CART,
    errors,
    quantities,
    remove_line,
    stored_carts,
    update_line,
    view_cart,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    global_id,
    make_category,
    make_guest_cart,
    make_product,
    make_user,
    make_user_cart,
)
from tests.support import graphql, login


async def signed_in_with_cart(
    client: httpx.AsyncClient, lines: list[tuple[Product, int]]
) -> tuple[str, Cart]:
    """A signed-in user's access token, and their cart holding `lines`."""
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]
    return token, await make_user_cart(user, lines)


async def test_a_line_is_set_to_a_new_quantity(client: httpx.AsyncClient) -> None:
    category = await make_category()
    shoes, socks = await make_product(category, stock=8), await make_product(category)
    token, cart = await signed_in_with_cart(client, [(shoes, 2), (socks, 1)])

    payload = await update_line(client, cart.lines[0].id, 7, token=token)

    assert payload["errors"] == []
    assert quantities(payload["cart"]) == {global_id(shoes): 7, global_id(socks): 1}
    assert payload["cart"]["version"] == cart.version + 1
    assert payload["cart"]["updatedAt"] > cart.updated_at.isoformat()


async def test_a_new_quantity_must_be_within_the_line_limit_and_the_stock(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category(), stock=3)
    token, cart = await signed_in_with_cart(client, [(shoes, 2)])
    line_id = cart.lines[0].id
    before = await stored_carts()

    refused = [await update_line(client, line_id, n, token=token) for n in (0, 11, 5)]

    assert [errors(payload) for payload in refused] == [
        [("quantity", "INVALID_QUANTITY", None)],
        [("quantity", "INVALID_QUANTITY", None)],
        [("quantity", "INSUFFICIENT_STOCK", 3)],
    ]
    assert await stored_carts() == before


async def test_a_line_of_a_product_no_longer_sold_cannot_change_but_can_go(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    token, cart = await signed_in_with_cart(client, [(shoes, 2)])
    await shoes.set({"published": False})

    refused = await update_line(client, cart.lines[0].id, 1, token=token)
    removed = await remove_line(client, cart.lines[0].id, token=token)

    assert errors(refused) == [("lineId", "PRODUCT_UNAVAILABLE", None)]
    assert removed["errors"] == []
    assert removed["cart"]["lines"] == []


async def test_a_removed_line_is_gone_and_removing_it_again_is_line_not_found(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)
    token, cart = await signed_in_with_cart(client, [(shoes, 2), (socks, 1)])

    removed = await remove_line(client, cart.lines[0].id, token=token)
    again = await remove_line(client, cart.lines[0].id, token=token)

    assert removed["errors"] == []
    assert quantities(removed["cart"]) == {global_id(socks): 1}
    assert removed["cart"]["version"] == cart.version + 1
    assert errors(again) == [("lineId", "LINE_NOT_FOUND", None)]
    assert quantities(await view_cart(client, token=token)) == {global_id(socks): 1}


async def test_an_unknown_line_is_line_not_found(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    token, _ = await signed_in_with_cart(client, [(shoes, 2)])
    before = await stored_carts()

    updated = await update_line(client, "0123456789abcdef01234567", 1, token=token)
    removed = await remove_line(client, "not even an id", token=token)

    assert errors(updated) == errors(removed) == [("lineId", "LINE_NOT_FOUND", None)]
    assert await stored_carts() == before


async def test_a_user_without_a_cart_has_no_lines_to_change(client: httpx.AsyncClient) -> None:
    token = (await login(client, (await make_user()).email, DEFAULT_PASSWORD))["accessToken"]

    updated = await update_line(client, "0123456789abcdef01234567", 1, token=token)
    removed = await remove_line(client, "0123456789abcdef01234567", token=token)

    assert errors(updated) == errors(removed) == [("lineId", "LINE_NOT_FOUND", None)]
    assert await stored_carts() == []


async def test_clearing_empties_the_cart_once(client: httpx.AsyncClient) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)
    token, cart = await signed_in_with_cart(client, [(shoes, 2), (socks, 1)])

    cleared = (await graphql(client, CLEAR_CART, token=token))["data"]["clearCart"]
    again = (await graphql(client, CLEAR_CART, token=token))["data"]["clearCart"]

    assert cleared["errors"] == again["errors"] == []
    assert cleared["cart"]["lines"] == []
    assert cleared["cart"]["total"] == {"amount": "0.00"}
    assert cleared["cart"]["shipping"] == {"amount": "0.00"}
    assert cleared["cart"]["version"] == again["cart"]["version"] == cart.version + 1


async def test_clearing_the_cart_of_a_user_without_one_creates_none(
    client: httpx.AsyncClient,
) -> None:
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]

    cleared = (await graphql(client, CLEAR_CART, token=token))["data"]["clearCart"]

    assert cleared["errors"] == []
    assert cleared["cart"]["lines"] == []
    assert cleared["cart"]["id"] == str(relay.GlobalID("Cart", str(user.id)))
    assert await stored_carts() == []


async def test_a_guest_changes_their_cart_with_its_token(client: httpx.AsyncClient) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)
    cart, cart_token = await make_guest_cart([(shoes, 2), (socks, 1)])

    updated = await update_line(client, cart.lines[0].id, 4, cart_token=cart_token)
    removed = await remove_line(client, cart.lines[1].id, cart_token=cart_token)
    body = await graphql(client, CLEAR_CART, {"cartToken": cart_token})

    assert updated["errors"] == removed["errors"] == []
    assert quantities(updated["cart"]) == {global_id(shoes): 4, global_id(socks): 1}
    assert quantities(removed["cart"]) == {global_id(shoes): 4}
    assert body["data"]["clearCart"]["cart"]["lines"] == []
    stored = await Cart.get(cart.id)
    assert stored is not None
    assert stored.version == cart.version + 3
    assert stored.expires_at is not None
    assert stored.expires_at > utc_now()


async def test_a_guest_without_a_live_cart_has_nothing_to_change(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    cart, _ = await make_guest_cart([(shoes, 2)])
    line_id = cart.lines[0].id
    before = await stored_carts()

    without_token = [
        await update_line(client, line_id, 1),
        await remove_line(client, line_id),
        (await graphql(client, CLEAR_CART))["data"]["clearCart"],
    ]
    wrong_token = [
        await update_line(client, line_id, 1, cart_token="wrong"),
        await remove_line(client, line_id, cart_token="wrong"),
        (await graphql(client, CLEAR_CART, {"cartToken": "wrong"}))["data"]["clearCart"],
    ]

    for payload in without_token + wrong_token:
        assert errors(payload) == [("cartToken", "CART_NOT_FOUND", None)]
        assert payload["cart"] is None
    assert await stored_carts() == before
