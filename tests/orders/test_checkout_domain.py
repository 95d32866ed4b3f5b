"""Placing an order (the domain function): all or nothing, idempotent, exact under concurrency;
and the order state machine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import bson
import pytest
from beanie.odm.utils.dump import get_dict
from bson.codec_options import CodecOptions

from documents import checkout as checkout_module
from documents.accounts import User
from documents.carts import Cart, CartLine
from documents.catalog import Product, StockMovement
from documents.checkout import Checkout, place_order
from documents.orders import (
    Order,
    OrderAddress,
    OrderError,
    OrderErrorCode,
    OrderStatus,
    PaymentMethod,
    change_order_status,
)
from documents.pricing import ShippingRule
from documents.stock import stock_movements_of
from tests.factories import SAMPLE_ADDRESS, make_category, make_product, make_user

pytestmark = pytest.mark.usefixtures("app")

ADDRESS = OrderAddress.model_validate(SAMPLE_ADDRESS)
SHIPPING = ShippingRule(fee=4_900, free_from=49_900)


def checkout(user: User, key: str = "key-1", expected_total: int | None = None) -> Checkout:
    return Checkout(
        user=user,
        address=ADDRESS,
        payment_method=PaymentMethod.COD,
        idempotency_key=key,
        expected_total=expected_total,
        currency="INR",
        shipping=SHIPPING,
    )


async def cart_with(user: User, *lines: tuple[Product, int]) -> Cart:
    cart = Cart(
        user_id=user.id,
        lines=[CartLine(product_id=product.id, quantity=quantity) for product, quantity in lines],
    )
    return await cart.insert()


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


async def test_an_order_snapshots_the_cart_takes_the_stock_and_empties_the_cart() -> None:
    user = await make_user(email_verified=True)
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, name="Runner", price=20_000, discount_percent=10, stock=5)
    sock = await make_product(shoes, name="Sock", price=5_000, stock=9)
    await cart_with(user, (runner, 2), (sock, 1))

    placed = await place_order(checkout(user, expected_total=45_900))

    order = placed.order
    assert placed.created
    assert (order.number, order.status, order.payment_method) == (
        1001,
        OrderStatus.CONFIRMED,
        PaymentMethod.COD,
    )
    assert [
        (line.name, line.unit_price, line.quantity, line.line_total) for line in order.lines
    ] == [
        ("Runner", 18_000, 2, 36_000),
        ("Sock", 5_000, 1, 5_000),
    ]
    # 450.00 list, 40.00 discount; 410.00 of goods is under 499.00, so shipping is 49.00.
    assert (order.subtotal, order.discount, order.shipping, order.total) == (
        45_000,
        4_000,
        4_900,
        45_900,
    )
    assert order.shipping_address == ADDRESS
    assert [(e.from_status, e.to_status) for e in order.history] == [(None, OrderStatus.CONFIRMED)]
    assert (await stock_of(runner), await stock_of(sock)) == (3, 8)
    assert [m.delta for m in await stock_movements_of(order.stock_reference)] == [-2, -1]
    cart = await Cart.find_one(Cart.user_id == user.id)
    assert cart is not None
    assert (cart.lines, cart.version) == ([], 1)


async def test_a_short_line_changes_nothing_and_names_each_short_line() -> None:
    user = await make_user()
    shoes = await make_category("Shoes")
    runner, sock = await make_product(shoes, stock=1), await make_product(shoes, stock=9)
    cart = await cart_with(user, (runner, 2), (sock, 1))

    with pytest.raises(OrderError) as refused:
        await place_order(checkout(user))

    assert refused.value.code is OrderErrorCode.INSUFFICIENT_STOCK
    assert refused.value.extensions["lines"] == [
        {"productId": str(runner.id), "requested": 2, "available": 1}
    ]
    assert (await stock_of(runner), await stock_of(sock)) == (1, 9)
    assert await Order.find_all().count() == 0
    assert await Cart.get(cart.id) == cart


async def test_a_changed_price_refuses_with_the_new_total() -> None:
    user = await make_user()
    runner = await make_product(await make_category("Shoes"), price=60_000, stock=5)
    await cart_with(user, (runner, 1))

    with pytest.raises(OrderError) as refused:
        await place_order(checkout(user, expected_total=50_000))

    assert (refused.value.code, refused.value.field) == (
        OrderErrorCode.PRICE_CHANGED,
        "expectedTotal",
    )
    assert refused.value.extensions["total"] == "600.00"
    assert await stock_of(runner) == 5
    assert await Order.find_all().count() == 0


@pytest.mark.parametrize(
    "fields", [{"published": False}, {"archived_at": None, "published": False}]
)
async def test_an_unavailable_product_refuses_the_order(fields: dict[str, object]) -> None:
    user = await make_user()
    gone = await make_product(await make_category("Shoes"), stock=5, **fields)
    await cart_with(user, (gone, 1))

    with pytest.raises(OrderError) as refused:
        await place_order(checkout(user))

    assert refused.value.code is OrderErrorCode.PRODUCT_UNAVAILABLE
    assert refused.value.extensions["productIds"] == [str(gone.id)]
    assert await stock_of(gone) == 5


async def test_an_empty_cart_places_nothing() -> None:
    user = await make_user()

    with pytest.raises(OrderError) as refused:
        await place_order(checkout(user))

    assert refused.value.code is OrderErrorCode.CART_EMPTY


@pytest.fixture
def checkouts_as_if_in_separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkouts of one process take turns per product; without that, as between worker
    processes, MongoDB's write conflicts and unique indexes alone must keep every guarantee."""

    @contextlib.asynccontextmanager
    async def no_turns(product_ids: object) -> AsyncIterator[None]:
        yield

    monkeypatch.setattr(checkout_module, "_turns_for", no_turns)


@pytest.mark.usefixtures("checkouts_as_if_in_separate_processes")
async def test_a_repeated_key_returns_the_first_order_even_when_racing() -> None:
    user = await make_user()
    runner = await make_product(await make_category("Shoes"), stock=5)
    await cart_with(user, (runner, 1))

    results = await asyncio.gather(*(place_order(checkout(user, key="same")) for _ in range(5)))
    again = await place_order(checkout(user, key="same"))

    assert len({placed.order.id for placed in [*results, again]}) == 1
    assert sum(placed.created for placed in results) == 1
    assert not again.created
    assert await stock_of(runner) == 4
    assert await Order.find_all().count() == 1


async def test_bad_idempotency_keys_are_refused() -> None:
    user = await make_user()

    for key in ("", "x" * 101, "bad\x00key"):
        with pytest.raises(OrderError) as refused:
            await place_order(checkout(user, key=key))
        assert (refused.value.code, refused.value.field) == (
            OrderErrorCode.INVALID_IDEMPOTENCY_KEY,
            "idempotencyKey",
        )


@pytest.mark.parametrize("separate_processes", [False, True])
async def test_concurrent_buyers_never_oversell(
    separate_processes: bool, request: pytest.FixtureRequest
) -> None:
    if separate_processes:
        request.getfixturevalue("checkouts_as_if_in_separate_processes")
    runner = await make_product(await make_category("Shoes"), stock=10)
    buyers = [await make_user() for _ in range(30)]
    for buyer in buyers:
        await cart_with(buyer, (runner, 1))

    results = await asyncio.gather(
        *(place_order(checkout(buyer)) for buyer in buyers), return_exceptions=True
    )

    placed = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(placed) == 10
    assert all(
        isinstance(r, OrderError) and r.code is OrderErrorCode.INSUFFICIENT_STOCK for r in refused
    )
    assert await stock_of(runner) == 0
    assert sorted(p.order.number for p in placed) == sorted({p.order.number for p in placed})


async def test_a_cart_changed_after_the_checkout_read_it_is_read_again_and_ordered_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_user()
    shoes = await make_category("Shoes")
    runner = await make_product(shoes, name="Runner", stock=5)
    sock = await make_product(shoes, name="Sock", stock=5)
    await cart_with(user, (runner, 1))
    turns_taken = 0

    @contextlib.asynccontextmanager
    async def turns_after_another_tab_adds_a_line(product_ids: object) -> AsyncIterator[None]:
        # Between the checkout's read of the cart and its transaction, once.
        nonlocal turns_taken
        turns_taken += 1
        if turns_taken == 1:
            await Cart.get_pymongo_collection().update_one(
                {"user_id": user.id},
                {
                    "$push": {"lines": CartLine(product_id=sock.id, quantity=2).model_dump()},
                    "$inc": {"version": 1},
                },
            )
        yield

    monkeypatch.setattr(checkout_module, "_turns_for", turns_after_another_tab_adds_a_line)

    placed = await place_order(checkout(user))

    assert turns_taken == 2
    assert [(line.name, line.quantity) for line in placed.order.lines] == [
        ("Runner", 1),
        ("Sock", 2),
    ]
    assert (await stock_of(runner), await stock_of(sock)) == (4, 3)
    cart = await Cart.find_one(Cart.user_id == user.id)
    assert cart is not None
    assert (cart.lines, cart.version) == ([], 2)


async def test_an_order_is_stored_as_beanie_stores_it() -> None:
    user = await make_user()
    await cart_with(user, (await make_product(await make_category("Shoes"), stock=5), 1))

    order = (await place_order(checkout(user))).order

    stored = await Order.get_pymongo_collection().find_one({"_id": order.id})
    beanies = bson.decode(bson.encode(get_dict(order, to_db=True)), CodecOptions(tz_aware=True))
    assert stored == beanies
    assert Order.model_validate(stored) == order


async def test_the_state_machine_moves_forward_and_records_each_move() -> None:
    user = await make_user()
    runner = await make_product(await make_category("Shoes"), stock=5)
    await cart_with(user, (runner, 1))
    order = (await place_order(checkout(user))).order
    admin = await make_user()

    for status in (OrderStatus.PACKED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        _, order = await change_order_status(order.id, status, actor_id=admin.id, note="ok")

    assert [(e.from_status, e.to_status) for e in order.history][1:] == [
        (OrderStatus.CONFIRMED, OrderStatus.PACKED),
        (OrderStatus.PACKED, OrderStatus.SHIPPED),
        (OrderStatus.SHIPPED, OrderStatus.DELIVERED),
    ]
    assert order.history[-1].actor_id == admin.id
    with pytest.raises(OrderError) as refused:
        await change_order_status(order.id, OrderStatus.CANCELLED, actor_id=admin.id)
    assert refused.value.code is OrderErrorCode.INVALID_ORDER_TRANSITION
    assert refused.value.extensions == {"currentStatus": "DELIVERED"}
    assert await stock_of(runner) == 4


async def test_concurrent_cancels_return_the_stock_once() -> None:
    user = await make_user()
    runner = await make_product(await make_category("Shoes"), stock=5)
    await cart_with(user, (runner, 3))
    order = (await place_order(checkout(user))).order

    results = await asyncio.gather(
        *(change_order_status(order.id, OrderStatus.CANCELLED, actor_id=user.id) for _ in range(6)),
        return_exceptions=True,
    )

    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(
        r.code is OrderErrorCode.INVALID_ORDER_TRANSITION
        for r in results
        if isinstance(r, OrderError)
    )
    assert await stock_of(runner) == 5
    assert [m.delta for m in await StockMovement.find_all().to_list()] == [-3, 3]


async def test_a_refused_checkout_takes_no_order_number() -> None:
    user = await make_user()
    runner = await make_product(await make_category("Shoes"), price=60_000, stock=5)
    await cart_with(user, (runner, 1))

    with pytest.raises(OrderError):
        await place_order(checkout(user, expected_total=1))
    placed = await place_order(checkout(user, key="key-2"))

    assert placed.order.number == 1001
