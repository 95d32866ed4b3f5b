"""Loaders for orders, by id and by number. `batch_load_fn` returns a list aligned with the keys."""

from __future__ import annotations

from documents.orders import Order
from loaders.documents import DocumentByFieldLoader


class OrderByIdLoader(DocumentByFieldLoader):
    document = Order
    key_field = "id"


class OrderByNumberLoader(DocumentByFieldLoader):
    document = Order
    key_field = "number"
