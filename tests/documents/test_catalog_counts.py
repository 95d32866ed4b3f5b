"""The kept list counts stay exact through every product write, under concurrency, and after a
bulk load; `recount_catalog` finds and corrects what drifted."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from bson import ObjectId

from documents.cache_invalidations import PendingInvalidation
from documents.catalog import Product
from documents.catalog_counts import (
    CatalogCount,
    Recount,
    brand_key,
    build_catalog_counts,
    in_stock_key,
    rating_key,
    recount_catalog,
    scope_key,
)
from documents.categories import delete_category
from documents.common import stored_id
from documents.demo_catalog import load_demo_catalog
from documents.products import ProductFields, change_product, create_product, delete_product
from documents.reviews import hide_review
from documents.stock import (
    StockCount,
    StockError,
    StockLine,
    adjust_stock,
    give_back_stock,
    set_counted_stock,
    set_stock,
    take_stock,
)
from documents.transactions import in_transaction
from tests.factories import make_category, make_product, make_review, make_user
from tests.support import assert_counts_exact

pytestmark = pytest.mark.usefixtures("app")


async def recounted() -> Recount:
    return await recount_catalog(correct=False)


async def kept(key: str) -> int:
    found = await CatalogCount.get(key)
    return 0 if found is None else found.total


async def test_every_kind_of_product_write_keeps_the_counts_exact() -> None:
    shoes = await make_category("Shoes")
    running = await make_category("Running", parent=shoes)
    bags = await make_category("Bags")
    fields = ProductFields(
        name="Trail runner",
        price=Decimal("100"),
        brand="Acme",
        category_id=shoes.id,
        subcategory_id=running.id,
        published=True,
        stock=1,
    )
    created = await in_transaction(
        lambda session: create_product(fields, currency="INR", session=session)
    )
    product_id = stored_id(created)
    assert await kept(scope_key()) == 1
    assert await kept(in_stock_key(scope_key(running.id))) == 1
    assert await kept(brand_key(scope_key(shoes.id), "Acme")) == 1
    await assert_counts_exact()

    # Stock reaching and leaving zero, each way stock changes.
    await adjust_stock(product_id, -1, reason="sold elsewhere", actor_id=None)
    assert await kept(in_stock_key(scope_key())) == 0
    await assert_counts_exact()
    await set_stock(product_id, 4, reason="counted", actor_id=None)
    assert await kept(in_stock_key(scope_key())) == 1
    await take_stock([StockLine(product_id, 4)], reference="order-1", reason="order")
    assert await kept(in_stock_key(scope_key())) == 0
    await assert_counts_exact()
    await give_back_stock(reference="order-1", reason="cancelled")
    assert await kept(in_stock_key(scope_key())) == 1
    await in_transaction(
        lambda session: set_counted_stock(
            [StockCount(product_id, 4, 0)], reason="import", actor_id=None, session=session
        )
    )
    assert await kept(in_stock_key(scope_key())) == 0
    await assert_counts_exact()

    # Ratings: a review moves the average across half stars, hiding it moves it back.
    review = await make_review(created, rating=5)
    assert await kept(rating_key(scope_key(running.id), 10)) == 1
    await assert_counts_exact()
    moderator = await make_user()
    await hide_review(stored_id(review), moderator_id=stored_id(moderator), reason="spam")
    assert await kept(rating_key(scope_key(running.id), 1)) == 0
    await assert_counts_exact()

    # Brand, category, unpublish, archive, restore, publish.
    for change in (
        ProductFields(brand="Zenith"),
        ProductFields(category_id=bags.id),
        ProductFields(published=False),
        ProductFields(published=True),
        ProductFields(archived=True),
        ProductFields(archived=False),
        ProductFields(published=True),
    ):
        await change_product(product_id, change, currency="INR")
        await assert_counts_exact()
    assert await kept(brand_key(scope_key(bags.id), "Zenith")) == 1
    assert await kept(scope_key(shoes.id)) == 0

    # Moving a category's products away when it is deleted, then deleting the product.
    await delete_category(bags.id, move_products_to=running.id)
    assert await kept(scope_key(running.id)) == 1
    await assert_counts_exact()
    # Reviewed (so ordered) products are archived; another one is deleted.
    other = stored_id(await make_product(shoes))
    assert await kept(scope_key()) == 2
    await delete_product(other)
    assert await kept(scope_key()) == 1
    await assert_counts_exact()


async def test_concurrent_stock_changes_across_zero_keep_the_in_stock_counts_exact() -> None:
    category = await make_category("Shoes")
    products = [stored_id(await make_product(category, stock=1)) for _ in range(4)]
    # Each product is emptied and refilled by many writers at once; takes empty two at a time.
    changes = [
        adjust_stock(product_id, delta, reason="test", actor_id=None)
        for product_id in products
        for delta in [-1, 1] * 10
    ]
    takes = [
        take_stock(
            [StockLine(products[n % 4], 1), StockLine(products[(n + 1) % 4], 1)],
            reference=f"order-{n}",
            reason="order",
        )
        for n in range(12)
    ]

    results = await asyncio.gather(*changes, *takes, return_exceptions=True)

    failures = [result for result in results if isinstance(result, BaseException)]
    assert all(isinstance(failure, StockError) for failure in failures), failures

    in_stock = await Product.get_pymongo_collection().count_documents({"stock": {"$gt": 0}})
    assert await kept(in_stock_key(scope_key())) == in_stock
    assert await kept(in_stock_key(scope_key(category.id))) == in_stock
    await assert_counts_exact()


async def test_concurrent_publish_and_unpublish_keep_the_counts_exact() -> None:
    category = await make_category("Shoes")
    products = [stored_id(await make_product(category)) for _ in range(3)]
    changes = [
        change_product(product_id, ProductFields(published=published), currency="INR")
        for product_id in products
        for published in [False, True, False] * 6
    ]

    await asyncio.gather(*changes)

    visible = await Product.get_pymongo_collection().count_documents({"published": True})
    assert await kept(scope_key()) == visible
    assert await kept(brand_key(scope_key(category.id), "Acme")) == visible
    await assert_counts_exact()


async def test_the_bulk_loader_leaves_exact_counts() -> None:
    await load_demo_catalog(1200, public_url="http://test", seed=5, batch_size=250)

    visible = await Product.get_pymongo_collection().count_documents({"published": True})
    assert await kept(scope_key()) == visible
    await assert_counts_exact()


async def test_the_upgrade_counts_the_products_stored_before_counts_were_kept() -> None:
    category = await make_category("Shoes")
    await make_product(category)
    await make_product(category, published=False)
    await CatalogCount.get_pymongo_collection().delete_many({})

    await build_catalog_counts()

    assert await kept(scope_key()) == 1
    await assert_counts_exact()


async def test_recount_corrects_counts_that_drifted_and_retires_cached_lists() -> None:
    category = await make_category("Shoes")
    await make_product(category, brand="Acme")
    collection = CatalogCount.get_pymongo_collection()
    await collection.update_one({"_id": scope_key()}, {"$set": {"total": 7}})
    stale = scope_key(ObjectId())
    await collection.insert_one({"_id": stale, "total": 2})

    checked = await recounted()

    assert checked.corrected == {scope_key(): (7, 1), stale: (2, 0)}
    assert await kept(scope_key()) == 7  # only compared
    assert await PendingInvalidation.find_all().count() == 0

    corrected = await recount_catalog(invalidate=["catalog"])

    assert corrected.corrected == checked.corrected
    assert await kept(scope_key()) == 1
    assert await CatalogCount.get(stale) is None
    records = await PendingInvalidation.find_all().to_list()
    assert [record.tags for record in records] == [["catalog"]]
    await assert_counts_exact()


async def test_a_recount_while_stock_changes_across_zero_ends_exact() -> None:
    category = await make_category("Shoes")
    products = [stored_id(await make_product(category, stock=1)) for _ in range(3)]
    await CatalogCount.get_pymongo_collection().update_one(
        {"_id": in_stock_key(scope_key())}, {"$inc": {"total": 5}}
    )
    changes = [
        adjust_stock(product_id, delta, reason="test", actor_id=None)
        for product_id in products
        for delta in [-1, 1] * 5
    ]

    results = await asyncio.gather(recount_catalog(), *changes, return_exceptions=True)

    assert isinstance(results[0], Recount)
    assert in_stock_key(scope_key()) in results[0].corrected
    assert all(
        not isinstance(result, BaseException) or isinstance(result, StockError)
        for result in results
    )
    await assert_counts_exact()
