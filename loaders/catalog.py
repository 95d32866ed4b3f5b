"""Loaders for categories, products and stock movements.

`batch_load_fn` returns a list aligned with the keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from beanie import PydanticObjectId, SortDirection
from beanie.operators import In

from documents.catalog import Category, Product, StockMovement
from loaders.cancellation import CancellationSafeLoader
from loaders.documents import DocumentByFieldLoader
from loaders.observer import ReadObserver


class CategoryByIdLoader(DocumentByFieldLoader):
    document = Category
    key_field = "id"


class CategoryBySlugLoader(DocumentByFieldLoader):
    document = Category
    key_field = "slug"


class ProductByIdLoader(DocumentByFieldLoader):
    document = Product
    key_field = "id"


class ProductBySlugLoader(DocumentByFieldLoader):
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
        query = Category.find(In(Category.parent_id, list(keys))).sort(
            [("name", SortDirection.ASCENDING), ("_id", SortDirection.ASCENDING)]
        )
        async for category in query:
            assert category.parent_id is not None
            children[category.parent_id].append(category)
        return [children[key] for key in keys]
