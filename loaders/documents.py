"""The shape most loaders share: one document per distinct value of a unique field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beanie import Document
from beanie.operators import In

from loaders.cancellation import CancellationSafeLoader
from loaders.observer import ReadObserver


class DocumentByFieldLoader(CancellationSafeLoader):
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
