"""Order queries and mutations: a buyer's orders, the admin list and sales, status changes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from documents import orders as documents
from documents.orders import MAX_NOTE_LENGTH, OrderErrorCode, OrderStatus, PaymentMethod
from documents.orders import OrderError as OrderDomainError
from documents.payments import PaymentState
from resolvers.accounts.viewer import require_admin, require_viewer
from resolvers.orders import reads, sales
from resolvers.orders import status as order_status
from resolvers.pagination import PageArgs
from schema.common import Money
from schema.ids import decode_global_id
from schema.info import Info
from schema.orders.types import Order, OrderConnection, OrderError
from schema.pagination import AfterArg, BeforeArg, FirstArg, LastArg
from schema.payloads import user_errors
from schema.permissions import IsAdmin, IsAuthenticated


@strawberry.enum(description="What the admin order list is ordered by.")
class OrderSortField(enum.Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When it was placed.")
    TOTAL = strawberry.enum_value("TOTAL", description="Its total.")
    NUMBER = strawberry.enum_value("NUMBER", description="Its order number.")


@strawberry.input(description="How to order the order list.")
class OrderSortInput:
    field: OrderSortField = strawberry.field(description="The value to order by.")
    descending: bool = strawberry.field(default=True, description="Largest or newest first.")


@strawberry.input(description="Conditions a listed order must meet; all of them are combined.")
class OrderFilter:
    status: OrderStatus | None = strawberry.field(default=None, description="Only this status.")
    payment_method: PaymentMethod | None = strawberry.field(
        default=None, description="Only this payment method."
    )
    created_from: datetime | None = strawberry.field(
        default=None, description="Placed at or after (UTC)."
    )
    created_to: datetime | None = strawberry.field(default=None, description="Placed before (UTC).")
    user_id: strawberry.ID | None = strawberry.field(default=None, description="Only this buyer.")
    payment_state: PaymentState | None = strawberry.field(
        default=None, description="Online orders whose money stands so (NEEDS_REVIEW, ...)."
    )
    search: str | None = strawberry.field(
        default=None, description="An order number (#1001 or 1001) or the buyer's email."
    )


@strawberry.type(description="Sales on one day (UTC).")
class DaySales:
    day: str = strawberry.field(description="YYYY-MM-DD.")
    orders: int = strawberry.field(description="Orders placed.")
    units: int = strawberry.field(description="Units sold.")
    revenue: Money = strawberry.field(description="Sum of order totals.")


@strawberry.type(description="A best-selling product.")
class ProductSales:
    product_id: strawberry.ID = strawberry.field(description="Global ID of the product.")
    name: str = strawberry.field(description="Its name on the latest order.")
    units: int = strawberry.field(description="Units sold.")
    revenue: Money = strawberry.field(description="Sum of its line totals.")


@strawberry.type(description="Sales over a period: placed orders that were not cancelled.")
class SalesSummary:
    orders: int = strawberry.field(description="Orders placed.")
    units: int = strawberry.field(description="Units sold.")
    revenue: Money = strawberry.field(description="Sum of order totals.")
    by_day: list[DaySales] = strawberry.field(description="Day by day, oldest first.")
    top_products: list[ProductSales] = strawberry.field(description="Best sellers by revenue.")


@strawberry.type(description="Result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(default=None, description="The order after it.")
    errors: list[OrderError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type(description="Result of `cancelOrder`.")
class CancelOrderPayload(OrderPayload):
    pass


@strawberry.type(description="Result of `updateOrderStatus`.")
class UpdateOrderStatusPayload(OrderPayload):
    pass


ORDER_ID_HELP = "The order's global ID."
REASON_HELP = f"Why, in at most {MAX_NOTE_LENGTH} characters; may be empty."
NOTE_HELP = f"Why, for the order's history, in at most {MAX_NOTE_LENGTH} characters; may be empty."


async def _order_for(info: Info, global_id: strawberry.ID) -> documents.Order:
    """Load-or-error for orders: someone else's order is as unknown as a missing one."""
    order_id = decode_global_id(global_id, "Order", field="id")
    viewer = await require_viewer(info.context)
    found = reads.visible_to(viewer, await info.context.loaders.order_by_id.load(order_id))
    if found is None:
        raise OrderDomainError(OrderErrorCode.ORDER_NOT_FOUND, "No such order", field="id")
    return found


@strawberry.type
class OrderQuery:
    @strawberry.field(
        description="The signed-in user's orders, newest first.",
        permission_classes=[IsAuthenticated],
    )
    async def my_orders(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
    ) -> OrderConnection:
        viewer = await require_viewer(info.context)
        page = await reads.my_orders(
            info.context, viewer, page=PageArgs(first=first, after=after, last=last, before=before)
        )
        return OrderConnection.from_page(page, Order.from_document)

    @strawberry.field(
        description="An order by `id` or `number` (exactly one), for its buyer or an admin; "
        "null for anyone else."
    )
    async def order(
        self,
        info: Info,
        id: Annotated[strawberry.ID | None, strawberry.argument(description="Global ID.")] = None,
        number: Annotated[int | None, strawberry.argument(description="Order number.")] = None,
    ) -> Order | None:
        order_id = decode_global_id(id, "Order") if id is not None else None
        found = await reads.order(info.context, order_id=order_id, number=number)
        return Order.from_document(found) if found else None

    @strawberry.field(description="All orders (admins only).", permission_classes=[IsAdmin])
    async def orders(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: Annotated[OrderFilter | None, strawberry.argument(description="Filters.")] = None,
        sort_by: Annotated[
            OrderSortInput | None, strawberry.argument(description="Order; newest first.")
        ] = None,
    ) -> OrderConnection:
        given = filter or OrderFilter()
        sort = sort_by or OrderSortInput(field=OrderSortField.CREATED_AT)
        page = await reads.orders(
            info.context,
            page=PageArgs(first=first, after=after, last=last, before=before),
            order_filter=reads.OrderFilter(
                status=given.status,
                payment_method=given.payment_method,
                created_from=given.created_from,
                created_to=given.created_to,
                user_id=decode_global_id(given.user_id, "User", field="filter.userId"),
                payment_state=given.payment_state,
                search=given.search,
            ),
            sort=reads.OrderSortField[sort.field.name],
            descending=sort.descending,
        )
        return OrderConnection.from_page(page, Order.from_document)

    @strawberry.field(
        description="Orders, units and revenue by day, and best sellers (admins only).",
        permission_classes=[IsAdmin],
    )
    async def sales_summary(
        self,
        info: Info,
        from_: Annotated[
            datetime, strawberry.argument(name="from", description="Start, inclusive (UTC).")
        ],
        to: Annotated[datetime, strawberry.argument(description="End, exclusive (UTC).")],
    ) -> SalesSummary:
        summary = await sales.sales_summary(info.context, start=from_, end=to)

        def money(amount: int) -> Money:
            return Money.of(amount, summary.currency)

        return SalesSummary(
            orders=summary.orders,
            units=summary.units,
            revenue=money(summary.revenue),
            by_day=[
                DaySales(day=d.day, orders=d.orders, units=d.units, revenue=money(d.revenue))
                for d in summary.by_day
            ],
            top_products=[
                ProductSales(
                    product_id=strawberry.ID(str(relay.GlobalID("Product", str(p.product_id)))),
                    name=p.name,
                    units=p.units,
                    revenue=money(p.revenue),
                )
                for p in summary.top_products
            ],
        )


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Cancel an order: buyers before it ships, admins before it is delivered. "
        "Its stock goes back, and what was paid online is refunded.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(CancelOrderPayload, OrderError)
    async def cancel_order(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description=ORDER_ID_HELP)],
        reason: Annotated[str, strawberry.argument(description=REASON_HELP)] = "",
    ) -> CancelOrderPayload:
        viewer = await require_viewer(info.context)
        order = await _order_for(info, id)
        cancelled = await order_status.cancel_order(info.context, viewer, order, reason)
        return CancelOrderPayload(order=Order.from_document(cancelled))

    @strawberry.mutation(
        description="Move an order to its next status (admins only).", permission_classes=[IsAdmin]
    )
    @user_errors(UpdateOrderStatusPayload, OrderError)
    async def update_order_status(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description=ORDER_ID_HELP)],
        status: Annotated[
            OrderStatus,
            strawberry.argument(description="The status to move to; one of its `nextStatuses`."),
        ],
        note: Annotated[str, strawberry.argument(description=NOTE_HELP)] = "",
    ) -> UpdateOrderStatusPayload:
        viewer = await require_admin(info.context)
        order = await _order_for(info, id)
        moved = await order_status.update_order_status(info.context, viewer, order, status, note)
        return UpdateOrderStatusPayload(order=Order.from_document(moved))
