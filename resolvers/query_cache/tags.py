"""What a cached result depends on: the tags a query's reads record and the tags a write retires.

While a query runs, the loaders and list resolvers record which tags its result depends on
(`products:id:<id>`, `categories:slug:<slug>`, `products:list:category:<id>` ...); a write
declares the tags of what it changed (`product_tags(before, after)` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bson import ObjectId

from documents.accounts import User
from documents.catalog import Category, Product
from documents.reviews import Review

# Every entry depends on this tag too, so bulk changes (imports, category moves) can retire them all.
CATALOG_TAG = "catalog"
# Every answer read from the search engine's index depends on this tag too. The index follows the
# products a moment after their writes, so a search run in between may cache the index's earlier
# answer: each commit of the index retires this tag (resolvers/search_index.py), and only it, as
# nothing else reads the index.
SEARCH_TAG = "products:search"


def tag(collection: str, key_field: str, key: object) -> str:
    return f"{collection}:{key_field}:{key}"


def _product_list_tag(scope_category_id: ObjectId | None) -> str:
    scope = f"category:{scope_category_id}" if scope_category_id else "all"
    return f"{Product.get_collection_name()}:list:{scope}"


def _rated_list_tag(scope_category_id: ObjectId | None) -> str:
    return _product_list_tag(scope_category_id).replace(":list:", ":rated-list:")


@dataclass
class CacheDependencies:
    """What one request's result was read from. Passed to loaders as their `ReadObserver`."""

    tags: set[str] = field(default_factory=lambda: {CATALOG_TAG})
    cacheable: bool = True
    # Copies this process keeps (loaders/category_cache.py) may lag a moment behind a write
    # another process made, while Redis already has that write's tag versions: a result read
    # from them is never stored, and one that will be stored reads none.
    kept_copies_read: bool = False
    storing: bool = False

    def __call__(self, collection: str, key_field: str, key: object) -> None:
        self.tags.add(tag(collection, key_field, key))

    def product_list(self, scope_category_id: ObjectId | None) -> None:
        """A product list over the whole catalog or one (sub)category was read."""
        self.tags.add(_product_list_tag(scope_category_id))

    def search_results(self) -> None:
        """Product ids were read from the search engine's index."""
        self.tags.add(SEARCH_TAG)

    def product_ratings(self, product_id: ObjectId | None) -> None:
        """A product's rating aggregates were shown."""
        self.tags.add(tag(Product.get_collection_name(), "ratings", product_id))

    def product_reviews(self, product_id: ObjectId | None) -> None:
        """A page of a product's visible reviews was read."""
        self.tags.add(tag(Review.get_collection_name(), "product_id", product_id))

    def rated_product_list(self, scope_category_id: ObjectId | None) -> None:
        """A product list sorted or filtered by rating was read: any rating in it may reorder it."""
        self.tags.add(_rated_list_tag(scope_category_id))

    def will_be_stored(self) -> None:
        """The result is to be stored in the query cache: read nothing from kept copies."""
        self.storing = True

    def claim_kept_copies(self) -> bool:
        """Whether the result may be read from kept copies: True unless it is to be stored, and
        from then on it will not be."""
        if self.storing:
            return False
        self.kept_copies_read = True
        return True

    def private_data(self) -> None:
        """Something user-specific was read: the result must never be shared."""
        self.cacheable = False


def product_tags(*versions: Product) -> set[str]:
    """Tags to invalidate when a product changes; pass the product before and after the write."""
    collection = Product.get_collection_name()
    tags = {_product_list_tag(None)}
    for product in versions:
        tags |= {
            tag(collection, "id", product.id),
            tag(collection, "slug", product.slug),
            _product_list_tag(product.category_id),
        }
        if product.subcategory_id:
            tags.add(_product_list_tag(product.subcategory_id))
    return tags


def review_tags(
    review_id: ObjectId | None,
    product_id: ObjectId | None,
    *,
    listed: bool,
    rated_product: Product | None,
) -> set[str]:
    """Tags to invalidate when a review of `product_id` changes: the review itself; its product's
    page of reviews when the review is or was `listed` (visible); and with `rated_product` (the
    product as the write left it, when the write changed its ratings) every entry showing those
    ratings or ordered by them."""
    reviews = Review.get_collection_name()
    tags = {tag(reviews, "id", review_id)}
    if listed:
        tags.add(tag(reviews, "product_id", product_id))
    if rated_product is not None:
        tags.add(tag(Product.get_collection_name(), "ratings", rated_product.id))
        scopes = {None, rated_product.category_id, rated_product.subcategory_id}
        tags |= {_rated_list_tag(scope) for scope in scopes}
    return tags


def category_tags(*versions: Category) -> set[str]:
    """Tags to invalidate when a category changes; pass it before and after the write."""
    collection = Category.get_collection_name()
    tags: set[str] = set()
    for category in versions:
        tags |= {
            tag(collection, "id", category.id),
            tag(collection, "slug", category.slug),
            tag(collection, "parent_id", category.parent_id),
        }
    return tags


def categories_named(tags: set[str]) -> set[ObjectId] | None:
    """The categories an invalidation of `tags` says may have changed; None when any may have
    (the whole catalog is named: a bulk change)."""
    if CATALOG_TAG in tags:
        return None
    prefix = tag(Category.get_collection_name(), "id", "")
    ids = (named[len(prefix) :] for named in tags if named.startswith(prefix))
    return {ObjectId(key) for key in ids if ObjectId.is_valid(key)}


def user_tags(user_id: ObjectId) -> set[str]:
    """Tags to invalidate when a user's name or email changes: their reviews show them."""
    return {tag(User.get_collection_name(), "id", user_id)}
