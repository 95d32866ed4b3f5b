"""Creating, changing, archiving and deleting products, and their stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError
from pymongo.results import UpdateResult

from documents.catalog import Product, StockMovement
from documents.catalog_rules import (
    CatalogError,
    CatalogErrorCode,
    check_brand,
    check_discount,
    check_name,
    check_price,
    check_slug,
    check_stock,
    sanitize_description,
    slugify,
)
from documents.common import stored_id, utc_now
from documents.errors import InvalidInputError
from documents.money import final_price, to_minor_units
from documents.stock import StockError, adjust_stock, set_stock
from resolvers.catalog_admin.placement import (
    check_placement,
    claim_placement,
    in_transaction,
    unique_slug,
)
from resolvers.catalog_admin.stored_images import discard_image
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page

UNSET: Any = object()
_NEWEST_MOVEMENT_FIRST = Ordering("movement_-1", "created_at", -1, datetime)


@dataclass(frozen=True)
class ProductFields:
    """Fields of a product write; UNSET ones stay as they are (on create: their defaults)."""

    name: Any = UNSET
    slug: Any = UNSET
    description: Any = UNSET
    brand: Any = UNSET
    price: Any = UNSET  # Decimal, in the shop currency
    discount_percent: Any = UNSET
    category_id: Any = UNSET
    subcategory_id: Any = UNSET  # None: no subcategory
    published: Any = UNSET
    stock: Any = UNSET  # create only; later changes go through adjust/set stock


def checked_fields(ctx: Context, fields: ProductFields) -> dict[str, Any]:
    """The stored form of every field given, each checked; CatalogError names the first bad one."""
    values: dict[str, Any] = {}
    if fields.name is not UNSET:
        values["name"] = check_name(fields.name or "")
    if fields.slug is not UNSET and fields.slug is not None:
        values["slug"] = check_slug(fields.slug)
    if fields.description is not UNSET:
        values["description"] = sanitize_description(fields.description or "")
    if fields.brand is not UNSET:
        values["brand"] = check_brand(fields.brand or "")
    if fields.price is not UNSET:
        price = fields.price if isinstance(fields.price, Decimal) else Decimal(str(fields.price))
        values["price"] = check_price(
            _minor_units(price, ctx.settings.shop_currency), field="price"
        )
    if fields.discount_percent is not UNSET:
        values["discount_percent"] = check_discount(fields.discount_percent)
    if fields.category_id is not UNSET:
        values["category_id"] = fields.category_id
    if fields.subcategory_id is not UNSET:
        values["subcategory_id"] = fields.subcategory_id
    if fields.published is not UNSET:
        values["published"] = bool(fields.published)
    if fields.stock is not UNSET:
        values["stock"] = check_stock(fields.stock)
    return values


def _minor_units(price: Decimal, currency: str) -> int:
    try:
        return to_minor_units(price, currency, field="price")
    except InvalidInputError as error:
        raise CatalogError(CatalogErrorCode.INVALID_PRICE, error.message, field="price") from None


async def create_product(ctx: Context, fields: ProductFields) -> Product:
    """A new product; the slug comes from the name unless given. Unpublished unless told."""
    values = checked_fields(ctx, fields)
    for required in ("name", "price", "category_id"):
        if required not in values:
            field_name = {"category_id": "categoryId"}.get(required, required)
            code = {
                "name": CatalogErrorCode.INVALID_NAME,
                "price": CatalogErrorCode.INVALID_PRICE,
                "category_id": CatalogErrorCode.CATEGORY_NOT_FOUND,
            }[required]
            raise CatalogError(code, f"{field_name} is required", field=field_name)
    await check_placement(values["category_id"], values.get("subcategory_id"))
    explicit_slug = "slug" in values
    values.setdefault("slug", await unique_slug(Product, slugify(values["name"])))
    values.setdefault("published", False)
    product = Product(currency=ctx.settings.shop_currency, **values)

    async def insert(session: AsyncClientSession) -> None:
        await claim_placement(session, values["category_id"], values.get("subcategory_id"))
        await product.insert(session=session)

    try:
        await in_transaction(insert)
    except DuplicateKeyError:
        if explicit_slug:
            raise CatalogError(
                CatalogErrorCode.SLUG_TAKEN, "Another product has this slug", field="slug"
            ) from None
        # Two products with the same name created at once: take the next free slug.
        product.slug = await unique_slug(Product, slugify(values["name"]))
        await in_transaction(insert)
    await ctx.query_cache.invalidate_product(product)
    return product


async def product_for_admin(product_id: ObjectId) -> Product:
    product = await Product.get(product_id)
    if product is None:
        raise CatalogError(CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId")
    return product


async def update_product(ctx: Context, product_id: ObjectId, fields: ProductFields) -> Product:
    """Change only the fields given; the final price follows price and discount."""
    if fields.stock is not UNSET:
        raise CatalogError(
            CatalogErrorCode.INVALID_STOCK,
            "Change stock with adjustStock or setStock",
            field="stock",
        )
    before = await product_for_admin(product_id)
    values = checked_fields(ctx, fields)
    if not values:
        return before
    if values.get("published") and before.archived_at is not None:
        raise CatalogError(
            CatalogErrorCode.PRODUCT_ARCHIVED, "Restore the product first", field="published"
        )
    category_id = values.get("category_id", before.category_id)
    subcategory_id = values.get("subcategory_id", before.subcategory_id)
    moved = values.get("category_id", before.category_id) != before.category_id
    if moved and "subcategory_id" not in values and subcategory_id is not None:
        subcategory_id = values["subcategory_id"] = None  # a new category drops the old subcategory
    if "category_id" in values or "subcategory_id" in values:
        await check_placement(category_id, subcategory_id)
    values["final_price"] = final_price(
        values.get("price", before.price), values.get("discount_percent", before.discount_percent)
    )
    values["updated_at"] = utc_now()
    condition: dict[str, Any] = {"_id": product_id}
    if values.get("published"):
        condition["archived_at"] = None  # archiving at the same moment must win, not mix
    placed = "category_id" in values or "subcategory_id" in values

    async def write(session: AsyncClientSession) -> UpdateResult:
        if placed:
            await claim_placement(session, category_id, subcategory_id)
        return await Product.get_pymongo_collection().update_one(
            condition, {"$set": values}, session=session
        )

    try:
        result = await in_transaction(write)
    except DuplicateKeyError:
        raise CatalogError(
            CatalogErrorCode.SLUG_TAKEN, "Another product has this slug", field="slug"
        ) from None
    if result.matched_count == 0:
        gone = await Product.get(product_id) is None
        if gone:
            raise CatalogError(
                CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId"
            )
        raise CatalogError(
            CatalogErrorCode.PRODUCT_ARCHIVED, "Restore the product first", field="published"
        )
    after = await product_for_admin(product_id)
    await ctx.query_cache.invalidate_product(before, after)
    return after


async def set_product_published(ctx: Context, product_id: ObjectId, published: bool) -> Product:
    """Show or hide a product in the storefront."""
    return await update_product(ctx, product_id, ProductFields(published=published))


async def archive_product(ctx: Context, product_id: ObjectId) -> Product:
    """Hide a product for good, keeping it for order history."""
    before = await product_for_admin(product_id)
    if before.archived_at is not None:
        return before
    now = utc_now()
    await Product.get_pymongo_collection().update_one(
        {"_id": product_id}, {"$set": {"archived_at": now, "published": False, "updated_at": now}}
    )
    after = await product_for_admin(product_id)
    await ctx.query_cache.invalidate_product(before, after)
    return after


async def restore_product(ctx: Context, product_id: ObjectId) -> Product:
    """Bring an archived product back, unpublished."""
    before = await product_for_admin(product_id)
    await Product.get_pymongo_collection().update_one(
        {"_id": product_id}, {"$set": {"archived_at": None, "updated_at": utc_now()}}
    )
    after = await product_for_admin(product_id)
    await ctx.query_cache.invalidate_product(before, after)
    return after


async def delete_product(ctx: Context, product_id: ObjectId) -> None:
    """Remove a product and its images for good. Orders do not exist yet; once they do, a
    product an order references can only be archived."""
    product = await product_for_admin(product_id)
    await Product.get_pymongo_collection().delete_one({"_id": product_id})
    await ctx.query_cache.invalidate_product(product)
    for image in product.images:
        if image.public_id:
            await discard_image(ctx, image.public_id, "its product was deleted")


@dataclass(frozen=True)
class StockChange:
    product: Product
    movement: StockMovement


async def change_stock(
    ctx: Context,
    product_id: ObjectId,
    *,
    delta: int | None = None,
    stock: int | None = None,
    reason: str,
    actor_id: ObjectId | None,
) -> StockChange:
    """Adjust by `delta` or set to `stock`, recorded in the stock history."""
    before = await product_for_admin(product_id)
    try:
        if delta is not None:
            movement = await adjust_stock(product_id, delta, reason=reason, actor_id=actor_id)
        else:
            assert stock is not None
            movement = await set_stock(product_id, stock, reason=reason, actor_id=actor_id)
    except StockError as error:
        raise CatalogError(CatalogErrorCode(error.code), error.message, field=error.field) from None
    after = await product_for_admin(product_id)
    await ctx.query_cache.invalidate_product(before, after)
    return StockChange(product=after, movement=movement)


async def stock_movements(ctx: Context, product: Product, *, page: PageArgs) -> Page[StockMovement]:
    """The product's stock history, newest first."""
    page = page.validated()
    run = ctx.loaders.stock_movement_pipelines.load
    conditions = [{"product_id": stored_id(product)}]
    return await find_page(
        run, conditions, _NEWEST_MOVEMENT_FIRST, page, StockMovement.model_validate
    )
