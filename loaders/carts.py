"""Loaders for carts."""

from __future__ import annotations

from documents.carts import Cart
from loaders.documents import DocumentByFieldLoader


class CartByIdLoader(DocumentByFieldLoader):
    document = Cart
    key_field = "id"
