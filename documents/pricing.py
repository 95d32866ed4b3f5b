"""The only place a cart's or an order's totals are computed, in integer minor units.

Prices include tax. A line's unit price is the product's final price (after its discount) as it is
now; `subtotal` is the sum of list prices, `discount` what the product discounts take off it, and
shipping a flat fee below a free-shipping threshold (on what is paid for the goods). Lines whose
product cannot be bought (gone, unpublished or archived) are priced at nothing and flagged; a line
short of stock is priced and flagged, and checkout refuses it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from bson import ObjectId

from documents.catalog import Product


@dataclass(frozen=True)
class ShippingRule:
    """A flat fee, waived once the goods cost `free_from` or more (both in minor units)."""

    fee: int
    free_from: int

    def charge(self, goods_total: int) -> int:
        return 0 if goods_total == 0 or goods_total >= self.free_from else self.fee


class LineProblem(enum.StrEnum):
    """Why a line cannot be bought as it is."""

    UNAVAILABLE = "UNAVAILABLE"  # the product is gone, unpublished or archived
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"  # fewer units are left than the line asks for


@dataclass(frozen=True)
class PricedLine:
    product_id: ObjectId
    product: Product | None
    quantity: int
    unit_price: int  # final price now, 0 when unavailable
    list_price: int
    line_total: int
    problem: LineProblem | None

    @property
    def available_quantity(self) -> int:
        """Units that can be bought now: none of a product that cannot be bought at all."""
        if self.product is None or self.problem is LineProblem.UNAVAILABLE:
            return 0
        return self.product.stock


@dataclass(frozen=True)
class Quote:
    """Priced lines and totals; `total = subtotal - discount + shipping`."""

    lines: list[PricedLine]
    currency: str
    item_count: int
    subtotal: int
    discount: int
    shipping: int
    total: int


def price_lines(
    lines: Sequence[tuple[ObjectId, int]],
    products: dict[ObjectId, Product],
    *,
    currency: str,
    shipping: ShippingRule,
) -> Quote:
    """Price `lines` (product id, quantity) against the products as they are now."""
    priced = []
    for product_id, quantity in lines:
        product = products.get(product_id)
        if product is None or not product.is_visible or product.currency != currency:
            priced.append(
                PricedLine(product_id, product, quantity, 0, 0, 0, LineProblem.UNAVAILABLE)
            )
            continue
        problem = LineProblem.INSUFFICIENT_STOCK if product.stock < quantity else None
        priced.append(
            PricedLine(
                product_id,
                product,
                quantity,
                unit_price=product.final_price,
                list_price=product.price,
                line_total=product.final_price * quantity,
                problem=problem,
            )
        )
    counted = [line for line in priced if line.problem is not LineProblem.UNAVAILABLE]
    subtotal = sum(line.list_price * line.quantity for line in counted)
    goods = sum(line.line_total for line in counted)
    shipping_fee = shipping.charge(goods)
    return Quote(
        lines=priced,
        currency=currency,
        item_count=sum(line.quantity for line in counted),
        subtotal=subtotal,
        discount=subtotal - goods,
        shipping=shipping_fee,
        total=goods + shipping_fee,
    )
