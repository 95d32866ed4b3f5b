"""Loaders for categories, products and stock movements.

`batch_load_fn` returns a list aligned with the keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from beanie import PydanticObjectId

from documents.catalog import Category, Product, StockMovement
from documents.trusted_reads import from_stored
from loaders.cancellation import CancellationSafeLoader
from loaders.documents import DocumentByFieldLoader
from loaders.observer import ReadObserver


class CategoryByIdLoader(DocumentByFieldLoader):
    trusted = True
    document = Category
    key_field = "id"


class CategoryBySlugLoader(DocumentByFieldLoader):
    trusted = True
    document = Category
    key_field = "slug"


class ProductByIdLoader(DocumentByFieldLoader):
    trusted = True
    document = Product
    key_field = "id"


class ProductBySlugLoader(DocumentByFieldLoader):
    trusted = True
    document = Product
    key_field = "slug"


class StockMovementByIdLoader(DocumentByFieldLoader):
    document = StockMovement
    key_field = "id"


class SubcategoriesByParentIdLoader(CancellationSafeLoader):
    """The subcategories of each parent category, ordered by name."""

    def __init__(self, observe: ReadObserver) -> None:
        super().__init__()
        self._observe = observe

    async def batch_load_fn(self, keys: Sequence[PydanticObjectId]) -> list[list[Category]]:
        for key in keys:
            self._observe(Category.get_collection_name(), "parent_id", key)
        children: dict[PydanticObjectId, list[Category]] = defaultdict(list)
        stored = Category.get_pymongo_collection().find(
            {"parent_id": {"$in": list(keys)}}, sort=[("name", 1), ("_id", 1)]
        )
        async for raw in stored:
            category = from_stored(Category, raw)
            assert category.parent_id is not None
            children[category.parent_id].append(category)
        return [children[key] for key in keys]
