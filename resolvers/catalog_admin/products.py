"""Creating, changing, archiving and deleting products, and their stock.

Each operation is one unit of work: the domain function (`documents/products.py`,
`documents/stock.py`) joins the transaction opened here, and the cache invalidation and image
deletions it causes run after that transaction commits.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from pymongo.asynchronous.client_session import AsyncClientSession

from documents import products
from documents.catalog import Product, StockMovement
from documents.catalog_rules import CatalogError, CatalogErrorCode, retry_on_slug_race
from documents.common import stored_id
from documents.products import ProductAction, ProductFields
from documents.stock import StockError, adjust_stock, set_stock
from documents.transactions import after_commit, in_transaction
from resolvers.catalog_admin.stored_images import discard_image
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page

_NEWEST_MOVEMENT_FIRST = Ordering("movement_-1", "created_at", -1, datetime)
# What each state mutation asks of the transitions table, as the fields a change sets.
_ACTION_FIELDS = {
    ProductAction.PUBLISH: ProductFields(published=True),
    ProductAction.UNPUBLISH: ProductFields(published=False),
    ProductAction.ARCHIVE: ProductFields(archived=True),
    ProductAction.RESTORE: ProductFields(archived=False),
}


async def create_product(ctx: Context, fields: ProductFields) -> Product:
    """A new product; the slug comes from the name unless given. Unpublished unless told."""

    async def work(session: AsyncClientSession) -> Product:
        product = await products.create_product(
            fields, currency=ctx.settings.shop_currency, session=session
        )
        await ctx.query_cache.product_changed(product)
        return product

    return await retry_on_slug_race(lambda: in_transaction(work), products.slug_taken)


async def update_product(ctx: Context, product: Product, fields: ProductFields) -> Product:
    """Change only the fields given; the final price follows price and discount."""

    async def work(session: AsyncClientSession) -> Product:
        before, after = await products.change_product(
            stored_id(product),
            fields,
            currency=ctx.settings.shop_currency,
            session=session,
            field="id",  # if it was deleted since it was loaded
        )
        await ctx.query_cache.product_changed(before, after)
        return after

    return await in_transaction(work)


async def change_product_state(ctx: Context, product: Product, action: ProductAction) -> Product:
    """Publish, unpublish, archive (hidden, kept for order history) or restore (unpublished)."""
    return await update_product(ctx, product, _ACTION_FIELDS[action])


async def delete_product(ctx: Context, product: Product) -> None:
    """Remove a product for good, then its images from the store; one that orders refer to can
    only be archived (PRODUCT_IN_ORDERS)."""

    async def work(session: AsyncClientSession) -> None:
        removed = await products.delete_product(stored_id(product), session=session, field="id")
        await ctx.query_cache.product_changed(removed)
        for image in removed.images:
            if image.public_id:
                why = "its product was deleted"
                after_commit(functools.partial(discard_image, ctx, image.public_id, why))

    await in_transaction(work)


@dataclass(frozen=True)
class StockChange:
    product: Product
    movement: StockMovement


async def change_stock(
    ctx: Context,
    product: Product,
    *,
    delta: int | None = None,
    stock: int | None = None,
    reason: str,
    actor_id: ObjectId | None,
) -> StockChange:
    """Adjust by `delta` or set to `stock`, recorded in the stock history."""

    async def work(session: AsyncClientSession) -> StockChange:
        product_id = stored_id(product)
        if delta is not None:
            movement = await adjust_stock(
                product_id, delta, reason=reason, actor_id=actor_id, session=session
            )
        else:
            assert stock is not None
            movement = await set_stock(
                product_id, stock, reason=reason, actor_id=actor_id, session=session
            )
        after = await products.product_in(session, product_id)
        await ctx.query_cache.product_changed(product, after)
        return StockChange(product=after, movement=movement)

    try:
        return await in_transaction(work)
    except StockError as error:
        raise CatalogError(CatalogErrorCode(error.code), error.message, field=error.field) from None


async def stock_movements(ctx: Context, product: Product, *, page: PageArgs) -> Page[StockMovement]:
    """The product's stock history, newest first."""
    page = page.validated()
    run = ctx.loaders.stock_movement_pipelines.load
    conditions = [{"product_id": stored_id(product)}]
    return await find_page(
        run, conditions, _NEWEST_MOVEMENT_FIRST, page, StockMovement.model_validate
    )
