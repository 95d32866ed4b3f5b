"""The cart in the API: the `cart` query and the cart mutations, for signed-in users and guests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

import strawberry
from bson import ObjectId
from strawberry import relay

from documents.cart_rules import CartErrorCode
from documents.errors import DomainError
from documents.pricing import LineProblem
from resolvers import cart as resolvers
from schema.catalog import Product
from schema.common import Money
from schema.enums import described_enum
from schema.info import Info
from schema.lookup import CART_PRODUCT, load_or_error
from schema.payloads import user_errors
from schema.permissions import IsAuthenticated

described_enum(
    CartErrorCode,
    "Why a cart change was refused.",
    {
        "INVALID_QUANTITY": "The quantity is under 1 or over what one line may hold.",
        "TOO_MANY_LINES": "The cart holds as many different products as it may.",
        "PRODUCT_UNAVAILABLE": "No product on sale has that ID (missing, hidden or archived).",
        "INSUFFICIENT_STOCK": "Fewer units are left than asked for; see `available`.",
        "LINE_NOT_FOUND": "The cart has no line with that ID.",
        "CART_NOT_FOUND": "No guest cart has that token.",
    },
)
described_enum(
    LineProblem,
    "Why a line cannot be bought as it is.",
    {
        "UNAVAILABLE": "The product is gone, hidden or archived.",
        "INSUFFICIENT_STOCK": "Fewer units are left than the line asks for.",
    },
)

CartTokenArg = Annotated[
    str | None,
    strawberry.argument(
        description="A guest's cart token (else the X-Cart-Token header); ignored when signed in."
    ),
]
_GUEST_CART_HELP = (
    "A guest's cart token, as returned when the cart was created (else the X-Cart-Token "
    "header); ignored when signed in."
)


@strawberry.type(description="A problem with a cart change, fixable by the shopper.")
class CartError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: CartErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")
    available: int | None = strawberry.field(
        default=None, description="For INSUFFICIENT_STOCK: how many units are left."
    )

    @classmethod
    def from_domain(cls, error: DomainError) -> CartError:
        return cls(
            field=error.field,
            code=CartErrorCode(error.code),
            message=error.message,
            available=error.extensions.get("available"),
        )


@strawberry.type(description="A product in a cart and how many, priced now.")
class CartLine:
    id: strawberry.ID = strawberry.field(description="Names the line in cart mutations.")
    quantity: int = strawberry.field(description="Units of the product.")
    unit_price: Money = strawberry.field(
        description="The product's price now, after its discount; 0 when it is unavailable."
    )
    line_total: Money = strawberry.field(description="Unit price times quantity.")
    problem: LineProblem | None = strawberry.field(
        description="Why the line cannot be bought as it is; null when it can."
    )
    available_quantity: int = strawberry.field(
        description="Units in stock now; 0 when the product cannot be bought."
    )
    _product_id: strawberry.Private[ObjectId]

    @strawberry.field(
        description=(
            "The product, also once it is unpublished or archived (see `problem`); null once "
            "it has been deleted."
        )
    )
    async def product(self, info: Info) -> Product | None:
        found = await resolvers.line_product(info.context, self._product_id)
        return Product.from_document(found) if found else None


@strawberry.type(description="A shopper's cart, priced now: prices are never stored in it.")
class Cart(relay.Node):
    id: relay.NodeID[str]
    lines: list[CartLine] = strawberry.field(description="The lines, oldest first.")
    item_count: int = strawberry.field(description="Units in the lines that can be bought.")
    subtotal: Money = strawberry.field(description="List prices of the goods, before discounts.")
    discount: Money = strawberry.field(description="What the product discounts take off.")
    shipping: Money = strawberry.field(
        description="The flat shipping fee; 0 from the free-shipping threshold on."
    )
    total: Money = strawberry.field(description="subtotal - discount + shipping; taxes included.")
    version: int = strawberry.field(description="Grows with every change of the cart.")
    updated_at: datetime | None = strawberry.field(
        description="When it last changed; null for a cart nothing was added to yet."
    )
    expires_at: datetime | None = strawberry.field(
        description="When a guest cart is deleted unless it changes; null for a user's cart."
    )

    @classmethod
    def from_view(cls, view: resolvers.CartView) -> Cart:
        quote = view.quote

        def money(minor_units: int) -> Money:
            return Money.of(minor_units, quote.currency)

        return cls(
            id=str(view.cart_id),
            lines=[
                CartLine(
                    id=strawberry.ID(line.id),
                    quantity=line.quantity,
                    unit_price=money(priced.unit_price),
                    line_total=money(priced.line_total),
                    problem=priced.problem,
                    available_quantity=priced.available_quantity,
                    _product_id=line.product_id,
                )
                for line, priced in view.lines
            ],
            item_count=quote.item_count,
            subtotal=money(quote.subtotal),
            discount=money(quote.discount),
            shipping=money(quote.shipping),
            total=money(quote.total),
            version=view.cart.version if view.cart else 0,
            updated_at=view.cart.updated_at if view.cart else None,
            expires_at=view.cart.expires_at if view.cart else None,
        )


@strawberry.input(description="A product to add to the cart.")
class AddCartLineInput:
    product_id: strawberry.ID = strawberry.field(description="The product.")
    quantity: int = strawberry.field(
        default=1, description="Units to add; the line may hold 1 to CART_MAX_LINE_QUANTITY."
    )
    cart_token: str | None = strawberry.field(
        default=None,
        description=f"{_GUEST_CART_HELP} A guest without one gets a new cart and its token.",
    )


@strawberry.input(description="A new quantity for a cart line.")
class UpdateCartLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    quantity: int = strawberry.field(description="1 to CART_MAX_LINE_QUANTITY units.")
    cart_token: str | None = strawberry.field(default=None, description=_GUEST_CART_HELP)


@strawberry.input(description="A cart line to remove.")
class RemoveCartLineInput:
    line_id: strawberry.ID = strawberry.field(description="The line.")
    cart_token: str | None = strawberry.field(default=None, description=_GUEST_CART_HELP)


@strawberry.type(description="Result of a cart change.")
class CartPayload:
    cart: Cart | None = strawberry.field(default=None, description="The cart after the change.")
    errors: list[CartError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )

    @classmethod
    def of(cls, view: resolvers.CartView) -> Self:
        return cls(cart=Cart.from_view(view))


@strawberry.type(description="Result of `addCartLine`.")
class AddCartLinePayload(CartPayload):
    cart_token: str | None = strawberry.field(
        default=None,
        description=(
            "Set when this call created a guest cart: keep it, and send it with later cart "
            "operations and when signing in. It is shown only this once."
        ),
    )


@strawberry.type(description="Result of `updateCartLine`.")
class UpdateCartLinePayload(CartPayload):
    pass


@strawberry.type(description="Result of `removeCartLine`.")
class RemoveCartLinePayload(CartPayload):
    pass


@strawberry.type(description="Result of `clearCart`.")
class ClearCartPayload(CartPayload):
    pass


@strawberry.type(description="Result of `mergeCart`.")
class MergeCartPayload(CartPayload):
    pass


@strawberry.type
class CartQuery:
    @strawberry.field(
        description=(
            "The signed-in user's cart (empty when they have none), or the guest cart of "
            "`cartToken`; null for a guest without a token or with one that names no cart."
        )
    )
    async def cart(self, info: Info, cart_token: CartTokenArg = None) -> Cart | None:
        view = await resolvers.cart(info.context, cart_token=cart_token)
        return Cart.from_view(view) if view else None


@strawberry.type
class CartMutation:
    @strawberry.mutation(
        description="Add a product to the cart: to its line if it has one, else as a new line."
    )
    @user_errors(AddCartLinePayload, CartError)
    async def add_cart_line(self, info: Info, input: AddCartLineInput) -> AddCartLinePayload:
        view = await resolvers.add_cart_line(
            info.context,
            product=await load_or_error(
                info.context, CART_PRODUCT, input.product_id, field="productId"
            ),
            quantity=input.quantity,
            cart_token=input.cart_token,
        )
        return AddCartLinePayload(cart=Cart.from_view(view), cart_token=view.new_token)

    @strawberry.mutation(description="Change how many units of a product a cart line holds.")
    @user_errors(UpdateCartLinePayload, CartError)
    async def update_cart_line(
        self, info: Info, input: UpdateCartLineInput
    ) -> UpdateCartLinePayload:
        view = await resolvers.update_cart_line(
            info.context,
            line_id=input.line_id,
            quantity=input.quantity,
            cart_token=input.cart_token,
        )
        return UpdateCartLinePayload.of(view)

    @strawberry.mutation(description="Remove a line from the cart.")
    @user_errors(RemoveCartLinePayload, CartError)
    async def remove_cart_line(
        self, info: Info, input: RemoveCartLineInput
    ) -> RemoveCartLinePayload:
        view = await resolvers.remove_cart_line(
            info.context, line_id=input.line_id, cart_token=input.cart_token
        )
        return RemoveCartLinePayload.of(view)

    @strawberry.mutation(description="Remove every line from the cart.")
    @user_errors(ClearCartPayload, CartError)
    async def clear_cart(self, info: Info, cart_token: CartTokenArg = None) -> ClearCartPayload:
        view = await resolvers.clear_cart(info.context, cart_token=cart_token)
        return ClearCartPayload.of(view)

    @strawberry.mutation(
        description=(
            "Merge a guest cart into the signed-in user's cart and delete it: quantities are "
            "added, within the stock and the cart limits. A token of no cart (one already "
            "merged) merges nothing."
        ),
        permission_classes=[IsAuthenticated],
    )
    @user_errors(MergeCartPayload, CartError)
    async def merge_cart(
        self,
        info: Info,
        cart_token: Annotated[
            str | None,
            strawberry.argument(
                description="The guest cart's token (else the X-Cart-Token header)."
            ),
        ] = None,
    ) -> MergeCartPayload:
        view = await resolvers.merge_cart(info.context, cart_token=cart_token)
        return MergeCartPayload.of(view)
