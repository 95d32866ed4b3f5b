"""The one factory that builds a request's loaders."""

from __future__ import annotations

from dataclasses import dataclass

from documents.accounts import User
from documents.catalog import Category, Product, StockMovement
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
from loaders.observer import ReadObserver, ignore_reads
from loaders.orders import OrderByIdLoader, OrderByNumberLoader
from loaders.reviews import ReviewByIdLoader


@dataclass(frozen=True)
class Loaders:
    """Every loader of one request. Build a new one per request: loaders memoise their results."""

    category_by_id: CategoryByIdLoader
    category_by_slug: CategoryBySlugLoader
    subcategories_by_parent_id: SubcategoriesByParentIdLoader
    product_by_id: ProductByIdLoader
    product_by_slug: ProductBySlugLoader
    product_pipelines: PipelineLoader
    category_pipelines: PipelineLoader
    user_by_id: UserByIdLoader
    user_pipelines: PipelineLoader
    stock_movement_by_id: StockMovementByIdLoader
    stock_movement_pipelines: PipelineLoader
    session_by_id: AuthSessionByIdLoader
    order_by_id: OrderByIdLoader
    order_by_number: OrderByNumberLoader
    order_pipelines: PipelineLoader
    address_book_by_user_id: AddressBookByUserIdLoader
    cart_by_id: CartByIdLoader
    review_by_id: ReviewByIdLoader
    review_pipelines: PipelineLoader


def build_loaders(observe: ReadObserver = ignore_reads) -> Loaders:
    """Fresh loaders for one request; `observe` is told about every lookup they make."""
    return Loaders(
        category_by_id=CategoryByIdLoader(observe),
        category_by_slug=CategoryBySlugLoader(observe),
        subcategories_by_parent_id=SubcategoriesByParentIdLoader(observe),
        product_by_id=ProductByIdLoader(observe),
        product_by_slug=ProductBySlugLoader(observe),
        product_pipelines=PipelineLoader(Product),
        category_pipelines=PipelineLoader(Category),
        user_by_id=UserByIdLoader(observe),
        user_pipelines=PipelineLoader(User),
        stock_movement_by_id=StockMovementByIdLoader(observe),
        stock_movement_pipelines=PipelineLoader(StockMovement),
        session_by_id=AuthSessionByIdLoader(observe),
        order_by_id=OrderByIdLoader(observe),
        order_by_number=OrderByNumberLoader(observe),
        order_pipelines=PipelineLoader(Order),
        address_book_by_user_id=AddressBookByUserIdLoader(observe),
        cart_by_id=CartByIdLoader(observe),
        review_by_id=ReviewByIdLoader(observe),
        review_pipelines=PipelineLoader(Review),
    )
