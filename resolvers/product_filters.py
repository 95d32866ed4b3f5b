"""The storefront's product filters: validated, and as MongoDB conditions or as the search
engine's filters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bson import ObjectId

from documents.catalog import VISIBLE_PRODUCTS
from documents.errors import InvalidInputError
from documents.money import to_minor_units
from documents.text import is_visible_text
from integrations.search.engine import SearchFilters
from resolvers.context import Context

MAX_SEARCH_LENGTH = 200
MAX_BRAND_LENGTH = 100


@dataclass(frozen=True)
class ProductFilter:
    """Storefront product filters; ids are already decoded from global IDs."""

    category_id: ObjectId | None = None
    subcategory_id: ObjectId | None = None
    brand: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    min_rating: float | None = None
    # Admins only. Archived products are unpublished too, so including them includes those.
    include_unpublished: bool = False
    include_archived: bool = False


def product_conditions(
    ctx: Context, product_filter: ProductFilter, search: str | None
) -> list[dict[str, Any]]:
    """Validate the filter and turn it into MongoDB conditions over visible products."""
    conditions: list[dict[str, Any]] = [VISIBLE_PRODUCTS]
    if product_filter.include_archived:
        conditions = [{"published": {"$in": [True, False]}}]
    elif product_filter.include_unpublished:
        conditions = [{"published": {"$in": [True, False]}, "archived_at": None}]
    if search:
        check_search(search)
        conditions.append({"$text": {"$search": search}})
    if product_filter.category_id:
        conditions.append({"category_id": product_filter.category_id})
    if product_filter.subcategory_id:
        conditions.append({"subcategory_id": product_filter.subcategory_id})
    check_filter(product_filter)
    if product_filter.brand is not None:
        conditions.append({"brand": product_filter.brand})
    low, high = price_bounds(ctx, product_filter)
    bounds = {op: amount for op, amount in (("$gte", low), ("$lte", high)) if amount is not None}
    if bounds:
        conditions.append({"final_price": bounds})
    if product_filter.in_stock is not None:
        conditions.append({"stock": {"$gt": 0} if product_filter.in_stock else 0})
    if product_filter.min_rating is not None:
        conditions.append({"rating_average": {"$gte": product_filter.min_rating}})
    return conditions


def check_search(search: str) -> None:
    if len(search) > MAX_SEARCH_LENGTH or not is_visible_text(search):
        raise InvalidInputError(
            f"search takes up to {MAX_SEARCH_LENGTH} visible characters", field="search"
        )


def check_filter(product_filter: ProductFilter) -> None:
    """Refuse a brand or a minimum rating out of bounds."""
    if product_filter.brand is not None and len(product_filter.brand) > MAX_BRAND_LENGTH:
        raise InvalidInputError(f"brand is limited to {MAX_BRAND_LENGTH} characters", field="brand")
    if product_filter.min_rating is not None and not 0 <= product_filter.min_rating <= 5:
        raise InvalidInputError("minRating must be between 0 and 5", field="minRating")


def price_bounds(ctx: Context, product_filter: ProductFilter) -> tuple[int | None, int | None]:
    """The filter's price range in minor units (inclusive; None: unbounded), validated."""
    currency = ctx.settings.shop_currency
    bounds = []
    for name, amount in (
        ("priceMin", product_filter.price_min),
        ("priceMax", product_filter.price_max),
    ):
        minor_units = None
        if amount is not None:
            minor_units = to_minor_units(amount, currency, field=name)
            if minor_units < 0:
                raise InvalidInputError(f"{name} cannot be negative", field=name)
        bounds.append(minor_units)
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise InvalidInputError("priceMin is greater than priceMax", field="priceMin")
    return low, high


def search_filters(ctx: Context, product_filter: ProductFilter) -> SearchFilters:
    """The storefront filter as the search engine takes it, validated."""
    check_filter(product_filter)
    low, high = price_bounds(ctx, product_filter)
    return SearchFilters(
        category_id=_hex(product_filter.category_id),
        subcategory_id=_hex(product_filter.subcategory_id),
        brand=product_filter.brand,
        price_min=low,
        price_max=high,
        in_stock=product_filter.in_stock,
        min_rating=product_filter.min_rating,
    )


def _hex(object_id: ObjectId | None) -> str | None:
    return None if object_id is None else str(object_id)
