"""Carts: one per signed-in user, or one per guest token. Lines hold product ids and quantities
only; prices are always computed now (`documents/pricing.py`), never stored in the cart."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pymongo
from beanie import Document, PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel, Field
from pymongo import IndexModel

from documents.common import utc_now


def new_line_id() -> str:
    return str(ObjectId())


class CartLine(BaseModel):
    """A product and how many of it; `id` names the line in cart mutations."""

    id: str = Field(default_factory=new_line_id)
    product_id: PydanticObjectId
    quantity: Annotated[int, Field(ge=1)]
    added_at: datetime = Field(default_factory=utc_now)


class Cart(Document):
    """A shopper's cart. Exactly one of `user_id` (signed in) and `token_hash` (a guest's opaque
    cart token, stored as SHA-256) is set. `version` grows with every change, so checkout can
    refuse a view of the cart that is no longer current."""

    user_id: PydanticObjectId | None = None
    token_hash: str | None = None
    lines: list[CartLine] = Field(default_factory=list)
    version: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    # Guest carts are removed this long after their last change (TTL index); users' carts stay.
    expires_at: datetime | None = None

    class Settings:
        name = "carts"
        indexes = [
            IndexModel(
                [("user_id", pymongo.ASCENDING)],
                name="user_unique",
                unique=True,
                partialFilterExpression={"user_id": {"$type": "objectId"}},
            ),
            IndexModel(
                [("token_hash", pymongo.ASCENDING)],
                name="token_unique",
                unique=True,
                partialFilterExpression={"token_hash": {"$type": "string"}},
            ),
            IndexModel([("expires_at", pymongo.ASCENDING)], name="expiry", expireAfterSeconds=0),
        ]


CART_DOCUMENTS: list[type[Document]] = [Cart]
