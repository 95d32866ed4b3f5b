"""Public catalog types and queries: categories, products, money and images."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from bson import ObjectId
from strawberry import relay
from strawberry.types.nodes import SelectedField

from documents import catalog as documents
from documents.common import stored_id
from documents.reviews.ratings import display_average
from resolvers import catalog as resolvers
from resolvers import product_filters, product_search
from resolvers.catalog_admin.products import stock_movements
from resolvers.context import Context
from resolvers.orders.reads import product_orders
from resolvers.pagination import Page, PageArgs
from resolvers.reviews import product_ratings, product_reviews
from schema.catalog_admin.types import StockMovement, StockMovementConnection
from schema.common import Image, Money
from schema.document_fields import node_for, read_from_document
from schema.ids import decode_global_id

if TYPE_CHECKING:
    from schema.orders.types import OrderConnection
    from schema.reviews import ReviewConnection
from schema.info import Info
from schema.pagination import (
    AfterArg,
    BeforeArg,
    CountedConnection,
    FirstArg,
    LastArg,
    page_info,
)
from schema.permissions import IsAdmin
from schema.ratings import RatingBucket, ReviewSortOrder
from schema.search import (
    PriceBandsArg,
    ProductFacets,
    SearchHighlight,
    price_bands_of,
)


@strawberry.enum(description="What a product list is ordered by.")
class ProductSortField(enum.Enum):
    NAME = strawberry.enum_value("NAME", description="The product's name.")
    PRICE = strawberry.enum_value("PRICE", description="The final price, after discount.")
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was created.")
    RATING = strawberry.enum_value("RATING", description="The average review rating.")
    RELEVANCE = strawberry.enum_value(
        "RELEVANCE", description="How well a product matches `search`; needs a search."
    )


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest, earliest or A first.")
    DESC = strawberry.enum_value("DESC", description="Largest, latest or Z first.")


@strawberry.input(description="How to order a product list.")
class ProductSortInput:
    field: ProductSortField = strawberry.field(description="The value to order by.")
    direction: SortDirection | None = strawberry.field(
        default=None,
        description=(
            "Ascending or descending. Omitted: the field's natural order: A to Z, cheapest, "
            "newest, best rated, most relevant first."
        ),
    )


@strawberry.input(description="Conditions a listed product must meet; all of them are combined.")
class ProductFilter:
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only products of this top-level category."
    )
    subcategory_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only products of this subcategory."
    )
    brand: str | None = strawberry.field(default=None, description="Exact brand name.")
    price_min: Decimal | None = strawberry.field(
        default=None, description="Lowest final price, inclusive, in the shop currency."
    )
    price_max: Decimal | None = strawberry.field(
        default=None, description="Highest final price, inclusive, in the shop currency."
    )
    in_stock: bool | None = strawberry.field(
        default=None, description="true: only products in stock; false: only sold-out ones."
    )
    min_rating: float | None = strawberry.field(
        default=None, description="Lowest average rating, 0 to 5."
    )
    include_unpublished: bool = strawberry.field(
        default=False, description="Admins only: also unpublished (not archived) products."
    )
    include_archived: bool = strawberry.field(
        default=False, description="Admins only: also archived (and unpublished) products."
    )


def _domain_filter(product_filter: ProductFilter | None) -> product_filters.ProductFilter:
    if product_filter is None:
        return product_filters.ProductFilter()
    return product_filters.ProductFilter(
        category_id=decode_global_id(product_filter.category_id, "Category", field="categoryId"),
        subcategory_id=decode_global_id(
            product_filter.subcategory_id, "Category", field="subcategoryId"
        ),
        brand=product_filter.brand,
        price_min=product_filter.price_min,
        price_max=product_filter.price_max,
        in_stock=product_filter.in_stock,
        min_rating=product_filter.min_rating,
        include_unpublished=product_filter.include_unpublished,
        include_archived=product_filter.include_archived,
    )


def _domain_sort(sort_by: ProductSortInput | None) -> resolvers.ProductSort:
    if sort_by is None:
        return resolvers.ProductSort()
    return resolvers.ProductSort(
        field=documents.ProductSortField[sort_by.field.name],
        descending=None if sort_by.direction is None else sort_by.direction is SortDirection.DESC,
    )


FilterArg = Annotated[ProductFilter | None, strawberry.argument(description="Filters.")]
SortArg = Annotated[
    ProductSortInput | None,
    strawberry.argument(
        description="Order; RELEVANCE when searching, else newest first (CREATED_AT DESC)."
    ),
]
SearchArg = Annotated[
    str | None,
    strawberry.argument(description="Words to search in name, brand and description."),
]


async def resolve_products(
    root: object,
    info: Info,
    first: FirstArg = None,
    after: AfterArg = None,
    last: LastArg = None,
    before: BeforeArg = None,
    filter: FilterArg = None,
    sort_by: SortArg = None,
    search: SearchArg = None,
) -> ProductConnection:
    """`Query.products`, and `Category.products` where `root` is the category."""
    return await product_connection(
        info.context,
        _selected_relations(info),
        root,
        first=first,
        after=after,
        last=last,
        before=before,
        filter=filter,
        sort_by=sort_by,
        search=search,
    )


async def product_connection(
    ctx: Context,
    related: set[str],
    root: object,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    filter: ProductFilter | None = None,
    sort_by: ProductSortInput | None = None,
    search: str | None = None,
    categories_in_page: bool = False,
    unread_fields: Sequence[str] = (),
) -> ProductConnection:
    """A page of products as `resolve_products` answers it, the page's `related` categories
    (`category`, `subcategory`) loaded with it (`categories_in_page`: by the page's command),
    the stored `unread_fields` left out; also what compiled reads call
    (`schema/compiled_reads/`)."""
    page = await resolvers.products(
        ctx,
        page=PageArgs(first=first, after=after, last=last, before=before),
        product_filter=_domain_filter(filter),
        sort=_domain_sort(sort_by),
        search=search,
        category=root._document if isinstance(root, Category) else None,
        with_category="category" in related,
        with_subcategory="subcategory" in related,
        categories_in_page=categories_in_page,
        unread_fields=unread_fields,
        with_highlights="highlights" in related,
    )
    return ProductConnection.from_page(page, Product.from_document)


def _certain_fields(selections: list[Any]) -> list[SelectedField]:
    """The fields of a selection set that every execution selects: those in fragments included,
    those a directive (`@skip`, `@include`) may leave out left out."""
    fields = []
    for selection in selections:
        if selection.directives:
            continue
        if isinstance(selection, SelectedField):
            fields.append(selection)
        else:  # a fragment: its selections belong to the same object
            fields += _certain_fields(selection.selections)
    return fields


def _selected_relations(info: Info) -> set[str]:
    """Which of `category` and `subcategory` the query surely selects on every product of the
    page (`edges { node { ... } }`), and `highlights` if it does on every edge. Loading one the
    query does not read would record a cache dependency it does not have; one left out here is
    loaded when its field asks."""
    fields = _certain_fields([s for field in info.selected_fields for s in field.selections])
    selected = set()
    for name in ("edges", "node"):
        below = [field.selections for field in fields if field.name == name]
        fields = _certain_fields([selection for group in below for selection in group])
        if name == "edges":
            selected = {field.name for field in fields} & {"highlights"}
    return selected | {field.name for field in fields} & {"category", "subcategory"}


@strawberry.type(description="A category of the catalog, or a subcategory of one.")
class Category(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Unique, URL-safe key.")
    description: str = strawberry.field(description="Description (sanitized rich text).")
    image: Image | None = strawberry.field(description="Banner or tile image.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    _document: strawberry.Private[documents.Category]

    @classmethod
    def from_document(cls, category: documents.Category) -> Category:
        return node_for(cls, category)

    @strawberry.field(description="The parent category; null for a top-level category.")
    async def parent(self, info: Info) -> Category | None:
        parent = await resolvers.category_by_id(info.context, self._document.parent_id)
        return Category.from_document(parent) if parent else None

    @strawberry.field(description="The subcategories, by name; empty for a subcategory.")
    async def subcategories(self, info: Info) -> list[Category]:
        children = await resolvers.subcategories(info.context, self._document)
        return [Category.from_document(child) for child in children]

    products: ProductConnection = strawberry.field(
        resolver=resolve_products,
        description="The products in this category or subcategory.",
    )


@strawberry.type(description="A product of the catalog.")
class Product(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="Display name.")
    slug: str = strawberry.field(description="Unique, URL-safe key.")
    description: str = strawberry.field(description="Description (sanitized rich text).")
    brand: str = strawberry.field(description="Brand name.")
    price: Money = strawberry.field(description="List price, before discount.")
    discount_percent: int = strawberry.field(description="Discount off the list price, 0 to 90.")
    final_price: Money = strawberry.field(description="Price to pay, after the discount.")
    stock: int = strawberry.field(description="Units available to order.")
    in_stock: bool = strawberry.field(description="Whether at least one unit is available.")
    images: list[Image] = strawberry.field(description="Images, the main one first.")
    published: bool = strawberry.field(description="Shown in the storefront.")
    archived: bool = strawberry.field(description="Hidden for good, kept for order history.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    _document: strawberry.Private[documents.Product]

    @classmethod
    def from_document(cls, product: documents.Product) -> Product:
        return node_for(cls, product)

    # `category` and `subcategory` are no coroutines: on a product page the categories were
    # loaded with the page (`resolve_products`), and a coroutine per product cost more than the
    # field itself. Elsewhere they return one, which GraphQL awaits.
    @strawberry.field(description="The top-level category.")
    def category(self, info: Info) -> Category:
        return cast(Category, self._related(info, self._document.category_id, required=True))

    def _related(self, info: Info, category_id: ObjectId | None, *, required: bool) -> Any:
        loaded, category = resolvers.loaded_category(info.context, category_id)
        if not loaded:
            return self._load_related(info, category_id, required=required)
        return self._related_node(category, required=required)

    async def _load_related(
        self, info: Info, category_id: ObjectId | None, *, required: bool
    ) -> Category | None:
        category = await resolvers.category_by_id(info.context, category_id)
        return self._related_node(category, required=required)

    def _related_node(self, category: documents.Category | None, *, required: bool) -> Any:
        if category is None and required:
            raise LookupError(f"product {self.id} refers to a missing category")
        return Category.from_document(category) if category else None

    @strawberry.field(
        description="Stock changes, newest first (admins only).", permission_classes=[IsAdmin]
    )
    async def stock_movements(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> StockMovementConnection:
        page = await stock_movements(
            info.context,
            self._document,
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
        return StockMovementConnection.from_page(page, StockMovement.from_document)

    @strawberry.field(
        description="Orders with this product, newest first, from their own snapshots: they stay "
        "when the product is archived (admins only).",
        permission_classes=[IsAdmin],
    )
    async def orders(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> Annotated[OrderConnection, strawberry.lazy("schema.orders.types")]:
        from schema.orders.types import Order, OrderConnection  # the order types import this one

        page = await product_orders(
            info.context,
            stored_id(self._document),
            page=PageArgs(first=first, after=after, last=last, before=before),
        )
        return OrderConnection.from_page(page, Order.from_document)

    @strawberry.field(
        description="Average rating, 1 to 5 stars, rounded to two decimals; 0 when unrated."
    )
    def rating_average(self, info: Info) -> float:
        product = product_ratings(info.context, self._document)
        return display_average(product.rating_average)

    @strawberry.field(
        description="How many ratings the average is over: its reviews', and any ratings it came "
        "with from elsewhere (an import); `reviews.totalCount` counts the reviews alone."
    )
    def rating_count(self, info: Info) -> int:
        return product_ratings(info.context, self._document).rating_count

    @strawberry.field(description="How many ratings gave each number of stars, 5 stars first.")
    def rating_histogram(self, info: Info) -> list[RatingBucket]:
        product = product_ratings(info.context, self._document)
        buckets = enumerate(product.rating_histogram, start=1)
        return [RatingBucket(stars=stars, count=count) for stars, count in reversed(list(buckets))]

    @strawberry.field(description="The product's reviews (hidden ones left out).")
    async def reviews(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        sort_by: Annotated[
            ReviewSortOrder, strawberry.argument(description="Order; newest first.")
        ] = ReviewSortOrder.NEWEST,
    ) -> Annotated[ReviewConnection, strawberry.lazy("schema.reviews")]:
        from schema.reviews import Review, ReviewConnection  # the review types import this one

        page = await product_reviews(
            info.context,
            self._document,
            page=PageArgs(first=first, after=after, last=last, before=before),
            ordering=sort_by.ordering,
        )
        return ReviewConnection.from_page(page, Review.from_document)

    @strawberry.field(description="The subcategory, if the product has one.")
    def subcategory(self, info: Info) -> Category | None:
        related: Category | None = self._related(
            info, self._document.subcategory_id, required=False
        )
        return related


read_from_document(
    Category,
    id=lambda category: str(category.id),
    name="name",
    slug="slug",
    description="description",
    image=lambda category: Image.from_document(category.image) if category.image else None,
    created_at="created_at",
    updated_at="updated_at",
)
read_from_document(
    Product,
    id=lambda product: str(product.id),
    name="name",
    slug="slug",
    description="description",
    brand="brand",
    price=lambda product: Money.of(product.price, product.currency),
    discount_percent="discount_percent",
    final_price=lambda product: Money.of(product.final_price, product.currency),
    stock="stock",
    in_stock="in_stock",
    images=lambda product: [Image.from_document(image) for image in product.images],
    published="published",
    archived=lambda product: product.archived_at is not None,
    created_at="created_at",
    updated_at="updated_at",
)


# Stored fields of a product that only one GraphQL field of `Product` reads: a page whose
# products select none of these may leave the stored field out of its rows (compiled reads do).
PRODUCT_FIELDS_READ_BY_ONE = {
    "description": "description",
    "images": "images",
    "rating_histogram": "ratingHistogram",
    "imported_rating_histogram": "reviews",
}


@strawberry.type(name="ProductEdge", description="A product in a list, with its search matches.")
class ProductEdge(relay.Edge[Product]):
    highlights: list[SearchHighlight] = strawberry.field(
        description=(
            "Where a search matched the product's name and description; empty when the list "
            "is no search (or the index could not say)."
        )
    )


@strawberry.type(name="ProductConnection", description="A page of products.")
class ProductConnection(CountedConnection[Product]):
    # Edges of a subclass of relay.Edge: the base class declares the wider list.
    edges: list[ProductEdge] = strawberry.field(  # type: ignore[assignment]
        description="The products of the page."
    )
    _page: strawberry.Private[Page[Any]]

    @strawberry.field(
        description=(
            "How many products of the whole list each brand, top-level category, price band and "
            'rating would give (README, "Search"). Storefront lists only; null where the '
            "deployment keeps no search index (SEARCH_ENGINE=mongo)."
        )
    )
    async def facets(self, info: Info, price_bands: PriceBandsArg = None) -> ProductFacets | None:
        ctx = info.context
        bands = price_bands_of(ctx, price_bands)
        found = await product_search.facets_of(ctx, self._page, bands)
        return None if found is None else ProductFacets.of(found, bands, ctx.settings.shop_currency)

    @classmethod
    def from_page(cls, page: Page[Any], to_node: Callable[[Any], Any]) -> Any:
        marked = page.highlights if isinstance(page, product_search.ProductPage) else {}
        edges = [
            ProductEdge(
                cursor=cursor,
                node=to_node(row),
                highlights=[
                    SearchHighlight.of(name, found)
                    for name, found in marked.get(row.id, {}).items()
                ]
                if marked
                else [],
            )
            for cursor, row in page.rows
        ]
        return cls(edges=edges, page_info=page_info(page, edges), _count=page.count, _page=page)


@strawberry.type(name="CategoryConnection", description="A page of categories.")
class CategoryConnection(CountedConnection[Category]):
    pass


IdArg = Annotated[strawberry.ID | None, strawberry.argument(description="Global ID.")]
SlugArg = Annotated[str | None, strawberry.argument(description="Slug.")]


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Top-level categories by name; each lists its subcategories.")
    async def categories(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> CategoryConnection:
        page = await resolvers.categories(
            info.context, page=PageArgs(first=first, after=after, last=last, before=before)
        )
        return CategoryConnection.from_page(page, Category.from_document)

    @strawberry.field(description="A category by `id` or `slug` (exactly one); null if none.")
    async def category(self, info: Info, id: IdArg = None, slug: SlugArg = None) -> Category | None:
        resolvers.require_one_key(id, slug)
        found = await resolvers.category(
            info.context, category_id=decode_global_id(id, "Category"), slug=slug
        )
        return Category.from_document(found) if found else None

    @strawberry.field(description="A product by `id` or `slug` (exactly one); null if none.")
    async def product(self, info: Info, id: IdArg = None, slug: SlugArg = None) -> Product | None:
        resolvers.require_one_key(id, slug)
        found = await resolvers.product(
            info.context, product_id=decode_global_id(id, "Product"), slug=slug
        )
        return Product.from_document(found) if found else None

    products: ProductConnection = strawberry.field(
        resolver=resolve_products,
        description="Products of the storefront, filtered, searched and sorted.",
    )
