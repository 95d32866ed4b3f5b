"""Catalog documents: categories (two levels) and products, with the indexes their queries use."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import pymongo
from beanie import Document, PydanticObjectId
from pydantic import Field, model_validator
from pymongo import IndexModel

from documents.common import Image, utc_now
from documents.money import MAX_DISCOUNT_PERCENT, final_price


class Category(Document):
    """A top-level category (`parent_id` None) or a subcategory of one. Two levels only."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    slug: Annotated[str, Field(min_length=1, max_length=140)]
    description: str = ""
    image: Image | None = None
    parent_id: PydanticObjectId | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "categories"
        indexes = [
            IndexModel([("slug", pymongo.ASCENDING)], name="slug_unique", unique=True),
            IndexModel(
                [
                    ("parent_id", pymongo.ASCENDING),
                    ("name", pymongo.ASCENDING),
                    ("_id", pymongo.ASCENDING),
                ],
                name="parent_name",
            ),
        ]


# The storefront shows exactly the products matching this filter (and `Product.is_visible`).
# Published and not archived, in one always-present field that leads every listing index: an
# archived product is never published (documents/products.py's state table stores
# `published: False` with `archived_at`, and its `unpublish_archived_products` upgraded what
# earlier versions stored), so `archived_at: null`, which no index answers without reading each
# document, need not be asked. A list that documents/catalog_counts.py keeps no count of is
# then counted from index keys (COUNT_SCAN).
VISIBLE_PRODUCTS: dict[str, Any] = {"published": True}


class ProductSortField(enum.StrEnum):
    """What a product list can be ordered by; each maps to one stored field."""

    NAME = "name"
    PRICE = "final_price"
    CREATED_AT = "created_at"
    RATING = "rating_average"
    RELEVANCE = "relevance"


INDEXED_SORT_FIELDS = [f for f in ProductSortField if f is not ProductSortField.RELEVANCE]


def _listing_indexes() -> list[IndexModel]:
    """One index per (scope, sort) pair, so every storefront list is an index scan in sort order.

    Scope is the whole catalog, a category or a subcategory; the other filters (brand, price range,
    stock, rating) are applied to the rows the index yields in order.
    """
    indexes = []
    for scope in (None, "category_id", "subcategory_id"):
        for sort in INDEXED_SORT_FIELDS:
            keys = [("published", pymongo.ASCENDING)]
            keys += [(scope, pymongo.ASCENDING)] if scope else []
            keys += [(sort.value, pymongo.ASCENDING), ("_id", pymongo.ASCENDING)]
            indexes.append(IndexModel(keys, name=f"list_{scope or 'all'}_{sort.value}"))
    return indexes


class Product(Document):
    """A sellable product. Money is integer minor units of `currency`."""

    name: Annotated[str, Field(min_length=2, max_length=200)]
    slug: Annotated[str, Field(min_length=1, max_length=220)]
    description: str = ""
    brand: str = ""
    price: Annotated[int, Field(ge=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    discount_percent: Annotated[int, Field(ge=0, le=MAX_DISCOUNT_PERCENT)] = 0
    # Derived from price and discount by `final_price`; stored so lists can sort and filter on it.
    final_price: int = 0
    stock: Annotated[int, Field(ge=0)] = 0
    category_id: PydanticObjectId
    subcategory_id: PydanticObjectId | None = None
    images: list[Image] = Field(default_factory=list)
    # Ratings: the histogram (count per star, 1 to 5) is kept by review writes, and count, sum and
    # average are derived from it in the same update (documents/reviews/ratings.py). The average
    # is stored so lists can sort and filter on it.
    rating_histogram: list[Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: [0] * 5, min_length=5, max_length=5
    )
    rating_count: Annotated[int, Field(ge=0)] = 0
    rating_sum: Annotated[int, Field(ge=0)] = 0
    rating_average: Annotated[float, Field(ge=0, le=5)] = 0.0
    # The part of the histogram the product came with (the demo catalog, a migration): ratings no
    # review here accounts for. None when every rating is a review's.
    imported_rating_histogram: list[int] | None = None
    published: bool = True
    # Archived products are hidden and kept for order history; archiving also unpublishes
    # (never both: `VISIBLE_PRODUCTS` asks for `published` alone).
    archived_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @model_validator(mode="before")
    @classmethod
    def _derive_final_price(cls, data: Any) -> Any:
        if isinstance(data, dict) and "price" in data:
            data = {
                **data,
                "final_price": final_price(data["price"], data.get("discount_percent", 0)),
            }
        return data

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def is_visible(self) -> bool:
        """Whether the storefront may show this product: it matches `VISIBLE_PRODUCTS` (and is not
        archived, which a published product never is)."""
        return self.published and self.archived_at is None

    class Settings:
        name = "products"
        indexes = [
            IndexModel([("slug", pymongo.ASCENDING)], name="slug_unique", unique=True),
            IndexModel(
                [("name", pymongo.TEXT), ("brand", pymongo.TEXT), ("description", pymongo.TEXT)],
                name="search_text",
                weights={"name": 10, "brand": 5, "description": 1},
                default_language="english",
            ),
            *_listing_indexes(),
        ]


class StockMovementKind(enum.StrEnum):
    """What changed the stock: an admin (adjusted or counted), an import, or an order."""

    ADJUSTED = "ADJUSTED"
    COUNTED = "COUNTED"
    IMPORTED = "IMPORTED"
    TAKEN = "TAKEN"  # by an order or a reservation, named by `reference`
    GIVEN_BACK = "GIVEN_BACK"  # what was taken under `reference`, returned (cancelled, expired)


class StockMovement(Document):
    """One change of a product's stock: who, when, why, and the stock before and after."""

    product_id: PydanticObjectId
    delta: int
    before: int
    after: int
    reason: str
    kind: StockMovementKind = StockMovementKind.ADJUSTED
    # What the change belongs to (an order's id), so its stock history can be listed.
    reference: str | None = None
    actor_id: PydanticObjectId | None = None  # None for changes made by the system (orders)
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "stock_movements"
        indexes = [
            IndexModel(
                [
                    ("product_id", pymongo.ASCENDING),
                    ("created_at", pymongo.DESCENDING),
                    ("_id", pymongo.DESCENDING),
                ],
                name="product_newest",
            ),
            # A reference takes a product's stock once and gives it back once: the guard that
            # makes taking and giving back idempotent, whoever retries.
            IndexModel(
                [
                    ("reference", pymongo.ASCENDING),
                    ("kind", pymongo.ASCENDING),
                    ("product_id", pymongo.ASCENDING),
                ],
                name="reference_kind_product_unique",
                unique=True,
                partialFilterExpression={"reference": {"$type": "string"}},
            ),
        ]


class StockReferenceState(enum.StrEnum):
    TAKEN = "TAKEN"
    GIVEN_BACK = "GIVEN_BACK"


class StockReference(Document):
    """What became of the stock of one reference (an order or reservation): one document per
    reference, written by every take and give-back of it. Two takes for the same reference, or a
    take and a give-back, write the same document and so conflict, however different their lines;
    a reference given back (or cancelled before it took anything) never takes again."""

    reference: str
    state: StockReferenceState
    updated_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "stock_references"
        indexes = [
            IndexModel([("reference", pymongo.ASCENDING)], name="reference_unique", unique=True)
        ]


CATALOG_DOCUMENTS: list[type[Document]] = [Category, Product, StockMovement, StockReference]
