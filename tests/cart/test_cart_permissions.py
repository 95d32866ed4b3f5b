"""Nobody reaches a cart that is not theirs, and a refusal says no more than "not found"."""

from __future__ import annotations

import httpx

from tests.cart.cart_api import (
    CLEAR_CART,
    errors,
    remove_line,
    stored_carts,
    update_line,
    view_cart,
)
from tests.factories import (
    DEFAULT_PASSWORD,
    make_category,
    make_guest_cart,
    make_product,
    make_user,
    make_user_cart,
)
from tests.support import graphql, login


async def test_someone_elses_line_is_line_not_found_like_one_that_never_was(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    owner, intruder = await make_user(), await make_user()
    owners_cart = await make_user_cart(owner, [(shoes, 2)])
    await make_user_cart(intruder, [(shoes, 1)])
    _, guest_token = await make_guest_cart([(shoes, 1)])
    intruder_token = (await login(client, intruder.email, DEFAULT_PASSWORD))["accessToken"]
    theirs = owners_cart.lines[0].id
    made_up = "0123456789abcdef01234567"
    before = await stored_carts()

    answers = [
        await update_line(client, theirs, 1, token=intruder_token),
        await remove_line(client, theirs, token=intruder_token),
        await update_line(client, made_up, 1, token=intruder_token),
        await remove_line(client, made_up, token=intruder_token),
        await update_line(client, theirs, 1, cart_token=guest_token),
        await remove_line(client, theirs, cart_token=guest_token),
    ]

    assert all(answer == answers[0] for answer in answers)
    assert errors(answers[0]) == [("lineId", "LINE_NOT_FOUND", None)]
    assert answers[0]["errors"][0]["message"] == "No such line in this cart"
    assert await stored_carts() == before


async def test_a_wrong_cart_token_gets_the_answer_of_no_cart_at_all(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    cart, cart_token = await make_guest_cart([(shoes, 2)])
    line_id = cart.lines[0].id
    # Almost the right token, and one that was never issued: indistinguishable.
    near_miss = cart_token[:-1] + ("A" if cart_token[-1] != "A" else "B")
    before = await stored_carts()

    for wrong in (near_miss, "never-issued"):
        assert await view_cart(client, cart_token=wrong) is None
        assert errors(await update_line(client, line_id, 1, cart_token=wrong)) == [
            ("cartToken", "CART_NOT_FOUND", None)
        ]
        assert errors(await remove_line(client, line_id, cart_token=wrong)) == [
            ("cartToken", "CART_NOT_FOUND", None)
        ]
        cleared = await graphql(client, CLEAR_CART, {"cartToken": wrong})
        assert errors(cleared["data"]["clearCart"]) == [("cartToken", "CART_NOT_FOUND", None)]
    assert await stored_carts() == before


async def test_a_signed_in_user_never_sees_a_guest_cart_through_its_token(
    client: httpx.AsyncClient,
) -> None:
    shoes = await make_product(await make_category())
    _, cart_token = await make_guest_cart([(shoes, 2)])
    user = await make_user()
    token = (await login(client, user.email, DEFAULT_PASSWORD))["accessToken"]

    cart = await view_cart(client, token=token, cart_token=cart_token)

    assert cart is not None
    assert cart["lines"] == []
