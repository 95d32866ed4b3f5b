"""`node(id:)` and `nodes(ids:)`: any entity by its global ID."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from bson import ObjectId
from strawberry import relay

from documents.accounts import Role
from documents.errors import InvalidInputError
from resolvers import addresses, cart, catalog, reviews
from resolvers.accounts.viewer import private_viewer
from resolvers.context import Context
from resolvers.orders import reads
from schema.accounts import Session, User
from schema.addresses import Address
from schema.cart import Cart
from schema.catalog import Category, Product
from schema.catalog_admin.types import StockMovement
from schema.ids import parse_global_id
from schema.info import Info
from schema.orders.types import Order
from schema.reviews import Review

MAX_NODES = 100


async def _product(ctx: Context, object_id: ObjectId) -> Product | None:
    found = await catalog.product(ctx, product_id=object_id)
    return Product.from_document(found) if found else None


async def _category(ctx: Context, object_id: ObjectId) -> Category | None:
    found = await catalog.category(ctx, category_id=object_id)
    return Category.from_document(found) if found else None


async def _user(ctx: Context, object_id: ObjectId) -> User | None:
    """Users are visible to themselves and to admins only."""
    viewer = await private_viewer(ctx)
    if viewer is None or (viewer.user.id != object_id and viewer.user.role is not Role.ADMIN):
        return None
    found = await ctx.loaders.user_by_id.load(object_id)
    return User.from_document(found) if found else None


async def _session(ctx: Context, object_id: ObjectId) -> Session | None:
    viewer = await private_viewer(ctx)
    found = await ctx.loaders.session_by_id.load(object_id)
    if viewer is None or found is None or found.user_id != viewer.user.id:
        return None
    return Session.from_document(found, current_id=viewer.session.id)


async def _stock_movement(ctx: Context, object_id: ObjectId) -> StockMovement | None:
    """Stock history is for admins only, like `Product.stockMovements`."""
    viewer = await private_viewer(ctx)
    if viewer is None or viewer.user.role is not Role.ADMIN:
        return None
    found = await ctx.loaders.stock_movement_by_id.load(object_id)
    return StockMovement.from_document(found) if found else None


async def _order(ctx: Context, object_id: ObjectId) -> Order | None:
    """Orders are visible to their buyer and to admins only."""
    viewer = await private_viewer(ctx)
    found = reads.visible_to(viewer, await ctx.loaders.order_by_id.load(object_id))
    return Order.from_document(found) if found else None


async def _address(ctx: Context, object_id: ObjectId) -> Address | None:
    """Addresses are visible to their owner only."""
    found = await addresses.address(ctx, object_id)
    return Address.from_document(found[1], book=found[0]) if found else None


async def _cart(ctx: Context, object_id: ObjectId) -> Cart | None:
    """Carts are visible to their owner only: the user, or the guest holding its token."""
    view = await cart.cart_node(ctx, object_id)
    return Cart.from_view(view) if view else None


async def _review(ctx: Context, object_id: ObjectId) -> Review | None:
    """Visible reviews for everyone; hidden ones for their author and admins."""
    found = await reviews.review(ctx, object_id)
    return Review.from_document(found) if found else None


# Every Node type, by GraphQL type name. A type added to the schema must be added here
# (tests/api/test_node_types.py fails until it is).
NODE_RESOLVERS: dict[str, Callable[[Context, ObjectId], Awaitable[Any]]] = {
    "Product": _product,
    "Category": _category,
    "User": _user,
    "Session": _session,
    "StockMovement": _stock_movement,
    "Order": _order,
    "Address": _address,
    "Cart": _cart,
    "Review": _review,
}


async def resolve_node(ctx: Context, global_id: str, *, field: str = "id") -> relay.Node | None:
    type_name, object_id = parse_global_id(global_id, field=field)
    resolver = NODE_RESOLVERS.get(type_name)
    if resolver is None:
        raise InvalidInputError(f"{field} does not name a known type", field=field)
    node: relay.Node | None = await resolver(ctx, object_id)
    return node


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any entity by its global ID; null if it does not exist.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")],
    ) -> relay.Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(description=f"Entities by global ID, in order; at most {MAX_NODES}.")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Global IDs.")],
    ) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise InvalidInputError(f"Pass at most {MAX_NODES} ids", field="ids")
        # Resolved together so the loaders batch them into one query per type.
        return list(
            await asyncio.gather(*(resolve_node(info.context, i, field="ids") for i in ids))
        )
