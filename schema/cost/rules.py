"""How each field is priced where the general rules do not say enough: the sizes of plain lists,
and the fields that cost more (or less) than an object.

The general rules (README, "Query cost"): scalars and enums cost 0, an object 1, a connection 2
plus its page size times one edge, a mutation 10. A plain list costs 1 plus its size times what
one element's selection costs: its elements come with it (embedded in the parent's document, or
in one batched lookup), so only what each element pulls in on top is multiplied. The size is the
bound the data keeps, from the settings where there is one, else a nominal size (the actual cost
counts what came back, and the client's bucket is settled on it); `test_query_cost` checks that
every list of objects in the schema has an entry here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from documents.orders import OrderStatus
from resolvers.catalog_admin.transfer.formats import MAX_REPORTED_ROWS
from resolvers.orders.sales import MAX_DAYS, TOP_PRODUCTS
from resolvers.product_search import (
    BRAND_FACET_SIZE,
    MAX_PRICE_BANDS,
    MAX_SUGGESTIONS,
    RATING_LEVELS,
)
from schema.node import MAX_NODES
from schema.search import SearchHighlightField
from settings import Settings

OBJECT_COST = 1
# The page's query and its count.
CONNECTION_COST = 2
# After Shopify: a write costs more than a read of what it returns.
MUTATION_COST = 10
# A category's children are few and shown together (README, "Decisions and limits"), but nothing
# bounds them: this is what a query is charged for them, whatever the shop holds.
NOMINAL_SUBCATEGORIES = 10
# How many problems one mutation reports at most, nominally: one per input field.
NOMINAL_ERRORS = 10
# Orders are listed up to 100 at a time, and at CART_MAX_LINES (50) lines each a page of orders
# with their products would be priced over MAX_QUERY_COST; few orders have more than a handful
# of lines. Longer ones are charged when they come back (the bucket settles on the actual cost).
NOMINAL_ORDER_LINES = 10
# Payment attempts and refunds of one order, and a user's signed-in devices: a few, nominally.
NOMINAL_PAYMENT_RECORDS = 10
NOMINAL_SESSIONS = 20
# `__schema` answers from memory and graphql-core's MaxIntrospectionDepthRule bounds its nesting;
# GraphiQL's full introspection of this schema is about 2,600 objects and 50 ms of CPU, which is
# what a page of 100 products with a few relations costs.
INTROSPECTION_COST = 500
# Facet counts: up to five aggregations over every product the list matches (one more for each
# filter set), several milliseconds at a million products: twice a write.
FACETS_COST = 2 * MUTATION_COST
# Top-level categories are few; the facet lists those with products.
NOMINAL_TOP_CATEGORIES = 20
# The matched words in one highlighted fragment, nominally.
NOMINAL_HIGHLIGHT_RANGES = 10
TYPE_INTROSPECTION_COST = 10


@dataclass(frozen=True)
class FieldCost:
    """How one field is priced where the general rules do not fit.

    `cost` is the field's own cost (default: 0 for a scalar, 1 for an object, 2 for a connection,
    10 for a mutation); with `whole`, it covers the field's selection too. `size` bounds a plain
    list, as a number or from the field's arguments. `per_element` is added for each element: for
    lists whose elements are lookups of their own (`nodes(ids:)`).
    """

    cost: int | None = None
    size: int | Callable[[Mapping[str, Any]], int] | None = None
    per_element: int = 0
    whole: bool = False


def _suggestions(arguments: Mapping[str, Any]) -> int:
    return min(int(arguments.get("first") or 0), MAX_SUGGESTIONS)


def _node_ids(arguments: Mapping[str, Any]) -> int:
    ids = arguments.get("ids") or ()
    return min(len(ids), MAX_NODES)


@functools.lru_cache(maxsize=8)
def _field_costs(
    max_product_images: int, cart_max_lines: int, max_addresses: int
) -> dict[str, FieldCost]:
    return {
        # Keyed by "Type.field"; "*.field" applies to that field of every type.
        "Query.__schema": FieldCost(cost=INTROSPECTION_COST, whole=True),
        "Query.__type": FieldCost(cost=TYPE_INTROSPECTION_COST, whole=True),
        "Query.nodes": FieldCost(size=_node_ids, per_element=OBJECT_COST),
        "Category.subcategories": FieldCost(size=NOMINAL_SUBCATEGORIES),
        "Product.images": FieldCost(size=max_product_images),
        "Product.ratingHistogram": FieldCost(size=5),
        "Cart.lines": FieldCost(size=cart_max_lines),
        "Order.lines": FieldCost(size=NOMINAL_ORDER_LINES),
        "OrderError.shortLines": FieldCost(size=cart_max_lines),
        # The transitions table has no cycles: an order moves at most once into each status.
        "Order.history": FieldCost(size=len(OrderStatus)),
        "OrderPayment.attempts": FieldCost(size=NOMINAL_PAYMENT_RECORDS),
        "OrderPayment.refunds": FieldCost(size=NOMINAL_PAYMENT_RECORDS),
        "SalesSummary.byDay": FieldCost(size=MAX_DAYS),
        "SalesSummary.topProducts": FieldCost(size=TOP_PRODUCTS),
        "ImportProductsPayload.rows": FieldCost(size=MAX_REPORTED_ROWS),
        "User.addresses": FieldCost(size=max_addresses),
        "*.addresses": FieldCost(size=max_addresses),
        "User.sessions": FieldCost(size=NOMINAL_SESSIONS),
        "*.errors": FieldCost(size=NOMINAL_ERRORS),
        # Search (README, "Search"): facet counts aggregate over every match.
        "ProductConnection.facets": FieldCost(cost=FACETS_COST),
        "ProductFacets.brands": FieldCost(size=BRAND_FACET_SIZE),
        "ProductFacets.categories": FieldCost(size=NOMINAL_TOP_CATEGORIES),
        "ProductFacets.priceBands": FieldCost(size=MAX_PRICE_BANDS),
        "ProductFacets.ratings": FieldCost(size=len(RATING_LEVELS)),
        "ProductEdge.highlights": FieldCost(size=len(SearchHighlightField)),
        "SearchHighlight.ranges": FieldCost(size=NOMINAL_HIGHLIGHT_RANGES),
        # A search of its own: charged as a connection is.
        "Query.searchSuggestions": FieldCost(cost=CONNECTION_COST, size=_suggestions),
    }


def field_costs(settings: Settings) -> Mapping[str, FieldCost]:
    """The pricing of the fields the general rules do not cover, with the bounds `settings` keep."""
    return _field_costs(
        settings.max_product_images, settings.cart_max_lines, settings.max_addresses
    )
