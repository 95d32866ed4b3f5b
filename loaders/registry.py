"""The one factory that builds a request's loaders."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from documents.accounts import User
from documents.catalog import Category, Product, StockMovement
from documents.catalog_counts import CatalogCount
from documents.orders import Order
from documents.reviews import Review
from loaders.accounts import AuthSessionByIdLoader, UserByIdLoader
from loaders.addresses import AddressBookByUserIdLoader
from loaders.aggregation import PipelineLoader
from loaders.carts import CartByIdLoader
from loaders.catalog import (
    CategoryByIdLoader,
    CategoryBySlugLoader,
    ProductByIdLoader,
    ProductBySlugLoader,
    StockMovementByIdLoader,
    SubcategoriesByParentIdLoader,
)
from loaders.category_cache import CategoryCache
from loaders.observer import ReadObserver, ignore_reads
from loaders.orders import OrderByIdLoader, OrderByNumberLoader
from loaders.reviews import ReviewByIdLoader


class Loaders:
    """Every loader of one request, each built when first used (most requests use two or three
    of them). Build a new `Loaders` per request: loaders memoise their results."""

    def __init__(
        self,
        observe: ReadObserver = ignore_reads,
        kept_categories: Callable[[], CategoryCache | None] = lambda: None,
    ) -> None:
        self._observe = observe
        # The categories the process keeps, when this request may read them now.
        self.kept_categories = kept_categories

    @cached_property
    def category_by_id(self) -> CategoryByIdLoader:
        return CategoryByIdLoader(self._observe, self.kept_categories)

    @cached_property
    def category_by_slug(self) -> CategoryBySlugLoader:
        return CategoryBySlugLoader(self._observe)

    @cached_property
    def subcategories_by_parent_id(self) -> SubcategoriesByParentIdLoader:
        return SubcategoriesByParentIdLoader(self._observe)

    @cached_property
    def product_by_id(self) -> ProductByIdLoader:
        return ProductByIdLoader(self._observe)

    @cached_property
    def product_by_slug(self) -> ProductBySlugLoader:
        return ProductBySlugLoader(self._observe)

    @cached_property
    def product_pipelines(self) -> PipelineLoader:
        return PipelineLoader(Product)

    @cached_property
    def catalog_count_pipelines(self) -> PipelineLoader:
        return PipelineLoader(CatalogCount)

    @cached_property
    def category_pipelines(self) -> PipelineLoader:
        return PipelineLoader(Category)

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self._observe)

    @cached_property
    def user_pipelines(self) -> PipelineLoader:
        return PipelineLoader(User)

    @cached_property
    def stock_movement_by_id(self) -> StockMovementByIdLoader:
        return StockMovementByIdLoader(self._observe)

    @cached_property
    def stock_movement_pipelines(self) -> PipelineLoader:
        return PipelineLoader(StockMovement)

    @cached_property
    def session_by_id(self) -> AuthSessionByIdLoader:
        return AuthSessionByIdLoader(self._observe)

    @cached_property
    def order_by_id(self) -> OrderByIdLoader:
        return OrderByIdLoader(self._observe)

    @cached_property
    def order_by_number(self) -> OrderByNumberLoader:
        return OrderByNumberLoader(self._observe)

    @cached_property
    def order_pipelines(self) -> PipelineLoader:
        return PipelineLoader(Order)

    @cached_property
    def address_book_by_user_id(self) -> AddressBookByUserIdLoader:
        return AddressBookByUserIdLoader(self._observe)

    @cached_property
    def cart_by_id(self) -> CartByIdLoader:
        return CartByIdLoader(self._observe)

    @cached_property
    def review_by_id(self) -> ReviewByIdLoader:
        return ReviewByIdLoader(self._observe)

    @cached_property
    def review_pipelines(self) -> PipelineLoader:
        return PipelineLoader(Review)


def build_loaders(
    observe: ReadObserver = ignore_reads,
    kept_categories: Callable[[], CategoryCache | None] = lambda: None,
) -> Loaders:
    """Fresh loaders for one request; `observe` is told about every lookup they make, and
    categories come from `kept_categories()` when it gives the process's kept ones."""
    return Loaders(observe, kept_categories)
