"""Loaders for categories and products. `batch_load_fn` returns a list aligned with the keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader
from beanie import Document, PydanticObjectId, SortDirection
from beanie.operators import In

from documents.catalog import Category, Product
from loaders.observer import ReadObserver

KeyT = TypeVar("KeyT")
DocT = TypeVar("DocT", bound=Document)


class _DocumentByFieldLoader(DataLoader):
    """Loads one document per distinct value of a unique field."""

    document: type[Document]
    key_field: str

    def __init__(self, observe: ReadObserver) -> None:
        super().__init__()
        self._observe = observe

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        for key in keys:
            self._observe(self.document.get_collection_name(), self.key_field, key)
        mongo_field = "_id" if self.key_field == "id" else self.key_field
        found = await self.document.find(In(mongo_field, list(keys))).to_list()
        by_key = {getattr(doc, self.key_field): doc for doc in found}
        return [by_key.get(key) for key in keys]


class CategoryByIdLoader(_DocumentByFieldLoader):
    document = Category
    key_field = "id"


class CategoryBySlugLoader(_DocumentByFieldLoader):
    document = Category
    key_field = "slug"


class ProductByIdLoader(_DocumentByFieldLoader):
    document = Product
    key_field = "id"


class ProductBySlugLoader(_DocumentByFieldLoader):
    document = Product
    key_field = "slug"


class SubcategoriesByParentIdLoader(DataLoader):
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
