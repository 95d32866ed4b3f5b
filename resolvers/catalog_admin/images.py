"""Product and category images: upload, remove, reorder, alt text, and transformed URLs.

An image is identified by its public id in the image store, or by its URL when it is held
elsewhere (imported or demo images have no public id). Uploads go to the store first; when the
database write that should reference one does not happen (product gone, limit reached meanwhile,
database error), the file is deleted again, so no orphan is left. Files are deleted from the store
only after the document stopped referencing them, and a failed deletion is logged, not reported:
the admin's change is done either way.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from documents.catalog import Category, Product
from documents.catalog_rules import CatalogError, CatalogErrorCode, check_alt_text
from documents.categories import category_in
from documents.common import Image, stored_id, utc_now
from documents.products import product_in
from integrations.images import ImageStoreError, InvalidImageError, StoredImage
from resolvers.catalog_admin.stored_images import discard_image
from resolvers.context import Context
from resolvers.images import image_id

logger = logging.getLogger(__name__)
PRODUCT_FOLDER = "products"
CATEGORY_FOLDER = "categories"


@dataclass(frozen=True)
class AddedImage:
    product: Product
    image: Image


async def add_product_image(
    ctx: Context, product: Product, data: bytes, *, alt: str | None = None
) -> AddedImage:
    """Store an upload and append it to the product's images; alt text defaults to its name.

    The image limit is part of the update's condition, so concurrent uploads cannot pass it.
    """
    product_id = stored_id(product)
    before = product
    alt_text = before.name if alt is None else check_alt_text(alt)
    limit = ctx.settings.max_product_images
    if len(before.images) >= limit:
        raise _too_many_images(limit)
    stored = await _store(ctx, data, folder=PRODUCT_FOLDER)
    image = _image(stored, alt_text)
    try:
        raw = await Product.get_pymongo_collection().find_one_and_update(
            {"_id": product_id, f"images.{limit - 1}": {"$exists": False}},
            {"$push": {"images": image.model_dump()}, "$set": {"updated_at": utc_now()}},
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            # PRODUCT_NOT_FOUND if it was deleted meanwhile, else the limit was reached.
            await product_in(None, product_id, field="productId")
            raise _too_many_images(limit)
    except BaseException:
        await discard_image(ctx, stored.public_id, "not added to the product")
        raise
    after = Product.model_validate(raw)
    await ctx.query_cache.product_changed(before, after)
    return AddedImage(product=after, image=image)


async def remove_product_image(ctx: Context, product: Product, wanted_id: str) -> Product:
    """Take an image off the product, then delete its file from the store."""
    product_id = stored_id(product)
    before = product
    image = _find_image(before, wanted_id)
    raw = await Product.get_pymongo_collection().find_one_and_update(
        {"_id": product_id, "images": {"$elemMatch": _matching(image)}},
        {"$pull": {"images": _matching(image)}, "$set": {"updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        await product_in(None, product_id, field="productId")
        raise _image_not_found()  # removed by someone else since it was read
    after = Product.model_validate(raw)
    await ctx.query_cache.product_changed(before, after)
    if image.public_id:
        await discard_image(ctx, image.public_id, "removed from its product")
    return after


async def reorder_product_images(ctx: Context, product: Product, image_ids: list[str]) -> Product:
    """Put the product's images in the order of `image_ids`, a permutation of their ids.

    The write only happens if the images are still the ones read; after a concurrent change it
    is tried once more against the new images, then refused.
    """
    product_id = stored_id(product)
    collection = Product.get_pymongo_collection()
    for _attempt in range(2):
        raw = await collection.find_one({"_id": product_id})
        if raw is None:
            raise CatalogError(
                CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field="productId"
            )
        before = Product.model_validate(raw)
        current = raw.get("images", [])
        reordered = _reordered(current, image_ids)
        if reordered == current:
            return before
        updated = await collection.find_one_and_update(
            {"_id": product_id, "images": current},
            {"$set": {"images": reordered, "updated_at": utc_now()}},
            return_document=ReturnDocument.AFTER,
        )
        if updated is not None:
            after = Product.model_validate(updated)
            await ctx.query_cache.product_changed(before, after)
            return after
    raise CatalogError(
        CatalogErrorCode.INVALID_IMAGE_ORDER,
        "The images changed while reordering; reload them and try again",
        field="imageIds",
    )


async def update_product_image(
    ctx: Context, product: Product, wanted_id: str, *, alt: str
) -> Product:
    """Change an image's alt text."""
    alt_text = check_alt_text(alt)
    product_id = stored_id(product)
    before = product
    image = _find_image(before, wanted_id)
    raw = await Product.get_pymongo_collection().find_one_and_update(
        {"_id": product_id, "images": {"$elemMatch": _matching(image)}},
        {"$set": {"images.$.alt": alt_text, "updated_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        await product_in(None, product_id, field="productId")
        raise _image_not_found()
    after = Product.model_validate(raw)
    await ctx.query_cache.product_changed(before, after)
    return after


async def set_category_image(
    ctx: Context, category: Category, data: bytes, *, alt: str | None = None
) -> Category:
    """Store an upload as the category's image; the image it replaces is deleted from the store."""
    category_id = stored_id(category)
    alt_text = category.name if alt is None else check_alt_text(alt)
    stored = await _store(ctx, data, folder=CATEGORY_FOLDER)
    image = _image(stored, alt_text).model_dump()
    now = utc_now()
    try:
        # The document as it was: exactly the image this write replaced is the one to delete.
        raw = await Category.get_pymongo_collection().find_one_and_update(
            {"_id": category_id},
            {"$set": {"image": image, "updated_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if raw is None:
            raise CatalogError(
                CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field="categoryId"
            )
    except BaseException:
        await discard_image(ctx, stored.public_id, "not set on the category")
        raise
    return await _image_replaced(ctx, raw, image, now, "replaced on its category")


async def remove_category_image(ctx: Context, category: Category) -> Category:
    """Take the category's image off, then delete its file from the store."""
    category_id = stored_id(category)
    now = utc_now()
    raw = await Category.get_pymongo_collection().find_one_and_update(
        {"_id": category_id, "image": {"$ne": None}},
        {"$set": {"image": None, "updated_at": now}},
        return_document=ReturnDocument.BEFORE,
    )
    if raw is None:
        return await category_in(None, category_id, field="categoryId")  # none to remove
    return await _image_replaced(ctx, raw, None, now, "removed from its category")


async def _image_replaced(
    ctx: Context, raw: dict[str, Any], image: dict[str, Any] | None, now: datetime, why: str
) -> Category:
    """After a category's image was set or removed (`raw` is the category as it was): the cache
    learns of it, and the file it had is deleted from the store. Returns the category after."""
    before = Category.model_validate(raw)
    after = Category.model_validate({**raw, "image": image, "updated_at": now})
    await ctx.query_cache.category_changed(before, after)
    if before.image and before.image.public_id:
        await discard_image(ctx, before.image.public_id, why)
    return after


async def _store(ctx: Context, data: bytes, *, folder: str) -> StoredImage:
    try:
        return await ctx.services.images.save(
            data, folder=folder, max_bytes=ctx.settings.product_image_max_bytes
        )
    except InvalidImageError as error:
        raise CatalogError(CatalogErrorCode(error.code), str(error), field="file") from None
    except ImageStoreError as error:
        logger.error("image upload failed: %s", error)
        raise CatalogError(
            CatalogErrorCode.IMAGE_STORE_UNAVAILABLE,
            "The image could not be stored; try again",
            field="file",
        ) from None


def _image(stored: StoredImage, alt: str) -> Image:
    return Image(
        url=stored.url,
        alt=alt,
        width=stored.width,
        height=stored.height,
        public_id=stored.public_id,
    )


def _matching(image: Image) -> dict[str, Any]:
    """A condition on an array element that only this image meets (None also matches missing)."""
    return {"url": image.url, "public_id": image.public_id}


def _find_image(product: Product, wanted_id: str) -> Image:
    for image in product.images:
        if image_id(image) == wanted_id:
            return image
    raise _image_not_found()


def _reordered(current: list[dict[str, Any]], image_ids: list[str]) -> list[dict[str, Any]]:
    """The stored images in the order of `image_ids`, which must name each exactly once."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for stored in current:
        by_id.setdefault(image_id(Image.model_validate(stored)), []).append(stored)
    if Counter(image_ids) != Counter({key: len(images) for key, images in by_id.items()}):
        raise CatalogError(
            CatalogErrorCode.INVALID_IMAGE_ORDER,
            "Name each of the product's images exactly once",
            field="imageIds",
        )
    return [by_id[wanted].pop(0) for wanted in image_ids]


def _image_not_found() -> CatalogError:
    return CatalogError(
        CatalogErrorCode.IMAGE_NOT_FOUND, "The product has no such image", field="imageId"
    )


def _too_many_images(limit: int) -> CatalogError:
    return CatalogError(
        CatalogErrorCode.TOO_MANY_IMAGES, f"A product has at most {limit} images", field="file"
    )
