"""Stock for many lines: taken all or nothing, given back exactly once, in the caller's
transaction when there is one, and never oversold under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Product, StockMovement, StockMovementKind
from documents.stock import (
    InsufficientStockError,
    ShortLine,
    StockError,
    StockErrorCode,
    StockLine,
    give_back_stock,
    stock_movements_of,
    take_stock,
)
from documents.transactions import in_transaction
from tests.factories import make_category, make_product
from tests.support import MongoCommandCounter

pytestmark = pytest.mark.usefixtures("app")


async def stocks(*products: Product) -> list[int]:
    found = {
        p.id: p.stock
        for p in await Product.find({"_id": {"$in": [p.id for p in products]}}).to_list()
    }
    return [found[p.id] for p in products]


async def three_products(*stock: int) -> list[Product]:
    shoes = await make_category("Shoes")
    return [await make_product(shoes, stock=units) for units in stock]


def line(product: Product, quantity: int) -> StockLine:
    assert product.id is not None
    return StockLine(product.id, quantity)


async def test_taking_lines_lowers_each_stock_and_records_the_order_as_reference() -> None:
    a, b, c = await three_products(5, 3, 10)

    taken = await take_stock(
        [line(a, 2), line(b, 3), line(c, 1), line(a, 1)], reference="order-1", reason="order"
    )

    assert await stocks(a, b, c) == [2, 0, 9]
    history = await stock_movements_of("order-1")
    assert [(m.product_id, m.delta, m.before, m.after, m.kind) for m in history] == [
        (a.id, -3, 5, 2, StockMovementKind.TAKEN),  # the same product twice counts once
        (b.id, -3, 3, 0, StockMovementKind.TAKEN),
        (c.id, -1, 10, 9, StockMovementKind.TAKEN),
    ]
    assert [m.id for m in taken] == [m.id for m in history]


async def test_a_short_line_takes_nothing_and_names_every_short_line_with_what_is_left() -> None:
    a, b, c = await three_products(5, 1, 0)
    missing = ObjectId()

    with pytest.raises(InsufficientStockError) as refused:
        await take_stock(
            [line(a, 2), line(b, 2), line(c, 1), StockLine(missing, 1)],
            reference="order-1",
            reason="order",
        )

    assert refused.value.code is StockErrorCode.INSUFFICIENT_STOCK
    assert refused.value.short == [
        ShortLine(b.id, 2, 1),
        ShortLine(c.id, 1, 0),
        ShortLine(missing, 1, 0),
    ]
    assert await stocks(a, b, c) == [5, 1, 0]
    assert await StockMovement.find_all().count() == 0


async def test_one_reference_takes_once() -> None:
    (a,) = await three_products(5)
    await take_stock([line(a, 1)], reference="order-1", reason="order")

    with pytest.raises(StockError) as refused:
        await take_stock([line(a, 1)], reference="order-1", reason="order")

    assert refused.value.code is StockErrorCode.ALREADY_TAKEN
    assert await stocks(a) == [4]


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([], StockErrorCode.INVALID_STOCK),
        ([0], StockErrorCode.INVALID_STOCK),
        ([-1], StockErrorCode.INVALID_STOCK),
    ],
)
async def test_bad_lines_are_refused(lines: list[int], code: StockErrorCode) -> None:
    (a,) = await three_products(5)

    with pytest.raises(StockError) as refused:
        await take_stock([line(a, q) for q in lines], reference="order-1", reason="order")

    assert (refused.value.code, refused.value.field) == (code, "lines")
    assert await stocks(a) == [5]


async def test_giving_back_returns_what_the_reference_took_exactly_once() -> None:
    a, b = await three_products(5, 3)
    await take_stock([line(a, 2), line(b, 3)], reference="order-1", reason="order")

    given = await give_back_stock(reference="order-1", reason="cancelled")
    again = await give_back_stock(reference="order-1", reason="cancelled")

    assert await stocks(a, b) == [5, 3]
    assert [(m.product_id, m.delta, m.kind) for m in given] == [
        (a.id, 2, StockMovementKind.GIVEN_BACK),
        (b.id, 3, StockMovementKind.GIVEN_BACK),
    ]
    assert again == []
    assert len(await stock_movements_of("order-1")) == 4
    assert await give_back_stock(reference="never-took", reason="expired") == []


async def test_concurrent_give_backs_return_the_stock_once() -> None:
    (a,) = await three_products(5)
    await take_stock([line(a, 4)], reference="order-1", reason="order")

    results = await asyncio.gather(
        *(give_back_stock(reference="order-1", reason="expired") for _ in range(8))
    )

    assert sorted(len(r) for r in results) == [0] * 7 + [1]
    assert await stocks(a) == [5]


async def test_taking_in_the_callers_transaction_is_undone_when_it_aborts() -> None:
    a, b = await three_products(5, 3)

    async def place_order(session: AsyncClientSession) -> None:
        await take_stock(
            [line(a, 1), line(b, 1)], reference="order-1", reason="order", session=session
        )
        raise RuntimeError("the order could not be written")

    with pytest.raises(RuntimeError):
        await in_transaction(place_order)

    assert await stocks(a, b) == [5, 3]
    assert await stock_movements_of("order-1") == []


async def test_concurrent_orders_never_oversell() -> None:
    # 30 orders of one A and one B race for 7 A and 4 B: exactly 4 can be served.
    a, b = await three_products(7, 4)

    results = await asyncio.gather(
        *(
            take_stock([line(a, 1), line(b, 1)], reference=f"order-{n}", reason="order")
            for n in range(30)
        ),
        return_exceptions=True,
    )

    served = [r for r in results if isinstance(r, list)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(served) == 4
    assert all(isinstance(r, InsufficientStockError) for r in refused)
    assert await stocks(a, b) == [3, 0]
    movements = await StockMovement.find(StockMovement.kind == StockMovementKind.TAKEN).to_list()
    assert len(movements) == 8
    assert all(m.after == m.before + m.delta and m.after >= 0 for m in movements)


async def test_taking_many_lines_costs_the_same_round_trips_as_one(
    mongo_commands: MongoCommandCounter,
) -> None:
    shoes = await make_category("Shoes")
    products = [await make_product(shoes, stock=5) for _ in range(20)]

    mongo_commands.reset()
    await take_stock([line(products[0], 1)], reference="order-1", reason="order")
    one_line = mongo_commands.commands
    mongo_commands.reset()
    await take_stock([line(p, 1) for p in products], reference="order-2", reason="order")
    twenty_lines = mongo_commands.commands

    assert twenty_lines == one_line
    assert one_line == ["insert", "find", "update", "insert", "commitTransaction"]


async def test_one_reference_taking_other_lines_at_the_same_time_takes_once() -> None:
    a, b = await three_products(5, 5)
    both_started = asyncio.Barrier(2)
    first_attempts: set[Any] = set()

    async def checkout(product: Product) -> list[StockMovement]:
        async def work(session: AsyncClientSession) -> list[StockMovement]:
            # Both transactions have their snapshot before either writes (on the first attempt;
            # the loser's retry runs alone).
            await Product.get_pymongo_collection().find_one({}, session=session)
            if product.id not in first_attempts:
                first_attempts.add(product.id)
                await both_started.wait()
            return await take_stock(
                [line(product, 1)], reference="order-1", reason="order", session=session
            )

        return await in_transaction(work)

    results = await asyncio.gather(checkout(a), checkout(b), return_exceptions=True)

    refused = [r for r in results if isinstance(r, StockError)]
    assert len(refused) == 1
    assert refused[0].code is StockErrorCode.ALREADY_TAKEN
    assert sorted(await stocks(a, b)) == [4, 5]
    assert len(await stock_movements_of("order-1")) == 1


async def test_a_reference_given_back_before_it_took_never_takes() -> None:
    (a,) = await three_products(5)

    assert await give_back_stock(reference="order-1", reason="expired") == []
    with pytest.raises(StockError) as refused:
        await take_stock([line(a, 1)], reference="order-1", reason="order")

    assert refused.value.code is StockErrorCode.ALREADY_TAKEN
    assert await stocks(a) == [5]


async def test_a_give_back_racing_an_uncommitted_take_leaves_no_stock_taken() -> None:
    (a,) = await three_products(5)
    taken, sweep_tried = asyncio.Event(), asyncio.Event()

    async def checkout(session: AsyncClientSession) -> list[StockMovement]:
        movements = await take_stock(
            [line(a, 2)], reference="order-1", reason="order", session=session
        )
        taken.set()
        await sweep_tried.wait()  # commits only after the sweep's first attempt ran its course
        return movements

    async def sweep(session: AsyncClientSession) -> list[StockMovement]:
        try:
            return await give_back_stock(reference="order-1", reason="expired", session=session)
        finally:
            sweep_tried.set()

    async def expiry_sweep() -> list[StockMovement]:
        await taken.wait()
        return await in_transaction(sweep)

    taken_back = await asyncio.gather(in_transaction(checkout), expiry_sweep())

    # The sweep's first attempt conflicted with the open checkout, ran again after it committed,
    # and gave back what it took: nothing stays taken by an expired order.
    assert [m.delta for m in taken_back[1]] == [2]
    assert await stocks(a) == [5]
