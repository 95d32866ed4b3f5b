"""Loaders for categories, products and stock movements.

`batch_load_fn` returns a list aligned with the keys.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReadPreference
from pymongo.read_concern import ReadConcern

from documents.catalog import Category, Product, StockMovement
from documents.trusted_reads import from_stored, reader
from loaders.cancellation import CancellationSafeLoader
from loaders.category_cache import CategoryCache
from loaders.documents import DocumentByFieldLoader
from loaders.observer import ReadObserver


class CategoryByIdLoader(DocumentByFieldLoader):
    """Categories by id: those the process keeps (`CategoryCache`) without asking MongoDB, the
    others read and then kept."""

    trusted = True
    document = Category
    key_field = "id"

    def __init__(
        self, observe: ReadObserver, kept: Callable[[], CategoryCache | None] = lambda: None
    ) -> None:
        super().__init__(observe)
        # Asked at each batch: whether this request may use kept categories can change (at
        # once when the stream closes, or when the query cache decides to store its answer).
        self._kept_categories = kept

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        cache = self._kept_categories()
        if cache is None:
            return await super().batch_load_fn(keys)
        collection = Category.get_collection_name()
        stored: dict[Any, dict[str, Any]] = {}
        missing = []
        for key in keys:
            self._observe(collection, "id", key)
            found = cache.kept(key)
            if found is None:
                missing.append(key)
            else:
                stored[key] = found
        if missing:
            generation = cache.generation
            # What the change stream reports: majority-committed writes, from the primary. A
            # secondary behind the stream could give back what an event has just made this
            # process forget, and a write not yet on a majority could be rolled back with no
            # event to forget it.
            read = (
                await Category.get_pymongo_collection()
                .with_options(
                    read_preference=ReadPreference.PRIMARY, read_concern=ReadConcern("majority")
                )
                .find({"_id": {"$in": missing}})
                .to_list()
            )
            cache.keep(generation, read)
            stored.update((category["_id"], category) for category in read)
        build = reader(Category)
        return [build(stored[key]) if key in stored else None for key in keys]


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
