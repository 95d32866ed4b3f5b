"""Load-or-error: the document a global ID names, or a not-found error naming the argument the
client sent it in (Saleor's `get_node_or_error`). Loads go through the request's loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from aiodataloader import DataLoader

from documents import catalog
from documents.cart_rules import CartError, CartErrorCode
from documents.catalog_rules import CatalogError, CatalogErrorCode
from documents.errors import DomainError
from resolvers.context import Context
from schema.ids import decode_global_id

DocumentT = TypeVar("DocumentT")


@dataclass(frozen=True)
class Lookup(Generic[DocumentT]):
    """How to find one kind of document by a global ID, and what to say when there is none."""

    type_name: str
    loader: Callable[[Context], DataLoader]
    not_found: Callable[[str], DomainError]


PRODUCT: Lookup[catalog.Product] = Lookup(
    "Product",
    lambda ctx: ctx.loaders.product_by_id,
    lambda field: CatalogError(CatalogErrorCode.PRODUCT_NOT_FOUND, "No such product", field=field),
)
# A product to put in a cart: one that does not exist is unavailable, like a hidden one.
CART_PRODUCT: Lookup[catalog.Product] = Lookup(
    "Product",
    lambda ctx: ctx.loaders.product_by_id,
    lambda field: CartError(
        CartErrorCode.PRODUCT_UNAVAILABLE, "This product is not available", field=field
    ),
)
CATEGORY: Lookup[catalog.Category] = Lookup(
    "Category",
    lambda ctx: ctx.loaders.category_by_id,
    lambda field: CatalogError(
        CatalogErrorCode.CATEGORY_NOT_FOUND, "No such category", field=field
    ),
)


async def load_or_error(
    ctx: Context, lookup: Lookup[DocumentT], global_id: str, *, field: str
) -> DocumentT:
    """The document `global_id` names. A malformed ID or one of another type is BAD_USER_INPUT;
    an ID of nothing is the lookup's not-found error; both name `field`."""
    object_id = decode_global_id(global_id, lookup.type_name, field=field)
    found: Any = await lookup.loader(ctx).load(object_id)
    if found is None:
        raise lookup.not_found(field)
    return cast(DocumentT, found)


async def load_optional_or_error(
    ctx: Context, lookup: Lookup[DocumentT], global_id: str | None, *, field: str
) -> DocumentT | None:
    """As `load_or_error`, for an optional argument: None when the client sent none."""
    if global_id is None:
        return None
    return await load_or_error(ctx, lookup, global_id, field=field)
