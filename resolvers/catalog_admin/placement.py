"""Where things sit in the catalog: a product's category and subcategory, and free slugs."""

from __future__ import annotations

import re
from typing import Any

from beanie import Document
from bson import ObjectId

from documents.catalog import Category
from documents.catalog_rules import CatalogError, CatalogErrorCode


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
