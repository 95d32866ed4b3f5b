"""Trusted reads build exactly the documents validation builds from the same stored data."""

from __future__ import annotations

from typing import Any

import pytest

from documents.catalog import Category, Product
from documents.demo_catalog import load_demo_catalog
from documents.trusted_reads import from_stored
from settings import Settings

# Trusted and validated reads of documents in MongoDB (the app's lifespan binds the documents).
pytestmark = pytest.mark.usefixtures("app")


def _same(trusted: Any, validated: Any) -> None:
    assert type(trusted) is type(validated)
    assert trusted == validated
    assert trusted.model_dump() == validated.model_dump()
    assert trusted.model_fields_set == validated.model_fields_set


async def test_catalog_documents_read_without_validation_equal_validated_ones(
    settings: Settings,
) -> None:
    await load_demo_catalog(40, public_url=settings.public_url, seed=3)
    products = await Product.get_pymongo_collection().find({}).to_list()
    categories = await Category.get_pymongo_collection().find({}).to_list()
    assert products
    assert categories

    for stored in products:
        _same(from_stored(Product, stored), Product.model_validate(stored))
    for stored in categories:
        _same(from_stored(Category, stored), Category.model_validate(stored))
    image = from_stored(Product, products[0]).images[0]
    assert image == Product.model_validate(products[0]).images[0]


async def test_fields_an_older_document_lacks_get_their_defaults_and_extra_keys_are_ignored(
    settings: Settings,
) -> None:
    await load_demo_catalog(1, public_url=settings.public_url, seed=3)
    stored = await Product.get_pymongo_collection().find_one({})
    assert stored is not None
    older = {
        key: value
        for key, value in stored.items()
        if key not in ("rating_histogram", "images", "brand")
    }
    older["_score"] = 1.5  # a computed sort key

    trusted = from_stored(Product, older)

    _same(trusted, Product.model_validate(older))
    assert trusted.rating_histogram == [0] * 5
    assert trusted.images == []
    assert not hasattr(trusted, "_score")


async def test_a_category_without_an_image_or_parent_reads_as_none(settings: Settings) -> None:
    category = Category(name="Shoes", slug="shoes")
    await category.insert()
    stored = await Category.get_pymongo_collection().find_one({"_id": category.id})
    assert stored is not None

    trusted = from_stored(Category, stored)

    _same(trusted, Category.model_validate(stored))
    assert trusted.image is None
    assert trusted.parent_id is None
