"""Stock changes under concurrency: exact totals, never negative, every change recorded."""

from __future__ import annotations

import asyncio

import pytest

from documents.catalog import Product, StockMovement
from documents.stock import StockError, StockErrorCode, adjust_stock
from tests.factories import make_category, make_product


@pytest.mark.usefixtures("app")
async def test_200_concurrent_adjustments_end_at_the_exact_stock_and_never_below_zero() -> None:
    product = await make_product(await make_category("Shoes"), stock=50)
    assert product.id is not None
    # 100 removals of 1 and 100 additions of 1, interleaved; removals may only fail while empty.
    deltas = [-1, 1] * 100

    results = await asyncio.gather(
        *(adjust_stock(product.id, d, reason="test", actor_id=None) for d in deltas),
        return_exceptions=True,
    )

    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(
        isinstance(f, StockError) and f.code is StockErrorCode.INSUFFICIENT_STOCK for f in failures
    )
    applied = [r for r in results if isinstance(r, StockMovement)]
    stored = await Product.get(product.id)
    assert stored is not None
    assert stored.stock == 50 + sum(m.delta for m in applied)
    assert stored.stock >= 0
    movements = await StockMovement.find(StockMovement.product_id == product.id).to_list()
    assert len(movements) == len(applied)
    assert all(m.after == m.before + m.delta and m.after >= 0 for m in movements)


@pytest.mark.usefixtures("app")
async def test_concurrent_removals_never_oversell() -> None:
    product = await make_product(await make_category("Shoes"), stock=30)
    assert product.id is not None

    results = await asyncio.gather(
        *(adjust_stock(product.id, -1, reason="sold", actor_id=None) for _ in range(200)),
        return_exceptions=True,
    )

    assert sum(isinstance(r, StockMovement) for r in results) == 30
    stored = await Product.get(product.id)
    assert stored is not None
    assert stored.stock == 0
