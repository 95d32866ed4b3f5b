"""A guest cart joins the user's cart on sign-in (`login`, `register`, `googleLogin`) or with
`mergeCart`: quantities added within the limits, the guest cart gone, and a retry merges nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from documents.carts import Cart
from integrations.google import GoogleSignIn
from tests.cart.cart_api import MERGE_CART, errors, quantities, stored_carts, view_cart
from tests.factories import (
    DEFAULT_PASSWORD,
    global_id,
    make_category,
    make_guest_cart,
    make_product,
    make_user,
    make_user_cart,
)
from tests.fakes.oidc import FakeOpenIdProvider
from tests.support import error_codes, graphql

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken errors { code } }
}
"""
REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken errors { code } }
}
"""
GOOGLE_LOGIN = """
mutation GoogleLogin($idToken: String!, $cartToken: String) {
  googleLogin(idToken: $idToken, cartToken: $cartToken) { accessToken errors { code } }
}
"""


async def sign_in(
    client: httpx.AsyncClient, email: str, cart_token: str | None, **headers: str
) -> str:
    """Sign in with `login`, passing `cart_token`; the access token."""
    variables = {"input": {"email": email, "password": DEFAULT_PASSWORD, "cartToken": cart_token}}
    response = await client.post(
        "/graphql", json={"query": LOGIN, "variables": variables}, headers=headers
    )
    payload: dict[str, Any] = response.json()["data"]["login"]
    assert payload["errors"] == [], payload
    token: str = payload["accessToken"]
    return token


async def merge(client: httpx.AsyncClient, token: str, cart_token: str | None) -> dict[str, Any]:
    body = await graphql(client, MERGE_CART, {"cartToken": cart_token}, token=token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["mergeCart"]
    return payload


async def test_signing_in_with_a_cart_token_adds_the_guest_lines_to_the_users_cart(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    shoes, socks, hat = [await make_product(category) for _ in range(3)]
    user = await make_user()
    await make_user_cart(user, [(shoes, 2), (socks, 1)])
    guest_cart, cart_token = await make_guest_cart([(socks, 3), (hat, 1)])

    token = await sign_in(client, user.email, cart_token)

    cart = await view_cart(client, token=token)
    assert quantities(cart) == {global_id(shoes): 2, global_id(socks): 4, global_id(hat): 1}
    assert await Cart.get(guest_cart.id) is None
    assert await Cart.count() == 1


async def test_merged_quantities_stay_within_the_stock_and_the_line_limit(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    few_left = await make_product(category, stock=4)
    plenty = await make_product(category, stock=100)
    gone_low = await make_product(category, stock=1)
    sold_out = await make_product(category, stock=0)
    hidden = await make_product(category, published=False)
    user = await make_user()
    await make_user_cart(user, [(few_left, 3), (plenty, 8), (gone_low, 3)])
    _, cart_token = await make_guest_cart(
        [(few_left, 3), (plenty, 8), (gone_low, 1), (sold_out, 2), (hidden, 1)]
    )

    token = await sign_in(client, user.email, cart_token)

    # Capped by the stock (4) and the line limit (10); a line already over the stock keeps what
    # it had; products that cannot be bought now are not brought over.
    assert quantities(await view_cart(client, token=token)) == {
        global_id(few_left): 4,
        global_id(plenty): 10,
        global_id(gone_low): 3,
    }
    assert await Cart.count() == 1


async def test_a_full_users_cart_takes_no_new_product_from_the_guest_cart(
    client: httpx.AsyncClient,
) -> None:
    category = await make_category()
    products = [await make_product(category) for _ in range(52)]
    user = await make_user()
    await make_user_cart(user, [(product, 1) for product in products[:49]])
    _, cart_token = await make_guest_cart([(products[0], 1), (products[50], 1), (products[51], 1)])

    token = await sign_in(client, user.email, cart_token)

    merged = quantities(await view_cart(client, token=token))
    assert len(merged) == 50
    assert merged[global_id(products[0])] == 2
    assert merged[global_id(products[50])] == 1
    assert global_id(products[51]) not in merged


async def test_a_user_without_a_cart_gets_the_guest_cart_lines(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    _, cart_token = await make_guest_cart([(shoes, 2)])

    token = await sign_in(client, user.email, cart_token)

    cart = await view_cart(client, token=token)
    assert cart is not None
    assert quantities(cart) == {global_id(shoes): 2}
    stored = await Cart.find_all().to_list()
    assert [(c.id, c.user_id, c.token_hash, c.expires_at) for c in stored] == [
        (user.id, user.id, None, None)
    ]


async def test_a_retried_merge_adds_nothing_twice(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    await make_user_cart(user, [(shoes, 1)])
    _, cart_token = await make_guest_cart([(shoes, 2)])

    token = await sign_in(client, user.email, cart_token)
    again = await sign_in(client, user.email, cart_token)
    merged = await merge(client, again, cart_token)

    assert merged["errors"] == []
    assert quantities(merged["cart"]) == {global_id(shoes): 3}
    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 3}


async def test_concurrent_merges_of_one_guest_cart_add_it_once(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    await make_user_cart(user, [(shoes, 1)])
    _, cart_token = await make_guest_cart([(shoes, 2)])
    token = await sign_in(client, user.email, None)

    results = await asyncio.gather(*(merge(client, token, cart_token) for _ in range(10)))

    assert all(result["errors"] == [] for result in results)
    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 3}
    assert await Cart.count() == 1


async def test_merge_cart_merges_for_a_signed_in_user(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    token = await sign_in(client, user.email, None)
    guest_cart, cart_token = await make_guest_cart([(shoes, 2)])

    merged = await merge(client, token, cart_token)

    assert merged["errors"] == []
    assert quantities(merged["cart"]) == {global_id(shoes): 2}
    assert merged["cart"]["version"] == 1
    assert await Cart.get(guest_cart.id) is None


async def test_merge_cart_needs_a_signed_in_user(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    _, cart_token = await make_guest_cart([(shoes, 2)])
    before = await stored_carts()

    body = await graphql(client, MERGE_CART, {"cartToken": cart_token})

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert await stored_carts() == before


async def test_a_token_of_no_cart_merges_nothing_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    await make_user_cart(user, [(shoes, 1)])
    token = await sign_in(client, user.email, "made-up")
    before = await stored_carts()

    merged = await merge(client, token, "made-up")
    without = await merge(client, token, None)

    assert errors(merged) == errors(without) == []
    assert quantities(merged["cart"]) == quantities(without["cart"]) == {global_id(shoes): 1}
    assert await stored_carts() == before


async def test_signing_in_merges_the_cart_of_the_x_cart_token_header(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    _, cart_token = await make_guest_cart([(shoes, 2)])

    token = await sign_in(client, user.email, None, **{"x-cart-token": cart_token})

    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 2}
    assert await Cart.count() == 1


async def test_registering_with_a_cart_token_keeps_the_guest_cart(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    _, cart_token = await make_guest_cart([(shoes, 2)])
    account = {
        "email": "new@example.com",
        "password": "a good passphrase",
        "name": "New Shopper",
        "cartToken": cart_token,
    }

    body = await graphql(client, REGISTER, {"input": account})

    token = body["data"]["register"]["accessToken"]
    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 2}
    assert await Cart.count() == 1


@pytest.fixture
def google(replace_services: Callable[..., None]) -> Iterator[FakeOpenIdProvider]:
    with FakeOpenIdProvider(client_id="shop-web", client_secret="secret") as fake:
        replace_services(
            google=GoogleSignIn(
                client_id="shop-web", client_secret="secret", discovery_url=fake.discovery_url
            )
        )
        yield fake


async def test_google_sign_in_with_a_cart_token_merges_the_guest_cart(
    client: httpx.AsyncClient, google: FakeOpenIdProvider
) -> None:
    shoes = await make_product(await make_category())
    _, cart_token = await make_guest_cart([(shoes, 2)])

    body = await graphql(
        client, GOOGLE_LOGIN, {"idToken": google.id_token(), "cartToken": cart_token}
    )

    token = body["data"]["googleLogin"]["accessToken"]
    assert quantities(await view_cart(client, token=token)) == {global_id(shoes): 2}
    assert await Cart.count() == 1


async def test_a_failed_sign_in_merges_nothing(client: httpx.AsyncClient) -> None:
    shoes = await make_product(await make_category())
    user = await make_user()
    _, cart_token = await make_guest_cart([(shoes, 2)])
    before = await stored_carts()
    variables = {"input": {"email": user.email, "password": "wrong", "cartToken": cart_token}}

    body = await graphql(client, LOGIN, variables)

    assert body["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    assert await stored_carts() == before
