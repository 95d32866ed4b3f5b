"""How categories change: creating, renaming, and deleting one with its contents moved elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import Category, Product
from documents.catalog_counts import add_counts, count_moves
from documents.catalog_rules import (
    MAX_CATEGORY_NAME_LENGTH,
    CatalogError,
    CatalogErrorCode,
    check_name,
    check_slug,
    sanitize_description,
    slugify,
    unique_slug,
)
from documents.common import UNSET, stored_id, utc_now
from documents.placement import claim_placement, top_level_category
from documents.transactions import in_transaction


@dataclass(frozen=True)
class CategoryFields:
    """Fields of a category write; UNSET ones stay as they are."""

    name: Any = UNSET
    slug: Any = UNSET
    description: Any = UNSET
    parent_id: Any = UNSET  # create only: None for a top-level category


def _checked(fields: CategoryFields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if fields.name is not UNSET:
        values["name"] = check_name(fields.name or "", maximum=MAX_CATEGORY_NAME_LENGTH)
    if fields.slug is not UNSET and fields.slug is not None:
        values["slug"] = check_slug(fields.slug)
    if fields.description is not UNSET:
        values["description"] = sanitize_description(fields.description or "")
    return values


async def create_category(fields: CategoryFields, *, session: AsyncClientSession) -> Category:
    """A top-level category, or with `parent_id` a subcategory of one (two levels only), in the
    caller's transaction. As with products, a slug made from the name that was taken meanwhile
    raises DuplicateKeyError for `retry_on_slug_race`."""
    values = _checked(fields)
    if "name" not in values:
        raise CatalogError(CatalogErrorCode.INVALID_NAME, "name is required", field="name")
    parent_id = None if fields.parent_id is UNSET else fields.parent_id
    if parent_id is not None:
        await top_level_category(parent_id, field="parentId", session=session)
        await claim_placement(session, parent_id, None)
    slug = values.get("slug") or await unique_slug(
        Category, slugify(values["name"]), session=session
    )
    category = Category(parent_id=parent_id, **{**values, "slug": slug})
    try:
        await category.insert(session=session)
    except DuplicateKeyError:
        if "slug" in values:
            raise slug_taken() from None
        raise
    return category


async def change_category(
    category_id: ObjectId, fields: CategoryFields, *, session: AsyncClientSession | None = None
) -> tuple[Category, Category]:
    """Change only the fields given; a category stays at its level. Returns before and after."""
    values = _checked(fields)

    async def apply(session: AsyncClientSession) -> tuple[Category, Category]:
        before = await category_in(session, category_id)
        if not values:
            return before, before
        raw = await Category.get_pymongo_collection().find_one_and_update(
            {"_id": category_id},
            {"$set": {**values, "updated_at": utc_now()}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return before, Category.model_validate(raw)

    try:
        return await in_transaction(apply, session=session)
    except DuplicateKeyError:
        raise slug_taken() from None


@dataclass(frozen=True)
class CategoryDeletion:
    """What a deletion did: the category as it was, and whether anything moved with it."""

    category: Category
    moved_contents: bool


async def delete_category(
    category_id: ObjectId,
    *,
    move_products_to: ObjectId | None = None,
    move_subcategories_to: ObjectId | None = None,
    session: AsyncClientSession | None = None,
) -> CategoryDeletion:
    """Delete a category. One that still has products or subcategories is refused unless told
    where they go: products to another category or subcategory, subcategories to another
    top-level category. Checks, moves and the deletion happen in one transaction; placement
    writes claim the categories they use, so they conflict with it rather than slip past it."""

    async def apply(session: AsyncClientSession) -> CategoryDeletion:
        category = await category_in(session, category_id)
        owned = _own_products(category)
        products = Product.get_pymongo_collection()
        children = Category.get_pymongo_collection()
        has_products = await products.count_documents(owned, limit=1, session=session) > 0
        has_children = (
            await children.count_documents({"parent_id": category_id}, limit=1, session=session) > 0
        )
        _refuse_unless_told(has_products, move_products_to, "products", "moveProductsTo")
        _refuse_unless_told(
            has_children, move_subcategories_to, "subcategories", "moveSubcategoriesTo"
        )
        now = utc_now()
        if has_products:
            assert move_products_to is not None
            target = await _product_target(session, category, move_products_to)
            await claim_placement(session, target["category_id"], target["subcategory_id"])
            await _move_products(session, owned, target, now)
        if has_children:
            assert move_subcategories_to is not None
            await _move_subcategories(session, category_id, move_subcategories_to, now)
        await children.delete_one({"_id": category_id}, session=session)
        return CategoryDeletion(category, moved_contents=has_products or has_children)

    return await in_transaction(apply, session=session)


async def category_in(
    session: AsyncClientSession | None, category_id: ObjectId, *, field: str | None = None
) -> Category:
    """The category as `session` reads it; CATEGORY_NOT_FOUND if there is none."""
    raw = await Category.get_pymongo_collection().find_one({"_id": category_id}, session=session)
    if raw is None:
        raise CatalogError(CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field=field)
    return Category.model_validate(raw)


def _own_products(category: Category) -> dict[str, Any]:
    """Its own products; those of its subcategories stay with them (and follow them if moved)."""
    if category.parent_id:
        return {"subcategory_id": category.id}
    return {"category_id": category.id, "subcategory_id": None}


def _refuse_unless_told(has: bool, target: ObjectId | None, what: str, field: str) -> None:
    if has and target is None:
        raise CatalogError(
            CatalogErrorCode.CATEGORY_NOT_EMPTY,
            f"It has {what}; say where to move them",
            field=field,
        )


async def _product_target(
    session: AsyncClientSession, category: Category, target_id: ObjectId
) -> dict[str, Any]:
    """The placement products of `category` move to: a top-level category (no subcategory) or a
    subcategory (with its parent)."""
    field = "moveProductsTo"
    if target_id == category.id:
        raise CatalogError(CatalogErrorCode.INVALID_MOVE, "Choose another category", field=field)
    target = await category_in(session, target_id, field=field)
    if target.parent_id == category.id:
        raise CatalogError(
            CatalogErrorCode.INVALID_MOVE,
            "That subcategory goes away with its category",
            field=field,
        )
    if target.parent_id is None:
        return {"category_id": stored_id(target), "subcategory_id": None}
    return {"category_id": target.parent_id, "subcategory_id": stored_id(target)}


async def _move_subcategories(
    session: AsyncClientSession, category_id: ObjectId, new_parent_id: ObjectId, now: Any
) -> None:
    """Subcategories go to another top-level category; their products belong to it too."""
    field = "moveSubcategoriesTo"
    if new_parent_id == category_id:
        raise CatalogError(CatalogErrorCode.INVALID_MOVE, "Choose another category", field=field)
    await top_level_category(new_parent_id, field=field, session=session)
    await claim_placement(session, new_parent_id, None)
    children = Category.get_pymongo_collection()
    moved = await children.find({"parent_id": category_id}, {"_id": 1}, session=session).to_list()
    await children.update_many(
        {"parent_id": category_id}, {"$set": {"parent_id": new_parent_id}}, session=session
    )
    await _move_products(
        session,
        {"subcategory_id": {"$in": [row["_id"] for row in moved]}},
        {"category_id": new_parent_id},
        now,
    )


async def _move_products(
    session: AsyncClientSession, condition: dict[str, Any], placement: dict[str, Any], now: Any
) -> None:
    """Move every product matching `condition` to `placement`, and their list counts with them."""
    changes = await count_moves(condition, placement, session=session)
    await Product.get_pymongo_collection().update_many(
        condition, {"$set": {**placement, "updated_at": now}}, session=session
    )
    await add_counts(changes, session=session)


def slug_taken() -> CatalogError:
    return CatalogError(CatalogErrorCode.SLUG_TAKEN, "Another category has this slug", field="slug")
