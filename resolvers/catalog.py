"""Public catalog reads: categories, products, search, filters, sorting and pagination."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from bson import ObjectId

from documents.accounts import Role
from documents.catalog import Category, Product, ProductSortField
from documents.catalog_counts import CountedList, counted_list
from documents.errors import InvalidInputError
from documents.trusted_reads import reader
from integrations.search.engine import SearchEngine, SearchEngineUnavailableError, SearchFilters
from resolvers.accounts.viewer import current_viewer, require_admin
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page
from resolvers.product_filters import (
    ProductFilter,
    check_search,
    product_conditions,
    search_filters,
)
from resolvers.product_search import ProductPage, facet_counter, search_ordering, search_products

logger = logging.getLogger("commerce")
# Said once per process: while the worker builds the first index, every search falls back.
_UNBUILT_INDEX_LOGGED: list[bool] = []

_VALUE_TYPES: dict[ProductSortField, type] = {
    ProductSortField.NAME: str,
    ProductSortField.PRICE: int,
    ProductSortField.CREATED_AT: datetime,
    ProductSortField.RATING: float,
    ProductSortField.RELEVANCE: float,
}
_RELEVANCE_FIELD = "_score"
_CATEGORY_ORDER = Ordering("category_name", "name", 1, str)


# The direction a field sorts in when the client names none: A to Z, cheapest, newest, best rated,
# most relevant first.
NATURAL_DESCENDING = {
    ProductSortField.NAME: False,
    ProductSortField.PRICE: False,
    ProductSortField.CREATED_AT: True,
    ProductSortField.RATING: True,
    ProductSortField.RELEVANCE: True,
}


@dataclass(frozen=True)
class ProductSort:
    field: ProductSortField | None = None
    descending: bool | None = None  # None: the field's natural direction


def product_ordering(sort: ProductSort, search: str | None) -> Ordering:
    """The ordering of a product list: relevance when searching, else newest first."""
    field = sort.field or (ProductSortField.RELEVANCE if search else ProductSortField.CREATED_AT)
    descending = NATURAL_DESCENDING[field] if sort.descending is None else sort.descending
    direction = -1 if descending else 1
    name = f"{field.name.lower()}_{direction}"
    if field is ProductSortField.RELEVANCE:
        if not search:
            raise InvalidInputError("Sorting by RELEVANCE needs a search", field="sortBy")
        # Scores belong to one search: a cursor from another search would skip or repeat rows.
        name += "_" + hashlib.sha256(search.encode()).hexdigest()[:12]
        score = {"$meta": "textScore"}
        return Ordering(name, _RELEVANCE_FIELD, direction, float, computed=score)
    return Ordering(name, field.value, direction, _VALUE_TYPES[field])


async def products(
    ctx: Context,
    *,
    page: PageArgs,
    product_filter: ProductFilter,
    sort: ProductSort,
    search: str | None = None,
    category: Category | None = None,
    with_category: bool = False,
    with_subcategory: bool = False,
    categories_in_page: bool = False,
    unread_fields: Sequence[str] = (),
    with_highlights: bool = False,
) -> ProductPage:
    """A page of visible products matching the filter and search, in the requested order.

    With `category`, only the products of that category or subcategory. With `with_category`
    (`with_subcategory`), the categories (subcategories) of the page's products are loaded before
    it is returned, in one batch as they would be one by one, so `loaded_category` has them;
    with `categories_in_page` too, by the page's own command (`_page_lookups`), not one of their
    own.
    `unread_fields` are left out of the rows (the caller reads none of them, nor does anything
    else: the products are not primed into the loaders).

    With a search engine (SEARCH_ENGINE=tantivy), a storefront search is answered from its
    index (`resolvers/product_search.py`), with highlights when `with_highlights`, and every
    storefront list can count its facets there; admins' lists with unpublished products search
    with MongoDB's `$text`.
    """
    page = page.validated()
    if product_filter.include_unpublished or product_filter.include_archived:
        # An argument-level permission: Strawberry declares permissions on fields only.
        await require_admin(ctx)
    if category is not None and category.parent_id:
        product_filter = replace(product_filter, subcategory_id=category.id)
    elif category is not None:
        product_filter = replace(product_filter, category_id=category.id)
    search = (search or "").strip() or None
    admins_list = product_filter.include_unpublished or product_filter.include_archived
    engine = None if admins_list else ctx.services.search
    if engine is not None:
        filters = search_filters(ctx, product_filter)
        if search:
            joined = ["category_id"] if with_category else []
            joined += ["subcategory_id"] if with_subcategory else []
            # Highlights mark up the description the page shows: read it for them.
            unread = [
                field for field in unread_fields if not with_highlights or field != "description"
            ]
            found = await _engine_page(
                ctx, engine, page, filters, sort, search, with_highlights, joined, unread
            )
            if found is not None:
                return found
    ordering = product_ordering(sort, search)
    conditions = product_conditions(ctx, product_filter, search)
    scope = product_filter.subcategory_id or product_filter.category_id
    ctx.cache_dependencies.product_list(scope)
    if ordering.field == ProductSortField.RATING.value or product_filter.min_rating is not None:
        ctx.cache_dependencies.rated_product_list(scope)
    run = ctx.loaders.product_pipelines.load
    joined = _joined_in_command(
        ctx,
        [
            field
            for field, wanted in (
                ("category_id", with_category),
                ("subcategory_id", with_subcategory),
            )
            if wanted and categories_in_page
        ],
    )
    parse = _with_joined_categories(ctx, joined) if joined else reader(Product)
    stages = [{"$project": dict.fromkeys(unread_fields, 0)}] if unread_fields else []
    stages += _page_lookups(joined)
    result = await find_page(run, conditions, ordering, page, parse, row_stages=stages)
    if (counted := kept_count(product_filter, search)) is not None:
        result.count = partial(read_kept_count, ctx, counted)
    for _, found in result.rows if not unread_fields else ():
        ctx.loaders.product_by_id.prime(found.id, found)
    await _load_categories(ctx, result, with_category, with_subcategory)
    listed = ProductPage.of(result)
    if engine is not None:
        listed.facets = facet_counter(ctx, engine, search or "", filters)
    return listed


async def _engine_page(
    ctx: Context,
    engine: SearchEngine,
    page: PageArgs,
    filters: SearchFilters,
    sort: ProductSort,
    search: str,
    with_highlights: bool,
    joined: list[str],
    unread_fields: Sequence[str],
) -> ProductPage | None:
    """A search answered by the engine, its products read with the categories their `joined`
    fields refer to and without their `unread_fields`; None when its index is not built yet
    (the first build after a new deployment): MongoDB's `$text` answers meanwhile."""
    check_search(search)
    field = sort.field or ProductSortField.RELEVANCE
    descending = NATURAL_DESCENDING[field] if sort.descending is None else sort.descending
    ordering = search_ordering(field, descending, search)
    try:
        return await search_products(
            ctx,
            engine,
            page=page,
            filters=filters,
            ordering=ordering,
            text=search,
            with_highlights=with_highlights,
            load=partial(_products_by_ids, ctx, joined, unread_fields=unread_fields),
        )
    except SearchEngineUnavailableError:
        if not _UNBUILT_INDEX_LOGGED:
            _UNBUILT_INDEX_LOGGED.append(True)
            logger.warning("search: the index is not built yet; MongoDB's $text answers meanwhile")
        return None


async def _load_categories(
    ctx: Context, result: Page[Product], with_category: bool, with_subcategory: bool
) -> None:
    """The categories (subcategories) of a page's products, into the loader, in one batch."""
    fields = [
        field
        for field, wanted in (("category_id", with_category), ("subcategory_id", with_subcategory))
        if wanted
    ]
    await _load_related(ctx, [found for _, found in result.rows], fields)


async def _load_related(ctx: Context, products: Sequence[Product], fields: Sequence[str]) -> None:
    """The categories `products` refer to by `fields`, into the loader, in one batch."""
    related = {key for found in products for field in fields if (key := getattr(found, field))}
    if related:
        await ctx.loaders.category_by_id.load_many(list(related))


def _joined_in_command(ctx: Context, fields: list[str]) -> list[str]:
    """Which of `fields` a product read joins its categories by, in its own command: none while
    the process keeps the categories it read (loaders/category_cache.py), as the loader then
    has them without asking MongoDB; else all of them, as asking apart costs a round trip."""
    return [] if ctx.loaders.kept_categories() is not None else fields


def _lookup(field: str) -> dict[str, Any]:
    """The category a product's `field` refers to, as a list of one under `_<field>`."""
    collection = Category.get_collection_name()
    return {
        "$lookup": {
            "from": collection,
            "localField": field,
            "foreignField": "_id",
            "as": f"_{field}",
        }
    }


def _page_lookups(fields: list[str]) -> list[dict[str, Any]]:
    """The categories the rows of a page refer to by `fields`, each looked up once for the
    whole page: the rows gathered into one, the categories joined to it, the rows given back,
    the first with every category under `_<field>` (`_with_joined_categories` reads them from
    any row) and the others with none. A `$lookup` row by row costs mongod a query each (a
    page of 20 rows: about a millisecond of its CPU a field; this way, a tenth of that), and
    would repeat a category in every row that refers to it."""
    if not fields:
        return []
    collection = Category.get_collection_name()
    gathered = {f"_{field}": {"$addToSet": f"${field}"} for field in fields}
    first_only = {
        f"_{field}": {"$cond": [{"$eq": ["$at", 0]}, f"$_{field}", []]} for field in fields
    }
    return [
        {"$group": {"_id": None, "row": {"$push": "$$ROOT"}, **gathered}},
        *(
            {
                "$lookup": {
                    "from": collection,
                    "localField": f"_{field}",
                    "foreignField": "_id",
                    "as": f"_{field}",
                }
            }
            for field in fields
        ),
        {"$unwind": {"path": "$row", "includeArrayIndex": "at"}},
        {"$replaceWith": {"$mergeObjects": ["$row", first_only]}},
    ]


def _with_joined_categories(ctx: Context, fields: list[str]) -> Callable[[dict[str, Any]], Product]:
    """A product from its row, the categories joined to it (`_lookup`, or `_page_lookups` in a
    page's first row) primed into the loader and recorded as read, as the loader records what it
    loads."""
    build_product, build_category = reader(Product), reader(Category)
    collection = Category.get_collection_name()

    built: set[Any] = set()

    def parse(row: dict[str, Any]) -> Product:
        for field in fields:
            for stored in row.get(f"_{field}", ()):
                if stored["_id"] in built:  # many products, few categories: each built once
                    continue
                built.add(stored["_id"])
                category = build_category(stored)
                ctx.cache_dependencies(collection, "id", category.id)
                ctx.loaders.category_by_id.prime(category.id, category)
        return build_product(row)

    return parse


async def _products_by_ids(
    ctx: Context, joined: list[str], ids: list[ObjectId], *, unread_fields: Sequence[str] = ()
) -> list[Product | None]:
    """Products by id, in the order given (None for one not found), and the categories their
    `joined` fields refer to, in one command; into the loaders and recorded as read, as the
    loaders record what they load. With `unread_fields`, those stored fields are left out of
    the products, which then stay out of the product loader (the caller reads none of them)."""
    collection = Product.get_collection_name()
    for id_ in ids:
        ctx.cache_dependencies(collection, "id", id_)
    pipeline: list[dict[str, Any]] = [{"$match": {"_id": {"$in": ids}}}]
    if unread_fields:
        pipeline.append({"$project": dict.fromkeys(unread_fields, 0)})
    in_command = _joined_in_command(ctx, joined)
    pipeline += _page_lookups(in_command)
    parse = _with_joined_categories(ctx, in_command)
    found: dict[object, Product] = {}
    for row in await ctx.loaders.product_pipelines.load(pipeline):
        product = parse(row)
        if not unread_fields:
            ctx.loaders.product_by_id.prime(product.id, product)
        found[product.id] = product
    if len(in_command) < len(joined):
        await _load_related(ctx, list(found.values()), joined)
    return [found.get(id_) for id_ in ids]


async def prime_product_with_categories(
    ctx: Context, *, product_id: ObjectId | None, slug: str | None, fields: Sequence[str]
) -> None:
    """Load one product (by id or slug) and the categories its `fields` (`category_id`,
    `subcategory_id`) refer to in one command, into the loaders `product` and `category_by_id`
    read, each recorded as read as the loaders record what they load (the categories from the
    loader while the process keeps them). Nothing is primed when
    there is no such product: the loaders then look, as usual."""
    if (product_id is None) == (slug is None):
        return
    key_field, key = ("id", product_id) if product_id is not None else ("slug", slug)
    match = {"_id": product_id} if product_id is not None else {"slug": slug}
    joined = _joined_in_command(ctx, list(fields))
    pipeline = [{"$match": match}, {"$limit": 1}, *(_lookup(field) for field in joined)]
    rows = await ctx.loaders.product_pipelines.load(pipeline)
    if not rows:
        return
    found = _with_joined_categories(ctx, joined)(rows[0])
    ctx.cache_dependencies(Product.get_collection_name(), key_field, key)
    loader = ctx.loaders.product_by_id if product_id is not None else ctx.loaders.product_by_slug
    loader.prime(key, found)
    if len(joined) < len(fields):
        await _load_related(ctx, [found], fields)


def kept_count(product_filter: ProductFilter, search: str | None) -> CountedList | None:
    """The kept count that answers a storefront list's `totalCount`, if one does: a scope
    with at most one of brand, stock and minimum rating (documents/catalog_counts.py). Others
    (a price range, a search, admins' lists, a category and a subcategory together) are counted
    over the listing indexes."""
    if (
        search
        or product_filter.include_unpublished
        or product_filter.include_archived
        or product_filter.price_min is not None
        or product_filter.price_max is not None
        or (product_filter.category_id and product_filter.subcategory_id)
    ):
        return None
    return counted_list(
        product_filter.subcategory_id or product_filter.category_id,
        brand=product_filter.brand,
        in_stock=product_filter.in_stock,
        min_rating=product_filter.min_rating,
    )


async def read_kept_count(ctx: Context, counted: CountedList) -> int:
    """A kept count, read through the request's batching loader (nested lists: one command)."""
    rows = await ctx.loaders.catalog_count_pipelines.load(
        [{"$match": {"_id": {"$in": counted.keys}}}]
    )
    return counted.total({row["_id"]: row["total"] for row in rows})


async def product(
    ctx: Context, *, product_id: ObjectId | None = None, slug: str | None = None
) -> Product | None:
    """One product by id or slug (exactly one of them): visible ones for everyone, any for admins."""
    require_one_key(product_id, slug)
    if product_id is not None:
        found = await ctx.loaders.product_by_id.load(product_id)
    else:
        found = await ctx.loaders.product_by_slug.load(slug)
    if found is None or found.is_visible:
        return found
    viewer = await current_viewer(ctx)
    return found if viewer is not None and viewer.user.role is Role.ADMIN else None


async def categories(ctx: Context, *, page: PageArgs) -> Page[Category]:
    """Top-level categories in name order."""
    page = page.validated()
    ctx.cache_dependencies(Category.get_collection_name(), "parent_id", None)
    run = ctx.loaders.category_pipelines.load
    top_level = [{"parent_id": None}]
    return await find_page(run, top_level, _CATEGORY_ORDER, page, reader(Category))


async def category(
    ctx: Context, *, category_id: ObjectId | None = None, slug: str | None = None
) -> Category | None:
    """One category or subcategory by id or slug (exactly one of them)."""
    require_one_key(category_id, slug)
    if category_id is not None:
        return await ctx.loaders.category_by_id.load(category_id)
    return await ctx.loaders.category_by_slug.load(slug)


async def subcategories(ctx: Context, parent: Category) -> list[Category]:
    """The subcategories of a top-level category, by name."""
    return await ctx.loaders.subcategories_by_parent_id.load(parent.id)


async def category_by_id(ctx: Context, category_id: ObjectId | None) -> Category | None:
    """A related category (a product's category, a subcategory's parent)."""
    return None if category_id is None else await ctx.loaders.category_by_id.load(category_id)


def loaded_category(ctx: Context, category_id: ObjectId | None) -> tuple[bool, Category | None]:
    """A related category that this request has already loaded: `(True, category)`, or
    `(False, None)` when it has to be loaded (`category_by_id`)."""
    if category_id is None:
        return True, None
    found: tuple[bool, Category | None] = ctx.loaders.category_by_id.loaded(category_id)
    return found


def require_one_key(object_id: object | None, slug: str | None) -> None:
    """A single lookup takes an id or a slug, exactly one. Check it before decoding the id, so a
    client that sent both (or neither) hears that, not what is wrong with the id."""
    if (object_id is None) == (slug is None):
        raise InvalidInputError("Pass exactly one of id and slug", field="id")
