"""Where a product sits in the catalog: its category and subcategory, checked and claimed."""

from __future__ import annotations

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Category
from documents.catalog_rules import CatalogError, CatalogErrorCode

Placement = tuple[ObjectId, ObjectId | None]  # (category, subcategory or None)


async def top_level_category(
    category_id: ObjectId,
    *,
    field: str = "categoryId",
    session: AsyncClientSession | None = None,
) -> Category:
    raw = await Category.get_pymongo_collection().find_one({"_id": category_id}, session=session)
    if raw is None:
        raise CatalogError(CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field=field)
    category = Category.model_validate(raw)
    if category.parent_id is not None:
        raise CatalogError(
            CatalogErrorCode.NOT_A_TOP_LEVEL_CATEGORY, "Choose a top-level category", field=field
        )
    return category


async def check_placement(
    category_id: ObjectId,
    subcategory_id: ObjectId | None,
    *,
    session: AsyncClientSession | None = None,
) -> None:
    """The category exists and is top-level; the subcategory, if any, belongs to it."""
    await top_level_category(category_id, session=session)
    if subcategory_id is None:
        return
    subcategory = await Category.get_pymongo_collection().find_one(
        {"_id": subcategory_id}, {"parent_id": 1}, session=session
    )
    if subcategory is None:
        raise CatalogError(
            CatalogErrorCode.CATEGORY_NOT_FOUND, "No such subcategory", field="subcategoryId"
        )
    if subcategory.get("parent_id") != category_id:
        raise CatalogError(
            CatalogErrorCode.SUBCATEGORY_MISMATCH,
            "The subcategory belongs to another category",
            field="subcategoryId",
        )


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
