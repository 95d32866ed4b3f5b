"""What checkout uses of the cart: `cart_of_user`, and `empty_cart` guarded by the version."""

from __future__ import annotations

import pytest
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.carts import Cart, cart_of_user, empty_cart
from documents.transactions import in_transaction
from tests.factories import make_category, make_guest_cart, make_product, make_user, make_user_cart

pytestmark = pytest.mark.usefixtures("app")


async def test_cart_of_user_is_the_users_cart_or_none() -> None:
    shoes = await make_product(await make_category())
    with_cart, without = await make_user(), await make_user()
    cart = await make_user_cart(with_cart, [(shoes, 2)])
    await make_guest_cart([(shoes, 1)])

    found = await cart_of_user(with_cart.id)

    assert found is not None
    assert (found.id, found.lines, found.version) == (cart.id, cart.lines, cart.version)
    assert await cart_of_user(without.id) is None


async def test_empty_cart_clears_the_lines_while_the_version_is_the_one_read() -> None:
    shoes = await make_product(await make_category())
    cart = await make_user_cart(await make_user(), [(shoes, 2)])
    assert cart.id is not None

    stale = await empty_cart(cart.id, expected_version=cart.version - 1, session=None)
    unchanged = await Cart.get(cart.id)
    emptied = await empty_cart(cart.id, expected_version=cart.version, session=None)
    after = await Cart.get(cart.id)

    assert stale is False
    assert unchanged is not None
    assert (unchanged.lines, unchanged.version) == (cart.lines, cart.version)
    assert emptied is True
    assert after is not None
    assert (after.lines, after.version) == ([], cart.version + 1)


async def test_empty_cart_without_a_version_clears_any_cart_and_not_a_missing_one() -> None:
    shoes = await make_product(await make_category())
    cart = await make_user_cart(await make_user(), [(shoes, 2)])
    assert cart.id is not None

    assert await empty_cart(cart.id, expected_version=None, session=None) is True
    assert await empty_cart(ObjectId(), expected_version=None, session=None) is False
    after = await Cart.get(cart.id)
    assert after is not None
    assert after.lines == []


async def test_empty_cart_commits_or_aborts_with_the_callers_transaction() -> None:
    shoes = await make_product(await make_category())
    cart = await make_user_cart(await make_user(), [(shoes, 2)])
    assert cart.id is not None

    async def then_fail(session: AsyncClientSession) -> None:
        assert await empty_cart(cart.id, expected_version=cart.version, session=session)
        raise RuntimeError("the order could not be written")

    with pytest.raises(RuntimeError):
        await in_transaction(then_fail)

    kept = await Cart.get(cart.id)
    assert kept is not None
    assert (kept.lines, kept.version) == (cart.lines, cart.version)
