"""Creating, changing and deleting categories and subcategories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import Category, Product
from documents.catalog_rules import (
    MAX_CATEGORY_NAME_LENGTH,
    CatalogError,
    CatalogErrorCode,
    check_name,
    check_slug,
    sanitize_description,
    slugify,
)
from documents.common import stored_id, utc_now
from resolvers.catalog_admin.placement import (
    claim_placement,
    in_transaction,
    top_level_category,
    unique_slug,
)
from resolvers.context import Context

UNSET: Any = object()


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


async def create_category(ctx: Context, fields: CategoryFields) -> Category:
    """A top-level category, or with `parent_id` a subcategory of one (two levels only)."""
    values = _checked(fields)
    if "name" not in values:
        raise CatalogError(CatalogErrorCode.INVALID_NAME, "name is required", field="name")
    parent_id = None if fields.parent_id is UNSET else fields.parent_id
    if parent_id is not None:
        await top_level_category(parent_id, field="parentId")
    explicit_slug = "slug" in values
    values.setdefault("slug", await unique_slug(Category, slugify(values["name"])))
    category = Category(parent_id=parent_id, **values)
    try:
        await category.insert()
    except DuplicateKeyError:
        if explicit_slug:
            raise CatalogError(
                CatalogErrorCode.SLUG_TAKEN, "Another category has this slug", field="slug"
            ) from None
        category.slug = await unique_slug(Category, slugify(values["name"]))
        await category.insert()
    await ctx.query_cache.invalidate_category(category)
    return category


async def category_for_admin(category_id: ObjectId, *, field: str = "id") -> Category:
    category = await Category.get(category_id)
    if category is None:
        raise CatalogError(CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field=field)
    return category


async def update_category(ctx: Context, category_id: ObjectId, fields: CategoryFields) -> Category:
    """Change only the fields given. A category stays at its level."""
    before = await category_for_admin(category_id)
    values = _checked(fields)
    if not values:
        return before
    values["updated_at"] = utc_now()
    try:
        await Category.get_pymongo_collection().update_one({"_id": category_id}, {"$set": values})
    except DuplicateKeyError:
        raise CatalogError(
            CatalogErrorCode.SLUG_TAKEN, "Another category has this slug", field="slug"
        ) from None
    after = await category_for_admin(category_id)
    await ctx.query_cache.invalidate_category(before, after)
    return after


async def delete_category(
    ctx: Context,
    category_id: ObjectId,
    *,
    move_products_to: ObjectId | None = None,
    move_subcategories_to: ObjectId | None = None,
) -> None:
    """Delete a category. One that still has products or subcategories is refused unless told
    where they go: products to another category or subcategory, subcategories to another
    top-level category. Moves and the deletion happen in one transaction."""
    category = await category_for_admin(category_id)
    # Its own products; those of its subcategories stay with them (and follow them when moved).
    owned: dict[str, Any] = (
        {"subcategory_id": category_id}
        if category.parent_id
        else {"category_id": category_id, "subcategory_id": None}
    )
    products = Product.get_pymongo_collection()
    children = Category.get_pymongo_collection()
    has_products = await products.count_documents(owned, limit=1) > 0
    has_children = await children.count_documents({"parent_id": category_id}, limit=1) > 0
    if has_products and move_products_to is None:
        raise CatalogError(
            CatalogErrorCode.CATEGORY_NOT_EMPTY,
            "It has products; say where to move them",
            field="moveProductsTo",
        )
    if has_children and move_subcategories_to is None:
        raise CatalogError(
            CatalogErrorCode.CATEGORY_NOT_EMPTY,
            "It has subcategories; say where to move them",
            field="moveSubcategoriesTo",
        )
    product_target = await _product_target(category, move_products_to) if has_products else None
    new_parent = None
    if has_children:
        assert move_subcategories_to is not None
        if move_subcategories_to == category_id:
            raise CatalogError(
                CatalogErrorCode.INVALID_MOVE,
                "Choose another category",
                field="moveSubcategoriesTo",
            )
        new_parent = await top_level_category(move_subcategories_to, field="moveSubcategoriesTo")

    async def apply(session: AsyncClientSession) -> None:
        # Checked again inside the transaction: a product or subcategory may have arrived since
        # the check above. Placement writes touch this category's document too, so they conflict
        # with this transaction rather than slip past it (see placement.claim_placement).
        if product_target is None and await products.count_documents(
            owned, limit=1, session=session
        ):
            raise CatalogError(
                CatalogErrorCode.CATEGORY_NOT_EMPTY,
                "It has products; say where to move them",
                field="moveProductsTo",
            )
        if new_parent is None and await children.count_documents(
            {"parent_id": category_id}, limit=1, session=session
        ):
            raise CatalogError(
                CatalogErrorCode.CATEGORY_NOT_EMPTY,
                "It has subcategories; say where to move them",
                field="moveSubcategoriesTo",
            )
        if product_target is not None:
            await claim_placement(
                session, product_target["category_id"], product_target["subcategory_id"]
            )
        if new_parent is not None:
            await claim_placement(session, stored_id(new_parent), None)
        if product_target is not None:
            await products.update_many(
                owned,
                {"$set": {**product_target, "updated_at": utc_now()}},
                session=session,
            )
        if new_parent is not None:
            # Products of a moved subcategory now belong to its new parent too.
            moved = await children.find(
                {"parent_id": category_id}, {"_id": 1}, session=session
            ).to_list()
            await children.update_many(
                {"parent_id": category_id}, {"$set": {"parent_id": new_parent.id}}, session=session
            )
            await products.update_many(
                {"subcategory_id": {"$in": [row["_id"] for row in moved]}},
                {"$set": {"category_id": new_parent.id, "updated_at": utc_now()}},
                session=session,
            )
        deleted = await children.delete_one({"_id": category_id}, session=session)
        if deleted.deleted_count == 0:
            raise CatalogError(CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field="id")

    await in_transaction(apply)
    if product_target is None and new_parent is None:
        await ctx.query_cache.invalidate_category(category)
    else:
        # Products and subcategories moved in bulk: every cached catalog result may show them.
        await ctx.query_cache.invalidate_catalog()


async def _product_target(category: Category, target_id: ObjectId | None) -> dict[str, Any]:
    """The placement products of `category` move to: a top-level category (no subcategory) or a
    subcategory (with its parent)."""
    assert target_id is not None
    if target_id == category.id:
        raise CatalogError(
            CatalogErrorCode.INVALID_MOVE, "Choose another category", field="moveProductsTo"
        )
    target = await category_for_admin(target_id, field="moveProductsTo")
    if target.parent_id == category.id:
        raise CatalogError(
            CatalogErrorCode.INVALID_MOVE,
            "That subcategory goes away with its category",
            field="moveProductsTo",
        )
    if target.parent_id is None:
        return {"category_id": stored_id(target), "subcategory_id": None}
    return {"category_id": target.parent_id, "subcategory_id": stored_id(target)}
