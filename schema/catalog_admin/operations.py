"""Catalog administration mutations (admins only): categories, products, stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.permission import BasePermission

from documents.categories import CategoryFields
from documents.common import UNSET, stored_id
from documents.products import ProductAction, ProductFields
from resolvers.accounts.viewer import require_viewer
from resolvers.catalog_admin import categories as category_admin
from resolvers.catalog_admin import products as product_admin
from schema.catalog import Category, Product
from schema.catalog_admin.types import CatalogError, StockMovement
from schema.common import maybe_value
from schema.ids import decode_global_id
from schema.info import Info
from schema.lookup import CATEGORY, PRODUCT, load_optional_or_error, load_or_error
from schema.payloads import user_errors
from schema.permissions import IsAdmin


@strawberry.input(description="A new category; with `parentId`, a subcategory of that category.")
class CreateCategoryInput:
    name: str = strawberry.field(description="2 to 120 characters.")
    slug: str | None = strawberry.field(default=None, description="Made from the name if omitted.")
    description: str | None = strawberry.field(default=None, description="Rich text (sanitized).")
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="A top-level category, to make this a subcategory of it."
    )


@strawberry.input(description="Category fields to change; omitted fields stay as they are.")
class UpdateCategoryInput:
    id: strawberry.ID = strawberry.field(description="The category.")
    name: strawberry.Maybe[str] = strawberry.field(description="2 to 120 characters.")
    slug: strawberry.Maybe[str] = strawberry.field(description="Unique, URL-safe.")
    description: strawberry.Maybe[str | None] = strawberry.field(description="Rich text.")


@strawberry.input(description="A category to delete, and where its contents go.")
class DeleteCategoryInput:
    id: strawberry.ID = strawberry.field(description="The category.")
    move_products_to: strawberry.ID | None = strawberry.field(
        default=None,
        description="A category or subcategory for its products; needed if it has any.",
    )
    move_subcategories_to: strawberry.ID | None = strawberry.field(
        default=None,
        description="A top-level category for its subcategories; needed if it has any.",
    )


@strawberry.input(description="A new product; unpublished unless `published` is true.")
class CreateProductInput:
    name: str = strawberry.field(description="2 to 200 characters.")
    price: Decimal = strawberry.field(
        description='List price in the shop currency, e.g. "1299.00".'
    )
    category_id: strawberry.ID = strawberry.field(description="A top-level category.")
    subcategory_id: strawberry.ID | None = strawberry.field(
        default=None, description="A subcategory of that category."
    )
    slug: str | None = strawberry.field(default=None, description="Made from the name if omitted.")
    description: str | None = strawberry.field(default=None, description="Rich text (sanitized).")
    brand: str | None = strawberry.field(default=None, description="Brand name.")
    discount_percent: int = strawberry.field(default=0, description="0 to 90.")
    stock: int = strawberry.field(default=0, description="Units on hand, 0 or more.")
    published: bool = strawberry.field(default=False, description="Show it in the storefront.")


@strawberry.input(description="Product fields to change; omitted fields stay as they are.")
class UpdateProductInput:
    id: strawberry.ID = strawberry.field(description="The product.")
    name: strawberry.Maybe[str] = strawberry.field(description="2 to 200 characters.")
    slug: strawberry.Maybe[str] = strawberry.field(description="Unique, URL-safe.")
    description: strawberry.Maybe[str | None] = strawberry.field(description="Rich text.")
    brand: strawberry.Maybe[str | None] = strawberry.field(description="Brand name.")
    price: strawberry.Maybe[Decimal] = strawberry.field(description="List price.")
    discount_percent: strawberry.Maybe[int] = strawberry.field(description="0 to 90.")
    category_id: strawberry.Maybe[strawberry.ID] = strawberry.field(
        description="Another top-level category (drops the subcategory unless one is given)."
    )
    subcategory_id: strawberry.Maybe[strawberry.ID | None] = strawberry.field(
        description="A subcategory of the category; null for none."
    )


@strawberry.input(description="A change of stock by a number of units.")
class AdjustStockInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    delta: int = strawberry.field(description="Units to add (positive) or remove (negative).")
    reason: str = strawberry.field(description="Why, for the stock history (1 to 200 characters).")


@strawberry.input(description="A counted stock.")
class SetStockInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    stock: int = strawberry.field(description="Units on hand, 0 or more.")
    reason: str = strawberry.field(description="Why, for the stock history (1 to 200 characters).")


@strawberry.type(description="Result of a mutation that changes a category.")
class CategoryPayload:
    category: Category | None = strawberry.field(default=None, description="The category after it.")
    errors: list[CatalogError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of `createCategory`.")
class CreateCategoryPayload(CategoryPayload):
    pass


@strawberry.type(description="Result of `updateCategory`.")
class UpdateCategoryPayload(CategoryPayload):
    pass


@strawberry.type(description="Result of `deleteCategory`.")
class DeleteCategoryPayload:
    deleted_id: strawberry.ID | None = strawberry.field(default=None, description="The deleted ID.")
    errors: list[CatalogError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of a mutation that changes a product.")
class ProductPayload:
    product: Product | None = strawberry.field(default=None, description="The product after it.")
    errors: list[CatalogError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of `createProduct`.")
class CreateProductPayload(ProductPayload):
    pass


@strawberry.type(description="Result of `updateProduct`.")
class UpdateProductPayload(ProductPayload):
    pass


@strawberry.type(description="Result of `setProductPublished`.")
class SetProductPublishedPayload(ProductPayload):
    pass


@strawberry.type(description="Result of `restoreProduct`; it comes back unpublished.")
class RestoreProductPayload(ProductPayload):
    pass


@strawberry.type(description="Result of `deleteProduct`.")
class DeleteProductPayload:
    product: Product | None = strawberry.field(
        default=None, description="The archived product; null when it was deleted for good."
    )
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="Set when the product was deleted for good."
    )
    errors: list[CatalogError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of a stock change.")
class StockPayload:
    product: Product | None = strawberry.field(default=None, description="The product after it.")
    stock_movement: StockMovement | None = strawberry.field(
        default=None, description="The recorded change."
    )
    errors: list[CatalogError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of `adjustStock`.")
class AdjustStockPayload(StockPayload):
    pass


@strawberry.type(description="Result of `setStock`.")
class SetStockPayload(StockPayload):
    pass


ADMIN: list[type[BasePermission]] = [IsAdmin]
PRODUCT_ID_HELP = "The product's global ID."
StockPayloadT = TypeVar("StockPayloadT", bound=StockPayload)


async def _change_stock(
    payload: type[StockPayloadT],
    info: Info,
    product_id: strawberry.ID,
    reason: str,
    **change: int,
) -> StockPayloadT:
    """`adjustStock` (delta=) and `setStock` (stock=): the change, recorded as the admin's."""
    viewer = await require_viewer(info.context)
    result = await product_admin.change_stock(
        info.context,
        await load_or_error(info.context, PRODUCT, product_id, field="productId"),
        reason=reason,
        actor_id=stored_id(viewer.user),
        **change,
    )
    return payload(
        product=Product.from_document(result.product),
        stock_movement=StockMovement.from_document(result.movement),
    )


@strawberry.type
class CatalogAdminMutation:
    @strawberry.mutation(
        description="Create a category or subcategory (admins only).", permission_classes=ADMIN
    )
    @user_errors(CreateCategoryPayload, CatalogError)
    async def create_category(
        self, info: Info, input: CreateCategoryInput
    ) -> CreateCategoryPayload:
        parent = await load_optional_or_error(
            info.context, CATEGORY, input.parent_id, field="parentId"
        )
        category = await category_admin.create_category(
            info.context,
            CategoryFields(
                name=input.name,
                slug=input.slug,
                description=UNSET if input.description is None else input.description,
                parent_id=parent.id if parent else None,
            ),
        )
        return CreateCategoryPayload(category=Category.from_document(category))

    @strawberry.mutation(description="Change a category (admins only).", permission_classes=ADMIN)
    @user_errors(UpdateCategoryPayload, CatalogError)
    async def update_category(
        self, info: Info, input: UpdateCategoryInput
    ) -> UpdateCategoryPayload:
        category = await category_admin.update_category(
            info.context,
            await load_or_error(info.context, CATEGORY, input.id, field="id"),
            CategoryFields(
                name=maybe_value(input.name),
                slug=maybe_value(input.slug),
                description=maybe_value(input.description),
            ),
        )
        return UpdateCategoryPayload(category=Category.from_document(category))

    @strawberry.mutation(
        description="Delete a category; its products and subcategories must be moved (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(DeleteCategoryPayload, CatalogError)
    async def delete_category(
        self, info: Info, input: DeleteCategoryInput
    ) -> DeleteCategoryPayload:
        ctx = info.context
        category = await load_or_error(ctx, CATEGORY, input.id, field="id")
        products_to = await load_optional_or_error(
            ctx, CATEGORY, input.move_products_to, field="moveProductsTo"
        )
        subcategories_to = await load_optional_or_error(
            ctx, CATEGORY, input.move_subcategories_to, field="moveSubcategoriesTo"
        )
        await category_admin.delete_category(
            ctx, category, move_products_to=products_to, move_subcategories_to=subcategories_to
        )
        return DeleteCategoryPayload(deleted_id=input.id)

    @strawberry.mutation(description="Create a product (admins only).", permission_classes=ADMIN)
    @user_errors(CreateProductPayload, CatalogError)
    async def create_product(self, info: Info, input: CreateProductInput) -> CreateProductPayload:
        product = await product_admin.create_product(
            info.context,
            ProductFields(
                name=input.name,
                slug=input.slug,
                description=input.description or "",
                brand=input.brand or "",
                price=input.price,
                discount_percent=input.discount_percent,
                category_id=decode_global_id(input.category_id, "Category", field="categoryId"),
                subcategory_id=decode_global_id(
                    input.subcategory_id, "Category", field="subcategoryId"
                ),
                published=input.published,
                stock=input.stock,
            ),
        )
        return CreateProductPayload(product=Product.from_document(product))

    @strawberry.mutation(description="Change a product (admins only).", permission_classes=ADMIN)
    @user_errors(UpdateProductPayload, CatalogError)
    async def update_product(self, info: Info, input: UpdateProductInput) -> UpdateProductPayload:
        def category(field: str) -> Any:
            return lambda value: decode_global_id(value, "Category", field=field)

        product = await product_admin.update_product(
            info.context,
            await load_or_error(info.context, PRODUCT, input.id, field="id"),
            ProductFields(
                name=maybe_value(input.name),
                slug=maybe_value(input.slug),
                description=maybe_value(input.description),
                brand=maybe_value(input.brand),
                price=maybe_value(input.price),
                discount_percent=maybe_value(input.discount_percent),
                category_id=maybe_value(input.category_id, category("categoryId")),
                subcategory_id=maybe_value(input.subcategory_id, category("subcategoryId")),
            ),
        )
        return UpdateProductPayload(product=Product.from_document(product))

    @strawberry.mutation(
        description="Show or hide a product (admins only).", permission_classes=ADMIN
    )
    @user_errors(SetProductPublishedPayload, CatalogError)
    async def set_product_published(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description=PRODUCT_ID_HELP)],
        published: Annotated[
            bool, strawberry.argument(description="True to show it in the shop, false to hide it.")
        ],
    ) -> SetProductPublishedPayload:
        product = await product_admin.change_product_state(
            info.context,
            await load_or_error(info.context, PRODUCT, id, field="id"),
            ProductAction.PUBLISH if published else ProductAction.UNPUBLISH,
        )
        return SetProductPublishedPayload(product=Product.from_document(product))

    @strawberry.mutation(
        description=(
            "Archive a product (hidden, kept for order history), or with `hard: true` delete it "
            "and its images for good (admins only)."
        ),
        permission_classes=ADMIN,
    )
    @user_errors(DeleteProductPayload, CatalogError)
    async def delete_product(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description=PRODUCT_ID_HELP)],
        hard: Annotated[
            bool,
            strawberry.argument(
                description=(
                    "Delete for good instead of archiving; refused while orders refer to it."
                )
            ),
        ] = False,
    ) -> DeleteProductPayload:
        product = await load_or_error(info.context, PRODUCT, id, field="id")
        if hard:
            await product_admin.delete_product(info.context, product)
            return DeleteProductPayload(deleted_id=id)
        archived = await product_admin.change_product_state(
            info.context, product, ProductAction.ARCHIVE
        )
        return DeleteProductPayload(product=Product.from_document(archived))

    @strawberry.mutation(
        description="Bring an archived product back, unpublished (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(RestoreProductPayload, CatalogError)
    async def restore_product(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description=PRODUCT_ID_HELP)],
    ) -> RestoreProductPayload:
        product = await product_admin.change_product_state(
            info.context,
            await load_or_error(info.context, PRODUCT, id, field="id"),
            ProductAction.RESTORE,
        )
        return RestoreProductPayload(product=Product.from_document(product))

    @strawberry.mutation(
        description="Add or remove stock, recorded in the history; never below zero (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(AdjustStockPayload, CatalogError)
    async def adjust_stock(self, info: Info, input: AdjustStockInput) -> AdjustStockPayload:
        return await _change_stock(
            AdjustStockPayload, info, input.product_id, input.reason, delta=input.delta
        )

    @strawberry.mutation(
        description="Set the stock to a counted number, recorded in the history (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(SetStockPayload, CatalogError)
    async def set_stock(self, info: Info, input: SetStockInput) -> SetStockPayload:
        return await _change_stock(
            SetStockPayload, info, input.product_id, input.reason, stock=input.stock
        )
