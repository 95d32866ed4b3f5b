"""The shape most loaders share: one document per distinct value of a unique field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from beanie import Document

from documents.trusted_reads import reader
from loaders.cancellation import CancellationSafeLoader
from loaders.observer import ReadObserver


class DocumentByFieldLoader(CancellationSafeLoader):
    """Loads one document per distinct value of a unique field.

    One PyMongo `find` per batch: Beanie's query builder cost as much CPU as the query itself,
    and nothing here needs it. `trusted` loaders build their documents with
    `documents.trusted_reads.from_stored` instead of validating them (the public catalog,
    read on every page).
    """

    document: type[Document]
    key_field: str
    trusted: bool = False

    def __init__(self, observe: ReadObserver) -> None:
        super().__init__()
        self._observe = observe

    async def batch_load_fn(self, keys: Sequence[Any]) -> list[Any]:
        for key in keys:
            self._observe(self.document.get_collection_name(), self.key_field, key)
        mongo_field = "_id" if self.key_field == "id" else self.key_field
        collection = self.document.get_pymongo_collection()
        stored = await collection.find({mongo_field: {"$in": list(keys)}}).to_list()
        parse = reader(self.document) if self.trusted else self.document.model_validate
        found = [parse(raw) for raw in stored]
        by_key = {getattr(doc, self.key_field): doc for doc in found}
        return [by_key.get(key) for key in keys]
