"""Export of every product, in the import format, streamed."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson

from documents.catalog import Category, Product
from documents.money import to_decimal
from resolvers.catalog_admin.transfer.formats import (
    COLUMNS,
    EXPORT_CHUNK_ROWS,
    EXPORT_PATH,
    TransferFormat,
    escape_formula,
)
from resolvers.context import Context

# --- export -------------------------------------------------------------------------------------


def export_url(ctx: Context, fmt: TransferFormat = TransferFormat.CSV) -> str:
    """Where an admin downloads the catalog in the import format."""
    return f"{ctx.settings.public_url.rstrip('/')}{EXPORT_PATH}?format={fmt}"


def _export_row(product: dict[str, Any], category_slugs: dict[Any, str]) -> dict[str, Any]:
    subcategory_id = product.get("subcategory_id")
    return {
        "slug": product["slug"],
        "name": product["name"],
        "description": product.get("description", ""),
        "brand": product.get("brand", ""),
        "price": str(to_decimal(product["price"], product["currency"])),
        "discount_percent": product.get("discount_percent", 0),
        "stock": product.get("stock", 0),
        "category_slug": category_slugs.get(product["category_id"]),
        "subcategory_slug": category_slugs.get(subcategory_id) if subcategory_id else None,
        "published": bool(product.get("published")),
        "archived": product.get("archived_at") is not None,
    }


def _csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else escape_formula(str(value))


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(map(_csv_cell, row) for row in rows)
    return buffer.getvalue().encode()


def _encode(rows: list[dict[str, Any]], fmt: TransferFormat) -> bytes:
    if fmt is TransferFormat.JSONL:
        return b"".join(orjson.dumps(row) + b"\n" for row in rows)
    return _csv_lines([row[column] for column in COLUMNS] for row in rows)


async def export_products(ctx: Context, fmt: TransferFormat) -> AsyncIterator[bytes]:
    """Every product, unpublished and archived too, in `_id` order and the import format, as
    chunks of a streamed response."""
    categories = Category.get_pymongo_collection().find({}, {"slug": 1})
    category_slugs = {category["_id"]: category["slug"] async for category in categories}
    if fmt is TransferFormat.CSV:
        yield _csv_lines([COLUMNS])
    cursor = Product.get_pymongo_collection().find(
        {}, {"images": 0}, sort=[("_id", 1)], batch_size=EXPORT_CHUNK_ROWS
    )
    chunk: list[dict[str, Any]] = []
    try:
        async for product in cursor:
            chunk.append(_export_row(product, category_slugs))
            if len(chunk) == EXPORT_CHUNK_ROWS:
                yield _encode(chunk, fmt)
                chunk = []
    finally:
        await cursor.close()
    if chunk:
        yield _encode(chunk, fmt)
