"""Product search through the search engine (README, "Search"): a page of ids from the index,
the products themselves from MongoDB through the loaders; facet counts; suggestions.

The index holds the visible products and lags MongoDB by up to one commit of the follower, so a
hit whose product is no longer visible (unpublished or deleted since) is left out of its page:
MongoDB has the last word on what the storefront shows. Every answer read from the index records
the query cache's search tag, which the follower retires at each commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bson import ObjectId

from documents.catalog import Category, Product, ProductSortField
from documents.catalog_rules import description_text
from documents.errors import InvalidInputError, ServiceUnavailableError
from documents.money import to_minor_units
from integrations.search.engine import (
    Facets,
    Highlight,
    Position,
    PriceBand,
    SearchEngine,
    SearchEngineUnavailableError,
    SearchFilters,
    SearchOrder,
    SearchPage,
    SearchRequest,
    Suggestion,
    SuggestionKind,
)

# Re-exported for the schema's layer (query cost), which names no integration itself.
from integrations.search.tantivy_facets import BRAND_FACET_SIZE as BRAND_FACET_SIZE
from integrations.search.tantivy_facets import RATING_LEVELS as RATING_LEVELS
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs

logger = logging.getLogger("commerce")


MAX_PREFIX_LENGTH = 100
MAX_SUGGESTIONS = 20
MAX_PRICE_BANDS = 10
# Highlights of a page with up to this many characters of names and descriptions are worked out
# on the event loop, longer ones in a thread.
INLINE_HIGHLIGHT_CHARS = 20_000
# In the shop currency's major units, when a client asks for price facets without its own bands.
DEFAULT_PRICE_BANDS = ((0, 500), (500, 1000), (1000, 2500), (2500, 5000), (5000, None))

_ENGINE_ORDERS = {
    ProductSortField.RELEVANCE: SearchOrder.RELEVANCE,
    ProductSortField.PRICE: SearchOrder.PRICE,
    ProductSortField.CREATED_AT: SearchOrder.CREATED_AT,
    ProductSortField.RATING: SearchOrder.RATING,
}
# Cursor values as the engine keeps them: created_at in epoch milliseconds, as cursors of the
# MongoDB lists write it, so the two kinds of cursor read the same.
_POSITION_TYPES = {
    SearchOrder.RELEVANCE: float,
    SearchOrder.PRICE: int,
    SearchOrder.CREATED_AT: int,
    SearchOrder.RATING: float,
}
_UNAVAILABLE = "Search is being prepared; try again shortly"


@dataclass(frozen=True)
class PriceBandArg:
    """A price band as the client gave it, in major units of the shop currency; max None is
    unbounded."""

    min: Decimal
    max: Decimal | None = None


@dataclass
class ProductPage(Page[Product]):
    """A page of products, with what a search adds: each product's highlighted fragments (by id)
    and its facet counts, computed when asked for."""

    highlights: dict[ObjectId, dict[str, Highlight]] = field(default_factory=dict)
    facets: Callable[[tuple[PriceBand, ...]], Awaitable[Facets]] | None = None

    @classmethod
    def of(cls, page: Page[Product]) -> ProductPage:
        return cls(page.rows, page.has_next_page, page.has_previous_page, page.count)


def search_ordering(field_name: ProductSortField, descending: bool, text: str) -> Ordering:
    """The cursor ordering of an engine search; InvalidInputError for an order it does not page
    (by name; relevance worst first)."""
    order = _ENGINE_ORDERS.get(field_name)
    if order is None:
        raise InvalidInputError(
            "A search is sorted by RELEVANCE, PRICE, CREATED_AT or RATING", field="sortBy"
        )
    if order is SearchOrder.RELEVANCE:
        if not descending:
            raise InvalidInputError("RELEVANCE orders best matches first only", field="sortBy")
        # A relevance position (level and static rank: integrations/search/tantivy_queries.py)
        # belongs to one search: a cursor from another search would skip or repeat rows.
        # Named as MongoDB's `$text` lists name theirs, which answer while there is no index.
        name = "relevance_-1_" + hashlib.sha256(text.encode()).hexdigest()[:12]
        return Ordering(name, order.value, -1, float)
    direction = -1 if descending else 1
    name = f"{field_name.name.lower()}_{direction}"
    return Ordering(name, order.value, direction, _POSITION_TYPES[order])


def _position_value(order: SearchOrder, value: object) -> float | int:
    if _POSITION_TYPES[order] is float:
        return float(value)  # type: ignore[arg-type]
    if hasattr(value, "timestamp"):  # a created_at cursor of a MongoDB list
        return round(value.timestamp() * 1000)
    return int(value)  # type: ignore[call-overload]


async def search_products(
    ctx: Context,
    engine: SearchEngine,
    *,
    page: PageArgs,
    filters: SearchFilters,
    ordering: Ordering,
    text: str,
    with_highlights: bool,
    load: Callable[[list[ObjectId]], Awaitable[list[Product | None]]] | None = None,
) -> ProductPage:
    """A forward page of the visible products matching `text` and `filters`, in `ordering`
    (from `search_ordering`), read by `load` (by default the product loader). Raises
    SearchEngineUnavailableError when the index is not built."""
    if not page.forward:
        raise InvalidInputError("A search pages forward: use first and after", field="last")
    order = SearchOrder(ordering.field)
    cursor = ordering.decode(page.after, field="after")
    after = None
    if cursor is not None:
        after = Position(_position_value(order, cursor.value), str(cursor.id))
    request = SearchRequest(
        text=text,
        filters=filters,
        order=order,
        descending=ordering.direction == -1,
        limit=page.limit,
        after=after,
    )
    found = await _search(ctx, engine, request)
    ids = [ObjectId(hit.id) for hit in found.hits]
    products = await (load or ctx.loaders.product_by_id.load_many)(ids) if ids else []
    rows = []
    for hit, product in zip(found.hits, products, strict=True):
        if product is None or not product.is_visible:
            continue  # changed since the index's last commit
        rows.append((ordering.encode(hit.position.value, product.id), product))
    highlights = {}
    if with_highlights and rows:
        shown = [product for _, product in rows]
        if sum(len(product.name) + len(product.description) for product in shown) <= (
            INLINE_HIGHLIGHT_CHARS
        ):
            # A page of storefront cards: well under a millisecond, cheaper than a thread.
            highlights = _highlights(found.highlight, shown)
        else:  # up to 100 descriptions of up to 20,000 characters
            highlights = await asyncio.to_thread(_highlights, found.highlight, shown)

    async def count() -> int:
        counted = await _search(ctx, engine, _counting(request))
        return counted.total or 0

    result = ProductPage(rows, found.has_more, page.after is not None, count, highlights)
    result.facets = facet_counter(ctx, engine, text, filters)
    return result


def _highlights(
    highlight: Callable[[str, str], dict[str, Highlight]], products: list[Product]
) -> dict[ObjectId, dict[str, Highlight]]:
    # Of the text shown, MongoDB's: the index's may be a commit older.
    marked = {
        product.id: highlight(product.name, description_text(product.description))
        for product in products
    }
    return {id_: found for id_, found in marked.items() if found and id_ is not None}


def _counting(request: SearchRequest) -> SearchRequest:
    return SearchRequest(
        text=request.text, filters=request.filters, with_total=True, with_page=False
    )


def facet_counter(
    ctx: Context, engine: SearchEngine, text: str, filters: SearchFilters
) -> Callable[[tuple[PriceBand, ...]], Awaitable[Facets]]:
    """What answers a list's facet counts over `bands`: the text (may be empty: the whole
    list) and the filters, read from the index; once per distinct bands (aliases of one
    list's `facets` share it)."""
    counted: dict[tuple[PriceBand, ...], asyncio.Future[Facets]] = {}

    async def count(bands: tuple[PriceBand, ...]) -> Facets:
        request = SearchRequest(
            text=text, filters=filters, facet_price_bands=bands, with_page=False
        )
        found = await _search(ctx, engine, request)
        assert found.facets is not None
        return found.facets

    async def facets(bands: tuple[PriceBand, ...]) -> Facets:
        if bands not in counted:
            counted[bands] = asyncio.ensure_future(count(bands))
        return await asyncio.shield(counted[bands])

    return facets


async def _search(ctx: Context, engine: SearchEngine, request: SearchRequest) -> SearchPage:
    ctx.cache_dependencies.search_results()
    return await engine.search(request)


def price_bands(ctx: Context, bands: list[PriceBandArg] | None) -> tuple[PriceBand, ...]:
    """The bands of a price facet in minor units; the default ones when the client gave none."""
    currency = ctx.settings.shop_currency
    given = bands
    if given is None:
        given = [
            PriceBandArg(Decimal(low), None if high is None else Decimal(high))
            for low, high in DEFAULT_PRICE_BANDS
        ]
    if not 1 <= len(given) <= MAX_PRICE_BANDS:
        raise InvalidInputError(
            f"priceBands takes 1 to {MAX_PRICE_BANDS} bands", field="priceBands"
        )
    converted = []
    for band in given:
        low = to_minor_units(band.min, currency, field="priceBands")
        high = None if band.max is None else to_minor_units(band.max, currency, field="priceBands")
        if low < 0 or (high is not None and high <= low):
            raise InvalidInputError(
                "A price band needs 0 <= min < max (max may be left out)", field="priceBands"
            )
        converted.append(PriceBand(low, high))
    return tuple(converted)


async def facet_categories(ctx: Context, facets: Facets) -> list[tuple[Category, int]]:
    """The category facet's categories (those still there), with their counts."""
    ids = [ObjectId(count.value) for count in facets.categories if ObjectId.is_valid(count.value)]
    found = await ctx.loaders.category_by_id.load_many(ids) if ids else []
    by_id = {category.id: category for category in found if category is not None}
    return [
        (by_id[ObjectId(count.value)], count.count)
        for count in facets.categories
        if ObjectId.is_valid(count.value) and ObjectId(count.value) in by_id
    ]


async def suggestions(ctx: Context, prefix: str, first: int) -> list[Suggestion]:
    """Autocomplete for what a shopper is typing: product names, brands and categories."""
    if not 1 <= first <= MAX_SUGGESTIONS:
        raise InvalidInputError(f"first must be between 1 and {MAX_SUGGESTIONS}", field="first")
    if len(prefix) > MAX_PREFIX_LENGTH:
        raise InvalidInputError(
            f"prefix is limited to {MAX_PREFIX_LENGTH} characters", field="prefix"
        )
    engine = ctx.services.search
    if engine is None:
        return []  # SEARCH_ENGINE=mongo: $text completes no prefix
    ctx.cache_dependencies.search_results()
    try:
        found = await engine.suggest(prefix, first)
    except SearchEngineUnavailableError:
        raise ServiceUnavailableError(_UNAVAILABLE) from None
    product_ids = [ObjectId(s.id) for s in found if s.kind is SuggestionKind.PRODUCT and s.id]
    products = await ctx.loaders.product_by_id.load_many(product_ids) if product_ids else []
    visible = {product.id for product in products if product is not None and product.is_visible}
    return [
        s
        for s in found
        if s.kind is not SuggestionKind.PRODUCT or (s.id and ObjectId(s.id) in visible)
    ]


async def facets_of(
    ctx: Context, page: Page[Product], bands: tuple[PriceBand, ...]
) -> Facets | None:
    """A product list's facet counts; None where no search index is kept (SEARCH_ENGINE=mongo);
    ServiceUnavailableError while the index is being built."""
    if ctx.services.search is None:
        return None
    counter = page.facets if isinstance(page, ProductPage) else None
    if counter is None:
        raise InvalidInputError(
            "Facet counts cover the storefront's visible products only", field="filter"
        )
    try:
        return await counter(bands)
    except SearchEngineUnavailableError:
        raise ServiceUnavailableError(_UNAVAILABLE) from None
