"""Importing and exporting products as CSV or JSON Lines, upserted by slug.

Both formats carry the columns of `COLUMNS`; prices are decimals in the shop currency. Each row is
checked with the rules of `createProduct` / `updateProduct` (`checked_fields`, `check_placement`) and
applies completely or not at all, while the other rows still apply. Rows are written in batches of
`BATCH_SIZE`, each batch one transaction: an unordered bulk write of the products and, for every
stock the import changed, a `StockMovement` with reason "import". Reading the products a batch
updates inside that transaction makes a concurrent change of one of them a write conflict, which
retries the batch, so the recorded stock before and after is exact.

- A column the file leaves out leaves that field as it is (update) or at its default (create); a
  blank CSV cell or a JSON null sets the field's default (empty text, no subcategory, 0, false).
- A slug that an earlier row of the same file has fails the later row with SLUG_TAKEN.
- A row matching a product counts as updated even when nothing differs; such rows are not written.
- Creating a product records no stock movement, as with `createProduct`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from documents.catalog import Category, Product
from documents.catalog_rules import CatalogError, CatalogErrorCode
from documents.common import utc_now
from documents.money import final_price
from documents.stock import StockCount, StockCountConflictError, set_counted_stock
from resolvers.catalog_admin.placement import check_placement, claim_placement
from resolvers.catalog_admin.products import ProductFields, checked_fields
from resolvers.catalog_admin.transfer.formats import (
    BATCH_SIZE,
    CONVERTERS,
    CURRENCY_COLUMN,
    DUPLICATE_KEY,
    MAX_REPORTED_ROWS,
    REQUIRED_TO_CREATE,
    STOCK_REASON,
    WRITE_ATTEMPTS,
    ImportResult,
    Row,
    RowOutcome,
    RowResult,
    RowWrite,
    detect_format,
    failed_row,
    flag_value,
    read_rows,
    refuse,
    stored_fields,
    text_value,
)
from resolvers.context import Context

logger = logging.getLogger(__name__)

# --- planning and writing -----------------------------------------------------------------------


class _Planner:
    """Turns rows into writes against the products they match; remembers category checks."""

    def __init__(self, ctx: Context, categories: dict[str, Category], actor_id: ObjectId | None):
        self._ctx = ctx
        self._categories = categories
        self.actor_id = actor_id
        self._placements: dict[tuple[Any, Any], CatalogError | None] = {}

    async def plan(
        self, rows: list[Row], session: AsyncClientSession | None
    ) -> list[RowWrite | RowResult]:
        query = {"slug": {"$in": [row.slug for row in rows]}}
        found = Product.get_pymongo_collection().find(query, {"images": 0}, session=session)
        existing = {product["slug"]: product async for product in found}
        now = utc_now()
        plans: list[RowWrite | RowResult] = []
        for row in rows:
            try:
                plans.append(await self._plan_row(row, existing.get(row.slug), now))
            except CatalogError as error:
                plans.append(failed_row(row.line, row.slug, error))
        return plans

    async def _plan_row(self, row: Row, before: dict[str, Any] | None, now: datetime) -> RowWrite:
        values = row.values
        for column, code in REQUIRED_TO_CREATE.items():
            if before is None and values.get(column) is None:
                refuse(code, f"{column} is required for a new product", column)
        currency = text_value(values.get(CURRENCY_COLUMN), CURRENCY_COLUMN).strip().upper()
        if currency and currency != self._ctx.settings.shop_currency:
            message = f"Prices are in {self._ctx.settings.shop_currency}"
            refuse(CatalogErrorCode.INVALID_PRICE, message, CURRENCY_COLUMN)
        given = {
            name: convert(values[name], name)
            for name, convert in CONVERTERS.items()
            if name in values
        }
        stored = checked_fields(self._ctx, ProductFields(**given))
        stored.update(await self._placement(values, before))
        self._archive(values, before, stored, now)
        if before is None:
            stored.setdefault("published", False)
            product = Product(
                id=ObjectId(),  # made here, in file order, so exports list rows as imported
                slug=row.slug,
                currency=self._ctx.settings.shop_currency,
                created_at=now,
                updated_at=now,
                **stored,
            )
            created_in = (product.category_id, product.subcategory_id)
            return RowWrite(RowOutcome.CREATED, InsertOne(stored_fields(product)), None, created_in)
        price = stored.get("price", before["price"])
        stored["final_price"] = final_price(
            price, stored.get("discount_percent", before.get("discount_percent", 0))
        )
        changes = {key: value for key, value in stored.items() if before.get(key) != value}
        if not changes:
            return RowWrite(RowOutcome.UPDATED, None)
        count = None
        if "stock" in changes:
            # Stock is written by documents/stock.py, with its history, not by the product update.
            count = StockCount(before["_id"], before["stock"], changes.pop("stock"))
        update = None
        if changes:
            update = UpdateOne({"_id": before["_id"]}, {"$set": {**changes, "updated_at": now}})
        moved_to = None
        if "category_id" in changes or "subcategory_id" in changes:
            moved_to = (stored["category_id"], stored.get("subcategory_id"))
        return RowWrite(RowOutcome.UPDATED, update, count, moved_to)

    async def _placement(
        self, values: dict[str, Any], before: dict[str, Any] | None
    ) -> dict[str, Any]:
        """The category and subcategory the row asks for, checked like `updateProduct` does."""
        if "category_slug" not in values and "subcategory_slug" not in values:
            return {}
        category_id = before["category_id"] if before else None
        subcategory_id = before.get("subcategory_id") if before else None
        if "category_slug" in values:
            category = self._category(values["category_slug"], "category_slug")
            if category.id != category_id and "subcategory_slug" not in values:
                subcategory_id = None  # a new category drops the old subcategory
            category_id = category.id
        if "subcategory_slug" in values:
            slug = values["subcategory_slug"]
            subcategory_id = None if slug is None else self._category(slug, "subcategory_slug").id
        assert category_id is not None  # a new product has a category_slug, or it failed
        key = (category_id, subcategory_id)
        if key not in self._placements:
            try:
                await check_placement(category_id, subcategory_id)
                self._placements[key] = None
            except CatalogError as error:
                self._placements[key] = error
        if refused := self._placements[key]:
            raise CatalogError(CatalogErrorCode(refused.code), refused.message, field=refused.field)
        return {"category_id": category_id, "subcategory_id": subcategory_id}

    def _category(self, value: Any, column: str) -> Category:
        slug = text_value(value, column).strip()
        category = self._categories.get(slug)
        if category is None:
            message = f"No category has the slug {slug!r}" if slug else f"{column} is required"
            refuse(CatalogErrorCode.CATEGORY_NOT_FOUND, message, column)
        return category

    @staticmethod
    def _archive(
        values: dict[str, Any], before: dict[str, Any] | None, stored: dict[str, Any], now: datetime
    ) -> None:
        """Archiving unpublishes; an archived product cannot be published (as `updateProduct`)."""
        was_archived = before is not None and before.get("archived_at") is not None
        archived = (
            flag_value(values["archived"], "archived") if "archived" in values else was_archived
        )
        if archived and stored.get("published"):
            message = "An archived product cannot be published; restore it (archived false)"
            refuse(CatalogErrorCode.PRODUCT_ARCHIVED, message, "published")
        if archived:
            stored["published"] = False
        if archived != was_archived:
            stored["archived_at"] = now if archived else None


async def _write_batch(planner: _Planner, rows: list[Row]) -> list[RowWrite | RowResult]:
    """Plan and write one batch in a transaction; again if a product appeared meanwhile."""

    async def apply(session: AsyncClientSession) -> list[RowWrite | RowResult]:
        plans = await planner.plan(rows, session)
        writes = [plan for plan in plans if isinstance(plan, RowWrite)]
        operations = [write.operation for write in writes if write.operation is not None]
        counts = [write.stock for write in writes if write.stock is not None]
        # As for single writes: categories this batch places products in cannot be deleted
        # under it (see placement.claim_placement).
        for placement in sorted({w.placement for w in writes if w.placement}, key=str):
            await claim_placement(session, *placement)
        if operations:
            await Product.get_pymongo_collection().bulk_write(
                operations, ordered=False, session=session
            )
        await set_counted_stock(
            counts, reason=STOCK_REASON, actor_id=planner.actor_id, session=session
        )
        return plans

    client = Product.get_pymongo_collection().database.client
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            async with client.start_session() as session:
                return await session.with_transaction(apply)
        except StockCountConflictError:
            if attempt == WRITE_ATTEMPTS:
                raise
        except (BulkWriteError, DuplicateKeyError) as error:
            details = error.details or {}
            codes = {e.get("code") for e in details.get("writeErrors", [])} | {error.code}
            # Someone created a product with a slug of this batch since it was read: on the
            # next attempt that row updates it.
            if DUPLICATE_KEY not in codes or attempt == WRITE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def import_products(
    ctx: Context,
    data: bytes,
    *,
    filename: str | None,
    content_type: str | None,
    dry_run: bool,
    actor_id: ObjectId | None,
) -> ImportResult:
    """Create or update the products of a CSV or JSON Lines file by slug, each row on its own.

    A dry run checks every row the same way and writes nothing.
    """
    if len(data) > ctx.settings.import_max_bytes:
        message = f"Import files may have at most {ctx.settings.import_max_bytes} bytes"
        raise CatalogError(CatalogErrorCode.IMPORT_FILE_TOO_LARGE, message, field="file")
    failures: list[RowResult] = []
    fmt = detect_format(data, filename, content_type)
    rows = read_rows(data, fmt, ctx.settings.import_max_rows, failures)
    slugs = {
        value.strip()
        for row in rows
        for column in ("category_slug", "subcategory_slug")
        if isinstance(value := row.values.get(column), str)
    }
    categories = {
        c.slug: c for c in await Category.find({"slug": {"$in": sorted(slugs)}}).to_list()
    }
    planner = _Planner(ctx, categories, actor_id)
    created = updated = 0
    try:
        for start in range(0, len(rows), BATCH_SIZE):
            batch = rows[start : start + BATCH_SIZE]
            try:
                plans = await (
                    planner.plan(batch, None) if dry_run else _write_batch(planner, batch)
                )
            except (
                StockCountConflictError,
                BulkWriteError,
                DuplicateKeyError,
                CatalogError,
            ) as error:
                # This batch was rolled back and so will the rest not be tried: say so per row,
                # since the batches before it did apply.
                logger.warning("import stopped at line %d: %s", batch[0].line, error)
                unapplied = rows[start:]
                failures += [_not_applied(row) for row in unapplied]
                break
            for plan in plans:
                if isinstance(plan, RowResult):
                    failures.append(plan)
                elif plan.outcome is RowOutcome.CREATED:
                    created += 1
                else:
                    updated += 1
    finally:
        # Whatever was committed must not be hidden behind cached results, even if a later
        # batch failed.
        if not dry_run and created + updated:
            await ctx.query_cache.invalidate_catalog()
    failures.sort(key=lambda failure: failure.line)
    return ImportResult(created, updated, len(failures), failures[:MAX_REPORTED_ROWS])


def _not_applied(row: Row) -> RowResult:
    message = "Not applied: the products changed during the import; import this row again"
    return failed_row(row.line, row.slug, CatalogError(CatalogErrorCode.INVALID_ROW, message))
