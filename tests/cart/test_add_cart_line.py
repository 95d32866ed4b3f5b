"""`addCartLine`: a user's cart is created on the first add, a guest gets a cart and its token,
and every limit is refused with its code and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import httpx

from documents.carts import Cart
from documents.catalog import Product
from documents.common import utc_now
from tests.cart.cart_api import (
    ADD_CART_LINE,
    add_line,
    errors,
    quantities,
    stored_carts,
    view_cart,
)
from tests.factories import global_id, make_category, make_guest_cart, make_product
from tests.support import error_codes, graphql, user_token


async def test_a_users_first_add_creates_their_cart_priced_now(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category(), price=200_00, discount_percent=10, stock=5)
    token = await user_token(client)

    payload = await add_line(client, shoes, 2, token=token)

    assert payload["errors"] == []
    assert payload["cartToken"] is None
    cart = payload["cart"]
    assert [
        (line["product"]["id"], line["quantity"], line["unitPrice"], line["lineTotal"])
        for line in cart["lines"]
    ] == [(global_id(shoes), 2, {"amount": "180.00"}, {"amount": "360.00"})]
    assert cart["lines"][0]["problem"] is None
    assert cart["lines"][0]["availableQuantity"] == 5
    # 400.00 listed, 40.00 off, and 360.00 is under the 499.00 free-shipping threshold.
    assert (cart["itemCount"], cart["subtotal"], cart["discount"], cart["shipping"]) == (
        2,
        {"amount": "400.00", "currency": "INR"},
        {"amount": "40.00"},
        {"amount": "49.00"},
    )
    assert cart["total"] == {"amount": "409.00"}
    assert cart["version"] == 1
    assert cart["expiresAt"] is None
    assert await view_cart(client, token=token) == cart
    stored = await Cart.find_all().to_list()
    assert [(c.user_id, c.token_hash, c.expires_at) for c in stored] == [(stored[0].id, None, None)]


async def test_adding_a_product_again_grows_its_line(client: httpx.AsyncClient) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)
    token = await user_token(client)
    await add_line(client, shoes, 2, token=token)
    await add_line(client, socks, 1, token=token)

    payload = await add_line(client, shoes, 3, token=token)

    assert payload["errors"] == []
    assert [(line["product"]["id"], line["quantity"]) for line in payload["cart"]["lines"]] == [
        (global_id(shoes), 5),
        (global_id(socks), 1),
    ]
    assert payload["cart"]["version"] == 3
    assert payload["cart"]["shipping"] == {"amount": "0.00"}  # 600.00 ships free


async def test_a_guest_gets_a_new_cart_and_its_token_which_later_adds_use(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)

    created = await add_line(client, shoes, 2)
    cart_token = created["cartToken"]
    again = await add_line(client, socks, 1, cart_token=cart_token)

    assert created["errors"] == again["errors"] == []
    assert len(cart_token) == 43  # 32 random bytes, URL-safe base64
    assert again["cartToken"] is None
    assert again["cart"]["id"] == created["cart"]["id"]
    assert quantities(again["cart"]) == {global_id(shoes): 2, global_id(socks): 1}
    stored = await Cart.find_all().to_list()
    assert len(stored) == 1
    assert stored[0].user_id is None
    assert stored[0].token_hash is not None
    assert cart_token not in stored[0].token_hash
    assert stored[0].expires_at is not None
    assert timedelta(days=29, hours=23) < stored[0].expires_at - utc_now() <= timedelta(days=30)


async def test_a_guest_may_send_the_token_in_the_x_cart_token_header(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    shoes, socks = await make_product(category), await make_product(category)
    cart_token = (await add_line(client, shoes))["cartToken"]

    response = await client.post(
        "/graphql",
        json={
            "query": ADD_CART_LINE,
            "variables": {"input": {"productId": global_id(socks), "quantity": 1}},
        },
        headers={"x-cart-token": cart_token},
    )

    payload = response.json()["data"]["addCartLine"]
    assert payload["errors"] == []
    assert quantities(payload["cart"]) == {global_id(shoes): 1, global_id(socks): 1}
    assert await Cart.count() == 1


async def test_every_change_of_a_guest_cart_moves_its_expiry(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    cart, cart_token = await make_guest_cart(expires_in=timedelta(days=1))

    await add_line(client, shoes, cart_token=cart_token)

    stored = await Cart.get(cart.id)
    assert stored is not None
    assert stored.expires_at is not None
    assert stored.expires_at - utc_now() > timedelta(days=29)
    assert stored.version == 1


async def test_quantities_outside_1_to_the_line_limit_are_invalid(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category(), stock=100)
    token = await user_token(client)

    refused = [await add_line(client, shoes, quantity, token=token) for quantity in (0, -1, 11)]

    assert [errors(payload) for payload in refused] == [
        [("quantity", "INVALID_QUANTITY", None)]
    ] * 3
    assert all(payload["cart"] is None for payload in refused)
    assert await stored_carts() == []


async def test_a_line_may_not_grow_past_the_line_limit(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category(), stock=100)
    token = await user_token(client)
    await add_line(client, shoes, 8, token=token)
    before = await stored_carts()

    refused = await add_line(client, shoes, 3, token=token)
    exactly = await add_line(client, shoes, 2, token=token)

    assert errors(refused) == [("quantity", "INVALID_QUANTITY", None)]
    assert "at most 10" in refused["errors"][0]["message"]
    assert before[0]["lines"][0]["quantity"] == 8
    assert exactly["errors"] == []
    assert quantities(exactly["cart"]) == {global_id(shoes): 10}


async def test_asking_for_more_than_is_left_says_how_many_are(client: httpx.AsyncClient) -> None:
    category = await make_category()
    shoes = await make_product(category, stock=3)
    sold_out = await make_product(category, stock=0)
    token = await user_token(client)

    too_many = await add_line(client, shoes, 5, token=token)
    none_left = await add_line(client, sold_out, 1, token=token)

    assert errors(too_many) == [("quantity", "INSUFFICIENT_STOCK", 3)]
    assert too_many["errors"][0]["message"] == "Only 3 left"
    assert errors(none_left) == [("quantity", "INSUFFICIENT_STOCK", 0)]
    assert none_left["errors"][0]["message"] == "Out of stock"
    assert await stored_carts() == []


async def test_what_is_already_in_the_cart_counts_against_the_stock(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category(), stock=3)
    token = await user_token(client)
    await add_line(client, shoes, 2, token=token)

    refused = await add_line(client, shoes, 2, token=token)

    assert errors(refused) == [("quantity", "INSUFFICIENT_STOCK", 3)]
    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 2}


async def test_a_missing_hidden_or_archived_product_is_unavailable(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    hidden = await make_product(category, published=False)
    archived = await make_product(category, published=False, archived_at=utc_now())
    deleted = await make_product(category)
    await deleted.delete()
    token = await user_token(client)

    refused = [
        await add_line(client, product, token=token) for product in (hidden, archived, deleted)
    ]
    guest = await add_line(client, hidden)

    assert [errors(payload) for payload in refused] == [
        [("productId", "PRODUCT_UNAVAILABLE", None)]
    ] * 3
    assert errors(guest) == [("productId", "PRODUCT_UNAVAILABLE", None)]
    assert guest["cartToken"] is None
    assert await stored_carts() == []


async def test_a_product_id_that_is_not_one_is_bad_input(client: httpx.AsyncClient) -> None:
    category = await make_category()
    token = await user_token(client)

    body = await graphql(
        client,
        ADD_CART_LINE,
        {"input": {"productId": global_id(category), "quantity": 1}},
        token=token,
    )

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "productId"


async def test_a_full_cart_takes_no_new_product_but_its_lines_still_grow(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    products = [await make_product(category) for _ in range(51)]
    token = await user_token(client)
    for product in products[:50]:
        await add_line(client, product, token=token)

    refused = await add_line(client, products[50], token=token)
    grown = await add_line(client, products[0], token=token)

    assert errors(refused) == [(None, "TOO_MANY_LINES", None)]
    assert grown["errors"] == []
    assert len(grown["cart"]["lines"]) == 50
    assert grown["cart"]["lines"][0]["quantity"] == 2


async def test_an_unknown_or_expired_guest_token_is_no_cart(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    _, expired_token = await make_guest_cart(expires_in=timedelta(seconds=-1))
    before = await stored_carts()

    unknown = await add_line(client, shoes, cart_token="made-up")
    expired = await add_line(client, shoes, cart_token=expired_token)

    assert errors(unknown) == errors(expired) == [("cartToken", "CART_NOT_FOUND", None)]
    assert unknown["cartToken"] is None
    assert await stored_carts() == before


async def test_a_signed_in_user_adds_to_their_own_cart_whatever_token_is_sent(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    guest_cart, cart_token = await make_guest_cart()
    token = await user_token(client)

    payload = await add_line(client, shoes, token=token, cart_token=cart_token)

    assert payload["errors"] == []
    stored = await Cart.get(guest_cart.id)
    assert stored is not None
    assert stored.lines == []
    assert await Cart.find(Cart.user_id != None).count() == 1  # noqa: E711


async def test_an_expired_access_token_is_unauthenticated_not_a_guest(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())

    body = await graphql(
        client,
        ADD_CART_LINE,
        {"input": {"productId": global_id(shoes), "quantity": 1}},
        token="not-a-valid-access-token",
    )

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await stored_carts() == []
    assert await Product.count() == 1


async def test_one_client_may_start_60_guest_carts_an_hour(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    variables = {"input": {"productId": global_id(shoes), "quantity": 1}}
    for _ in range(60):
        started = await graphql(client, ADD_CART_LINE, variables)
        assert started["data"]["addCartLine"]["cartToken"]

    refused = await graphql(client, ADD_CART_LINE, variables)

    assert error_codes(refused) == ["RATE_LIMITED"]
    assert await Cart.count() == 60
