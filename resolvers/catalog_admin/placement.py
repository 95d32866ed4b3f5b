"""Where things sit in the catalog: a product's category and subcategory, and free slugs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from beanie import Document
from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Category
from documents.catalog_rules import CatalogError, CatalogErrorCode

T = TypeVar("T")


async def top_level_category(category_id: ObjectId, *, field: str = "categoryId") -> Category:
    category = await Category.get(category_id)
    if category is None:
        raise CatalogError(CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field=field)
    if category.parent_id is not None:
        raise CatalogError(
            CatalogErrorCode.NOT_A_TOP_LEVEL_CATEGORY, "Choose a top-level category", field=field
        )
    return category


async def check_placement(category_id: ObjectId, subcategory_id: ObjectId | None) -> None:
    """The category exists and is top-level; the subcategory, if any, belongs to it."""
    await top_level_category(category_id)
    if subcategory_id is None:
        return
    subcategory = await Category.get(subcategory_id)
    if subcategory is None:
        raise CatalogError(
            CatalogErrorCode.CATEGORY_NOT_FOUND, "No such subcategory", field="subcategoryId"
        )
    if subcategory.parent_id != category_id:
        raise CatalogError(
            CatalogErrorCode.SUBCATEGORY_MISMATCH,
            "The subcategory belongs to another category",
            field="subcategoryId",
        )


async def unique_slug(
    document: type[Document], base: str, *, excluding: ObjectId | None = None
) -> str:
    """`base`, or `base-2`, `base-3` ..., whichever no other document of the kind has."""
    query: dict[str, Any] = {"slug": {"$regex": f"^{re.escape(base)}(-[0-9]+)?$"}}
    if excluding is not None:
        query["_id"] = {"$ne": excluding}
    rows = await document.get_pymongo_collection().find(query, {"slug": 1}).to_list()
    taken = {row["slug"] for row in rows}
    number = 1
    slug = base
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


# A counter every placement write increments on the categories it uses, inside its transaction.
# Deleting a category writes the same document, so a product moved into a category that is being
# deleted conflicts with the deletion instead of both committing (write skew); the one that retries
# sees the other's result. Not part of the Category model: nothing reads it.
PLACEMENT_GUARD = "placement_guard"


async def claim_placement(
    session: AsyncClientSession, category_id: ObjectId, subcategory_id: ObjectId | None
) -> None:
    """Inside a transaction: the category (and subcategory) still exist as they must, and a
    concurrent deletion of either conflicts with this transaction."""
    categories = Category.get_pymongo_collection()
    claims = [({"_id": category_id, "parent_id": None}, "categoryId")]
    if subcategory_id is not None:
        claims.append(({"_id": subcategory_id, "parent_id": category_id}, "subcategoryId"))
    for condition, field in claims:
        result = await categories.update_one(
            condition, {"$inc": {PLACEMENT_GUARD: 1}}, session=session
        )
        if result.matched_count == 0:
            raise CatalogError(
                CatalogErrorCode.CATEGORY_NOT_FOUND,
                "The category is gone or has moved",
                field=field,
            )


async def in_transaction(apply: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run `apply` in a MongoDB transaction, retried on transient conflicts."""
    client = Category.get_pymongo_collection().database.client
    async with client.start_session() as session:
        result: T = await session.with_transaction(apply)
    return result
