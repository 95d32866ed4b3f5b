"""Image mutations of catalog administration (admins only): product and category images.

Files arrive as GraphQL multipart requests (`file: Upload!`). Images are named by `Image.id`.
"""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from documents.errors import InvalidInputError
from resolvers.catalog_admin import images as image_admin
from schema.catalog import Category, Product
from schema.catalog_admin.operations import ADMIN, CategoryPayload, ProductPayload
from schema.catalog_admin.types import CatalogError
from schema.common import Image
from schema.info import Info
from schema.lookup import CATEGORY, PRODUCT, load_or_error
from schema.payloads import user_errors

ProductIdArg = Annotated[strawberry.ID, strawberry.argument(description="The product.")]
CategoryIdArg = Annotated[strawberry.ID, strawberry.argument(description="The category.")]
ImageIdArg = Annotated[str, strawberry.argument(description="`Image.id` of one of its images.")]
FileArg = Annotated[
    Upload, strawberry.argument(description="A JPEG, PNG or WebP image, checked by its content.")
]


async def _read_upload(info: Info, file: Upload) -> bytes:
    if not hasattr(file, "read"):
        # A plain string where the multipart request spec puts a file.
        raise InvalidInputError("Send the file as a multipart upload", field="file")
    # One byte over the limit is enough to refuse it, without reading a huge upload into memory.
    data: bytes = await file.read(info.context.settings.product_image_max_bytes + 1)
    return data


@strawberry.type(description="Result of `addProductImage`.")
class AddProductImagePayload(ProductPayload):
    image: Image | None = strawberry.field(default=None, description="The image added.")


@strawberry.type(description="Result of `removeProductImage`.")
class RemoveProductImagePayload(ProductPayload):
    pass


@strawberry.type(description="Result of `reorderProductImages`.")
class ReorderProductImagesPayload(ProductPayload):
    pass


@strawberry.type(description="Result of `updateProductImage`.")
class UpdateProductImagePayload(ProductPayload):
    pass


@strawberry.type(description="Result of `setCategoryImage`.")
class SetCategoryImagePayload(CategoryPayload):
    pass


@strawberry.type(description="Result of `removeCategoryImage`.")
class RemoveCategoryImagePayload(CategoryPayload):
    pass


@strawberry.type
class CatalogImageMutation:
    @strawberry.mutation(
        description=(
            "Upload an image and add it after the product's other images, up to the limit "
            "(MAX_PRODUCT_IMAGES, 12 by default) (admins only)."
        ),
        permission_classes=ADMIN,
    )
    @user_errors(AddProductImagePayload, CatalogError)
    async def add_product_image(
        self,
        info: Info,
        product_id: ProductIdArg,
        file: FileArg,
        alt: Annotated[
            str | None,
            strawberry.argument(description="Text alternative; the product name if omitted."),
        ] = None,
    ) -> AddProductImagePayload:
        data = await _read_upload(info, file)
        added = await image_admin.add_product_image(
            info.context,
            await load_or_error(info.context, PRODUCT, product_id, field="productId"),
            data,
            alt=alt,
        )
        return AddProductImagePayload(
            product=Product.from_document(added.product), image=Image.from_document(added.image)
        )

    @strawberry.mutation(
        description="Remove an image from a product and delete its file (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(RemoveProductImagePayload, CatalogError)
    async def remove_product_image(
        self, info: Info, product_id: ProductIdArg, image_id: ImageIdArg
    ) -> RemoveProductImagePayload:
        product = await image_admin.remove_product_image(
            info.context,
            await load_or_error(info.context, PRODUCT, product_id, field="productId"),
            image_id,
        )
        return RemoveProductImagePayload(product=Product.from_document(product))

    @strawberry.mutation(
        description="Put a product's images in a new order, the main one first (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(ReorderProductImagesPayload, CatalogError)
    async def reorder_product_images(
        self,
        info: Info,
        product_id: ProductIdArg,
        image_ids: Annotated[
            list[str],
            strawberry.argument(description="Every `Image.id` of the product, once, in order."),
        ],
    ) -> ReorderProductImagesPayload:
        product = await image_admin.reorder_product_images(
            info.context,
            await load_or_error(info.context, PRODUCT, product_id, field="productId"),
            image_ids,
        )
        return ReorderProductImagesPayload(product=Product.from_document(product))

    @strawberry.mutation(
        description="Change the alt text of a product image (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(UpdateProductImagePayload, CatalogError)
    async def update_product_image(
        self,
        info: Info,
        product_id: ProductIdArg,
        image_id: ImageIdArg,
        alt: Annotated[str, strawberry.argument(description="At most 300 characters.")],
    ) -> UpdateProductImagePayload:
        product = await image_admin.update_product_image(
            info.context,
            await load_or_error(info.context, PRODUCT, product_id, field="productId"),
            image_id,
            alt=alt,
        )
        return UpdateProductImagePayload(product=Product.from_document(product))

    @strawberry.mutation(
        description=(
            "Upload an image as the category's image; the one it replaces is deleted (admins only)."
        ),
        permission_classes=ADMIN,
    )
    @user_errors(SetCategoryImagePayload, CatalogError)
    async def set_category_image(
        self,
        info: Info,
        category_id: CategoryIdArg,
        file: FileArg,
        alt: Annotated[
            str | None,
            strawberry.argument(description="Text alternative; the category name if omitted."),
        ] = None,
    ) -> SetCategoryImagePayload:
        data = await _read_upload(info, file)
        category = await image_admin.set_category_image(
            info.context,
            await load_or_error(info.context, CATEGORY, category_id, field="categoryId"),
            data,
            alt=alt,
        )
        return SetCategoryImagePayload(category=Category.from_document(category))

    @strawberry.mutation(
        description="Remove the category's image and delete its file (admins only).",
        permission_classes=ADMIN,
    )
    @user_errors(RemoveCategoryImagePayload, CatalogError)
    async def remove_category_image(
        self, info: Info, category_id: CategoryIdArg
    ) -> RemoveCategoryImagePayload:
        category = await image_admin.remove_category_image(
            info.context,
            await load_or_error(info.context, CATEGORY, category_id, field="categoryId"),
        )
        return RemoveCategoryImagePayload(category=Category.from_document(category))
