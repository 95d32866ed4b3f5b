"""How a product may change: one plan for every write (admin mutations and the import alike), and
the publish / archive / restore transitions as a table.

`plan_product_change(before, fields)` turns the fields a write asks for into the values to store,
or refuses them with a `CatalogError`: every field checked, the required ones on create, "a new
category drops the old subcategory", the final price recomputed, and the product's state moved only
through `PRODUCT_TRANSITIONS` (an archived product cannot be published). `create_product` and
`change_product` apply a plan in a transaction, checking and claiming the placement there;
`write_products` applies the plans of an import's batch in one bulk write, in the caller's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from documents.catalog import Product
from documents.catalog_counts import add_counts, count_moves, count_product_changes
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
    unique_slug,
)
from documents.common import UNSET, utc_now
from documents.errors import InvalidInputError
from documents.money import final_price, to_minor_units
from documents.orders import Order
from documents.placement import Placement, check_placement, claim_placement
from documents.transactions import in_transaction


class ProductState(enum.StrEnum):
    """Where a product is in its life: a draft, on sale, or archived (hidden, kept for orders)."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class ProductAction(enum.StrEnum):
    PUBLISH = "PUBLISH"
    UNPUBLISH = "UNPUBLISH"
    ARCHIVE = "ARCHIVE"
    RESTORE = "RESTORE"


# Every (state, action) either moves to a state here, or is refused in PRODUCT_REFUSALS; asking
# for the state a product is already in changes nothing.
PRODUCT_TRANSITIONS: dict[tuple[ProductState, ProductAction], ProductState] = {
    (ProductState.DRAFT, ProductAction.PUBLISH): ProductState.PUBLISHED,
    (ProductState.DRAFT, ProductAction.UNPUBLISH): ProductState.DRAFT,
    (ProductState.DRAFT, ProductAction.ARCHIVE): ProductState.ARCHIVED,
    (ProductState.DRAFT, ProductAction.RESTORE): ProductState.DRAFT,
    (ProductState.PUBLISHED, ProductAction.PUBLISH): ProductState.PUBLISHED,
    (ProductState.PUBLISHED, ProductAction.UNPUBLISH): ProductState.DRAFT,
    (ProductState.PUBLISHED, ProductAction.ARCHIVE): ProductState.ARCHIVED,
    (ProductState.PUBLISHED, ProductAction.RESTORE): ProductState.PUBLISHED,
    (ProductState.ARCHIVED, ProductAction.UNPUBLISH): ProductState.ARCHIVED,
    (ProductState.ARCHIVED, ProductAction.ARCHIVE): ProductState.ARCHIVED,
    (ProductState.ARCHIVED, ProductAction.RESTORE): ProductState.DRAFT,  # comes back unpublished
}
PRODUCT_REFUSALS: dict[tuple[ProductState, ProductAction], tuple[CatalogErrorCode, str, str]] = {
    (ProductState.ARCHIVED, ProductAction.PUBLISH): (
        CatalogErrorCode.PRODUCT_ARCHIVED,
        "An archived product cannot be published; restore it first",
        "published",
    ),
}


def _check_transitions_table() -> None:
    """Checked on import: the table and the refusals together cover every pair exactly once."""
    pairs = {(state, action) for state in ProductState for action in ProductAction}
    covered = set(PRODUCT_TRANSITIONS) | set(PRODUCT_REFUSALS)
    if covered != pairs or set(PRODUCT_TRANSITIONS) & set(PRODUCT_REFUSALS):
        raise RuntimeError(f"product transitions do not cover {sorted(pairs - covered)}")


_check_transitions_table()


def product_state(product: Product) -> ProductState:
    if product.archived_at is not None:
        return ProductState.ARCHIVED
    return ProductState.PUBLISHED if product.published else ProductState.DRAFT


def next_state(state: ProductState, action: ProductAction) -> ProductState:
    """The state `action` leads to from `state`; CatalogError when the table refuses it."""
    if refusal := PRODUCT_REFUSALS.get((state, action)):
        code, message, field = refusal
        raise CatalogError(code, message, field=field)
    return PRODUCT_TRANSITIONS[(state, action)]


def _state_values(state: ProductState, before: Product | None, now: datetime) -> dict[str, Any]:
    """The stored fields of a state; an archived product keeps the moment it was archived."""
    archived_at = None
    if state is ProductState.ARCHIVED:
        archived_at = before.archived_at if before and before.archived_at else now
    return {"published": state is ProductState.PUBLISHED, "archived_at": archived_at}


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
    archived: Any = UNSET  # the import's column; mutations use archive/restore
    stock: Any = UNSET  # create only; later changes go through documents/stock.py


def checked_values(fields: ProductFields, *, currency: str) -> dict[str, Any]:
    """The stored form of every content field given, each checked; CatalogError names the first
    bad one. State (published, archived) and stock are planned separately."""
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
        values["price"] = check_price(_minor_units(price, currency))
    if fields.discount_percent is not UNSET:
        values["discount_percent"] = check_discount(fields.discount_percent)
    if fields.category_id is not UNSET:
        values["category_id"] = fields.category_id
    if fields.subcategory_id is not UNSET:
        values["subcategory_id"] = fields.subcategory_id
    return values


def _minor_units(price: Decimal, currency: str) -> int:
    try:
        return to_minor_units(price, currency, field="price")
    except InvalidInputError as error:
        raise CatalogError(CatalogErrorCode.INVALID_PRICE, error.message, field="price") from None


_REQUIRED_TO_CREATE = {
    "name": (CatalogErrorCode.INVALID_NAME, "name"),
    "price": (CatalogErrorCode.INVALID_PRICE, "price"),
    "category_id": (CatalogErrorCode.CATEGORY_NOT_FOUND, "categoryId"),
}


@dataclass(frozen=True)
class ProductPlan:
    """What a write stores. `values` are the fields to set (on create, the new product's fields);
    `placement` is set when the write puts the product in a category, to check and claim."""

    values: dict[str, Any]
    placement: Placement | None = None

    @property
    def changes_nothing(self) -> bool:
        return not self.values


def plan_product_change(
    before: Product | None, fields: ProductFields, *, currency: str, now: datetime
) -> ProductPlan:
    """The values a create (`before` None) or an update of `before` stores, every rule applied.

    On update only the values that differ from `before` are kept, with `updated_at`.
    """
    values = checked_values(fields, currency=currency)
    if before is None:
        for name, (code, field) in _REQUIRED_TO_CREATE.items():
            if name not in values:
                raise CatalogError(code, f"{field} is required", field=field)
        if fields.stock is not UNSET:
            values["stock"] = check_stock(fields.stock)
    elif fields.stock is not UNSET:
        raise CatalogError(
            CatalogErrorCode.INVALID_STOCK,
            "Change stock with adjustStock or setStock",
            field="stock",
        )
    values.update(_state_values(_planned_state(before, fields), before, now))
    placement = _planned_placement(before, values)
    if before is None:
        values["final_price"] = final_price(values["price"], values.get("discount_percent", 0))
        return ProductPlan({**values, "created_at": now, "updated_at": now}, placement)
    values["final_price"] = final_price(
        values.get("price", before.price), values.get("discount_percent", before.discount_percent)
    )
    current = before.model_dump()
    changed = {key: value for key, value in values.items() if current.get(key) != value}
    if not changed:
        return ProductPlan({})
    moves = changed.keys() & {"category_id", "subcategory_id"}
    return ProductPlan({**changed, "updated_at": now}, placement if moves else None)


def _planned_state(before: Product | None, fields: ProductFields) -> ProductState:
    """The state a write asks for, through the transitions table. A restore brings a product
    back unpublished: publishing it is a change of its own, even in one import row that says
    `archived: false, published: true` (a blank `archived` cell would otherwise republish it)."""
    start = state = ProductState.DRAFT if before is None else product_state(before)
    if fields.archived is not UNSET:
        action = ProductAction.ARCHIVE if fields.archived else ProductAction.RESTORE
        state = next_state(state, action)
    if fields.published is not UNSET:
        action = ProductAction.PUBLISH if fields.published else ProductAction.UNPUBLISH
        state = next_state(state, action)
    if start is ProductState.ARCHIVED and state is ProductState.PUBLISHED:
        next_state(start, ProductAction.PUBLISH)  # refused, as publishing an archived product is
    return state


def _planned_placement(before: Product | None, values: dict[str, Any]) -> Placement | None:
    """Where the write puts the product; a new category drops the old subcategory."""
    if "category_id" not in values and "subcategory_id" not in values:
        return None
    if before is None:
        values.setdefault("subcategory_id", None)
        return values["category_id"], values["subcategory_id"]
    category_id = values.get("category_id", before.category_id)
    if category_id != before.category_id and "subcategory_id" not in values:
        values["subcategory_id"] = None
    return category_id, values.get("subcategory_id", before.subcategory_id)


async def create_product(
    fields: ProductFields, *, currency: str, session: AsyncClientSession
) -> Product:
    """A new product, in the caller's transaction; the slug comes from the name unless given.
    Unpublished unless told. A slug made from the name that another product took meanwhile
    raises DuplicateKeyError: run the unit of work under `retry_on_slug_race`."""
    plan = plan_product_change(None, fields, currency=currency, now=utc_now())
    placement = plan.placement
    assert placement is not None  # a category is required
    await check_placement(*placement, session=session)
    slug = plan.values.get("slug") or await unique_slug(
        Product, slugify(plan.values["name"]), session=session
    )
    product = Product(currency=currency, **{**plan.values, "slug": slug})
    await claim_placement(session, *placement)
    try:
        await product.insert(session=session)
    except DuplicateKeyError:
        if "slug" in plan.values:
            raise slug_taken() from None
        raise
    await count_product_changes([(None, product)], session=session)
    return product


async def change_product(
    product_id: ObjectId,
    fields: ProductFields,
    *,
    currency: str,
    session: AsyncClientSession | None = None,
    field: str | None = None,
) -> tuple[Product, Product]:
    """Apply `fields` to the product, all rules checked on the product as the transaction reads
    it (a concurrent change makes it run again). Returns the product before and after."""

    async def apply(session: AsyncClientSession) -> tuple[Product, Product]:
        before = await product_in(session, product_id, field=field)
        plan = plan_product_change(before, fields, currency=currency, now=utc_now())
        if plan.changes_nothing:
            return before, before
        if plan.placement is not None:
            await check_placement(*plan.placement, session=session)
            await claim_placement(session, *plan.placement)
        raw = await Product.get_pymongo_collection().find_one_and_update(
            {"_id": product_id},
            {"$set": plan.values},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        after = Product.model_validate(raw)
        await count_product_changes([(before, after)], session=session)
        return before, after

    try:
        return await in_transaction(apply, session=session)
    except DuplicateKeyError:
        raise slug_taken() from None


async def product_in(
    session: AsyncClientSession | None, product_id: ObjectId, *, field: str | None = None
) -> Product:
    """The product as `session` reads it; PRODUCT_NOT_FOUND (naming `field`) if there is none."""
    raw = await Product.get_pymongo_collection().find_one({"_id": product_id}, session=session)
    if raw is None:
        raise CatalogError(CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field=field)
    return Product.model_validate(raw)


async def delete_product(
    product_id: ObjectId, *, session: AsyncClientSession | None = None, field: str | None = None
) -> Product:
    """Delete the product for good; returns it as it was (its images are the caller's to discard
    once the deletion committed). A product an order refers to can only be archived: read in the
    deleting transaction, and a checkout of it writes the product too, so the two conflict."""

    async def apply(session: AsyncClientSession) -> Product:
        if await Order.get_pymongo_collection().find_one(
            {"lines.product_id": product_id}, {"_id": 1}, session=session
        ):
            raise CatalogError(
                CatalogErrorCode.PRODUCT_IN_ORDERS,
                "Orders refer to this product; archive it instead",
                field=field,
            )
        raw = await Product.get_pymongo_collection().find_one_and_delete(
            {"_id": product_id}, session=session
        )
        if raw is None:
            raise CatalogError(CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field=field)
        await count_product_changes([(raw, None)], session=session)
        return Product.model_validate(raw)

    return await in_transaction(apply, session=session)


@dataclass(frozen=True)
class ProductWrite:
    """One create or update of a bulk write (an import), with the product before it (None for a
    create) and after it, as the caller's transaction read and planned it."""

    operation: InsertOne[Any] | UpdateOne
    before: Product | None
    after: Product


def planned_update(before: Product, plan: ProductPlan) -> ProductWrite:
    """The update of `before` that a plan of it stores (the plan changes something)."""
    return ProductWrite(
        UpdateOne({"_id": before.id}, {"$set": plan.values}),
        before,
        before.model_copy(update=plan.values),
    )


async def write_products(writes: list[ProductWrite], *, session: AsyncClientSession) -> None:
    """Apply many creates and updates in one unordered bulk write, in the caller's transaction,
    and move each product in the list counts from where it was to where it goes.

    The caller read every `before` in the same transaction, so a concurrent change of one of
    them is a write conflict and never a stale count. Stock is not written here (see
    documents/stock.py): `after` keeps the stock of `before`, and `set_counted_stock`, reading
    the products after this write, counts a stock change from the product's new place.
    """
    if not writes:
        return
    await Product.get_pymongo_collection().bulk_write(
        [write.operation for write in writes], ordered=False, session=session
    )
    await count_product_changes(((write.before, write.after) for write in writes), session=session)


async def unpublish_archived_products() -> None:
    """Upgrade: archived products stored published (by a version before archiving unpublished)
    are unpublished, so `VISIBLE_PRODUCTS` need not ask for `archived_at` (idempotent)."""
    stored_published = {"published": True, "archived_at": {"$ne": None}}

    async def apply(session: AsyncClientSession) -> None:
        changes = await count_moves(stored_published, {"published": False}, session=session)
        await Product.get_pymongo_collection().update_many(
            stored_published, {"$set": {"published": False}}, session=session
        )
        await add_counts(changes, session=session)

    await in_transaction(apply)


def slug_taken() -> CatalogError:
    return CatalogError(CatalogErrorCode.SLUG_TAKEN, "Another product has this slug", field="slug")
