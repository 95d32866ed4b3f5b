"""Reading orders: a buyer's own, one by id or number, the admin list, and sales figures."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId

from documents.accounts import Role
from documents.errors import InvalidInputError
from documents.orders import Order, OrderStatus, PaymentMethod
from documents.payments import PaymentState
from documents.text import is_visible_text
from resolvers.accounts.viewer import Viewer, private_viewer
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, find_page

MAX_SEARCH_LENGTH = 254
_NUMBER = re.compile(r"^#?([0-9]{1,18})$")


class OrderSortField(enum.StrEnum):
    CREATED_AT = "created_at"
    TOTAL = "total"
    NUMBER = "number"


_VALUE_TYPES: dict[OrderSortField, type] = {
    OrderSortField.CREATED_AT: datetime,
    OrderSortField.TOTAL: int,
    OrderSortField.NUMBER: int,
}


def _ordering(field: OrderSortField, descending: bool) -> Ordering:
    direction = -1 if descending else 1
    name = f"order_{field.value}_{direction}"
    return Ordering(name, field.value, direction, _VALUE_TYPES[field])


NEWEST_FIRST = _ordering(OrderSortField.CREATED_AT, descending=True)


@dataclass(frozen=True)
class OrderFilter:
    status: OrderStatus | None = None
    payment_method: PaymentMethod | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    user_id: ObjectId | None = None
    payment_state: PaymentState | None = None
    search: str | None = None  # an order number ("#1001" or "1001") or an email


def _conditions(order_filter: OrderFilter) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = [{}]
    if order_filter.status is not None:
        conditions.append({"status": order_filter.status})
    if order_filter.payment_method is not None:
        conditions.append({"payment_method": order_filter.payment_method})
    if order_filter.created_from is not None:
        conditions.append({"created_at": {"$gte": order_filter.created_from}})
    if order_filter.created_to is not None:
        conditions.append({"created_at": {"$lt": order_filter.created_to}})
    if order_filter.user_id is not None:
        conditions.append({"user_id": order_filter.user_id})
    if order_filter.payment_state is not None:
        conditions.append(
            {"payment_method": PaymentMethod.ONLINE, "payment.state": order_filter.payment_state}
        )
    if order_filter.search and order_filter.search.strip():
        search = order_filter.search.strip()
        if len(search) > MAX_SEARCH_LENGTH or not is_visible_text(search):
            raise InvalidInputError(
                f"search takes up to {MAX_SEARCH_LENGTH} visible characters", field="search"
            )
        number = _NUMBER.fullmatch(search)
        conditions.append({"number": int(number[1])} if number else {"email": search.lower()})
    return conditions


async def orders(
    ctx: Context,
    *,
    page: PageArgs,
    order_filter: OrderFilter,
    sort: OrderSortField = OrderSortField.CREATED_AT,
    descending: bool = True,
) -> Page[Order]:
    """All orders matching the filter (admins; the schema declares it)."""
    page = page.validated()
    run = ctx.loaders.order_pipelines.load
    return await find_page(
        run, _conditions(order_filter), _ordering(sort, descending), page, Order.model_validate
    )


async def my_orders(ctx: Context, viewer: Viewer, *, page: PageArgs) -> Page[Order]:
    """The viewer's orders, newest first."""
    page = page.validated()
    run = ctx.loaders.order_pipelines.load
    conditions = [{"user_id": viewer.user.id}]
    return await find_page(run, conditions, NEWEST_FIRST, page, Order.model_validate)


async def product_orders(ctx: Context, product_id: ObjectId, *, page: PageArgs) -> Page[Order]:
    """Orders with the product among their lines, newest first (admins): read from the orders'
    own snapshots, so they stay for archived and deleted products."""
    page = page.validated()
    run = ctx.loaders.order_pipelines.load
    conditions = [{"lines.product_id": product_id}]
    return await find_page(run, conditions, NEWEST_FIRST, page, Order.model_validate)


def visible_to(viewer: Viewer | None, order: Order | None) -> Order | None:
    """The order for its buyer and for admins; None for anyone else."""
    if order is None or viewer is None:
        return None
    if order.user_id == viewer.user.id or viewer.user.role is Role.ADMIN:
        return order
    return None


async def order(
    ctx: Context, *, order_id: ObjectId | None = None, number: int | None = None
) -> Order | None:
    """One order by id or number (exactly one), for its buyer or an admin; null otherwise."""
    if (order_id is None) == (number is None):
        raise InvalidInputError("Pass exactly one of id and number", field="id")
    viewer = await private_viewer(ctx)
    if order_id is not None:
        found = await ctx.loaders.order_by_id.load(order_id)
    else:
        found = await ctx.loaders.order_by_number.load(number)
    return visible_to(viewer, found)
