"""Importing and exporting products as CSV or JSON Lines, upserted by slug.

Both formats carry the columns of `COLUMNS`; prices are decimals in the shop currency. Each row is
checked with the rules of `createProduct` / `updateProduct` (`checked_fields`, `check_placement`) and
applies completely or not at all, while the other rows still apply. Rows are written in batches of
`BATCH_SIZE`, each batch one transaction: an unordered bulk write of the products and, for every
stock the import changed, a `StockMovement` with reason "import", and the list counts of every
product the batch creates or moves (documents/catalog_counts.py). Reading the products a batch
updates inside that transaction makes a concurrent change of one of them a write conflict, which
retries the batch, so the recorded stock before and after, and the counts, are exact.

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
from pymongo import InsertOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, DuplicateKeyError

from documents.catalog import Category, Product
from documents.catalog_rules import CatalogError, CatalogErrorCode, check_stock
from documents.common import stored_id, utc_now
from documents.placement import Placement, check_placement, claim_placement
from documents.products import (
    ProductFields,
    ProductWrite,
    plan_product_change,
    planned_update,
    write_products,
)
from documents.stock import StockCount, StockCountConflictError, set_counted_stock
from documents.transactions import in_transaction
from resolvers.catalog_admin.transfer.formats import (
    BATCH_SIZE,
    CONVERTERS,
    CURRENCY_COLUMN,
    DUPLICATE_KEY,
    MAX_REPORTED_ROWS,
    STOCK_REASON,
    WRITE_ATTEMPTS,
    ImportResult,
    Row,
    RowOutcome,
    RowResult,
    RowWrite,
    detect_format,
    failed_row,
    read_rows,
    refuse,
    stored_fields,
    text_value,
)
from resolvers.context import Context

logger = logging.getLogger(__name__)

# --- planning and writing -----------------------------------------------------------------------


class _Planner:
    """Turns rows into writes against the products they match, with the rules of
    `createProduct` / `updateProduct` (`plan_product_change`); remembers placement checks."""

    def __init__(self, ctx: Context, categories: dict[str, Category], actor_id: ObjectId | None):
        self._currency = ctx.settings.shop_currency
        self._categories = categories
        self.actor_id = actor_id
        self._placements: dict[Placement, CatalogError | None] = {}

    async def plan(
        self, rows: list[Row], session: AsyncClientSession | None
    ) -> list[RowWrite | RowResult]:
        query = {"slug": {"$in": [row.slug for row in rows]}}
        found = Product.get_pymongo_collection().find(query, {"images": 0}, session=session)
        existing = {product["slug"]: Product.model_validate(product) async for product in found}
        now = utc_now()
        plans: list[RowWrite | RowResult] = []
        for row in rows:
            try:
                plans.append(await self._plan_row(row, existing.get(row.slug), now))
            except CatalogError as error:
                plans.append(failed_row(row.line, row.slug, error))
        return plans

    async def _plan_row(self, row: Row, before: Product | None, now: datetime) -> RowWrite:
        values = row.values
        currency = text_value(values.get(CURRENCY_COLUMN), CURRENCY_COLUMN).strip().upper()
        if currency and currency != self._currency:
            refuse(
                CatalogErrorCode.INVALID_PRICE, f"Prices are in {self._currency}", CURRENCY_COLUMN
            )
        given = {
            name: convert(values[name], name)
            for name, convert in CONVERTERS.items()
            if name in values
        }
        # Stock is written by documents/stock.py, with its history, not by the product update.
        counted = check_stock(given.pop("stock")) if before and "stock" in given else None
        given.update(self._placement_ids(values))
        plan = plan_product_change(before, ProductFields(**given), currency=self._currency, now=now)
        if plan.placement is not None:
            await self._check_placement(plan.placement)
        if before is None:
            product = Product(
                id=ObjectId(),  # made here, in file order, so exports list rows as imported
                **{**plan.values, "slug": row.slug},
                currency=self._currency,
            )
            create = ProductWrite(InsertOne(stored_fields(product)), None, product)
            return RowWrite(RowOutcome.CREATED, create, None, plan.placement)
        count = None
        if counted is not None and counted != before.stock:
            count = StockCount(stored_id(before), before.stock, counted)
        update = None if plan.changes_nothing else planned_update(before, plan)
        return RowWrite(RowOutcome.UPDATED, update, count, plan.placement)

    def _placement_ids(self, values: dict[str, Any]) -> dict[str, Any]:
        """The category and subcategory ids the row's slugs name, as product fields."""
        ids: dict[str, Any] = {}
        if "category_slug" in values:
            ids["category_id"] = self._category(values["category_slug"], "category_slug").id
        if "subcategory_slug" in values:
            slug = values["subcategory_slug"]
            ids["subcategory_id"] = (
                None if slug is None else self._category(slug, "subcategory_slug").id
            )
        return ids

    async def _check_placement(self, placement: Placement) -> None:
        """`check_placement`, once per distinct placement of the file."""
        if placement not in self._placements:
            try:
                await check_placement(*placement)
                self._placements[placement] = None
            except CatalogError as error:
                self._placements[placement] = error
        if refused := self._placements[placement]:
            raise CatalogError(CatalogErrorCode(refused.code), refused.message, field=refused.field)

    def _category(self, value: Any, column: str) -> Category:
        slug = text_value(value, column).strip()
        category = self._categories.get(slug)
        if category is None:
            message = f"No category has the slug {slug!r}" if slug else f"{column} is required"
            refuse(CatalogErrorCode.CATEGORY_NOT_FOUND, message, column)
        return category


async def _write_batch(
    ctx: Context, planner: _Planner, rows: list[Row]
) -> list[RowWrite | RowResult]:
    """Plan and write one batch in a transaction; again if a product appeared meanwhile.

    A committed batch retires the cached catalog, whatever becomes of the batches after it.
    """

    async def apply(session: AsyncClientSession) -> list[RowWrite | RowResult]:
        plans = await planner.plan(rows, session)
        writes = [plan for plan in plans if isinstance(plan, RowWrite)]
        products = [write.product for write in writes if write.product is not None]
        counts = [write.stock for write in writes if write.stock is not None]
        # As for single writes: categories this batch places products in cannot be deleted
        # under it (see placement.claim_placement).
        for placement in sorted({w.placement for w in writes if w.placement}, key=str):
            await claim_placement(session, *placement)
        # The list counts move each product to its new place, then (reading the products
        # written) its stock within that place: every change is counted once.
        await write_products(products, session=session)
        await set_counted_stock(
            counts, reason=STOCK_REASON, actor_id=planner.actor_id, session=session
        )
        if products or counts:
            await ctx.query_cache.catalog_changed()
        return plans

    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            return await in_transaction(apply)
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
    planner = _Planner(ctx, await _categories_named_in(rows), actor_id)
    outcomes: list[RowOutcome] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        try:
            plans = await (
                planner.plan(batch, None) if dry_run else _write_batch(ctx, planner, batch)
            )
        except (StockCountConflictError, BulkWriteError, DuplicateKeyError, CatalogError) as error:
            # This batch was rolled back and so will the rest not be tried: say so per row,
            # since the batches before it did apply.
            logger.warning("import stopped at line %d: %s", batch[0].line, error)
            failures += [_not_applied(row) for row in rows[start:]]
            break
        failures += [plan for plan in plans if isinstance(plan, RowResult)]
        outcomes += [plan.outcome for plan in plans if isinstance(plan, RowWrite)]
    failures.sort(key=lambda failure: failure.line)
    return ImportResult(
        outcomes.count(RowOutcome.CREATED),
        outcomes.count(RowOutcome.UPDATED),
        len(failures),
        failures[:MAX_REPORTED_ROWS],
    )


async def _categories_named_in(rows: list[Row]) -> dict[str, Category]:
    """The categories the rows name by slug, in one query."""
    slugs = {
        value.strip()
        for row in rows
        for column in ("category_slug", "subcategory_slug")
        if isinstance(value := row.values.get(column), str)
    }
    found = await Category.find({"slug": {"$in": sorted(slugs)}}).to_list()
    return {category.slug: category for category in found}


def _not_applied(row: Row) -> RowResult:
    message = "Not applied: the products changed during the import; import this row again"
    return failed_row(row.line, row.slug, CatalogError(CatalogErrorCode.INVALID_ROW, message))
