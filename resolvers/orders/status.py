"""Moving orders through their states: a buyer cancelling, an admin packing, shipping, delivering
or cancelling. Each move is one unit of work with its email."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from documents.accounts import Role
from documents.common import stored_id
from documents.orders import (
    ORDER_TRANSITIONS,
    Order,
    OrderError,
    OrderErrorCode,
    OrderStatus,
    change_order_status,
)
from documents.transactions import in_transaction
from documents.turns import product_turns
from resolvers.accounts.viewer import Viewer
from resolvers.context import Context
from resolvers.payments.effects import OrderEffects

# What a buyer may cancel: an order not yet shipped (admins may cancel until it is delivered).
BUYER_CANCELLABLE = frozenset(
    {OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.PACKED}
)


async def move_order(
    ctx: Context,
    order: Order,
    to_status: OrderStatus,
    *,
    viewer: Viewer | None,
    note: str = "",
    allowed_from: frozenset[OrderStatus] | None = None,
) -> Order:
    """Move `order` to `to_status` through the transitions table; its email goes out with it."""

    async def work(session: AsyncClientSession) -> Order:
        before, after = await change_order_status(
            stored_id(order),
            to_status,
            actor_id=viewer.user.id if viewer else None,
            note=note,
            allowed_from=allowed_from,
            session=session,
        )
        # Its email; its products' cached stock when it came back; a paid order's refund.
        await OrderEffects(ctx).order_moved(before, after, session)
        return after

    if to_status is not OrderStatus.CANCELLED:
        return await in_transaction(work)
    # Its stock goes back: take turns with this process's other changes of those products.
    async with product_turns(line.product_id for line in order.lines):
        return await in_transaction(work)


async def cancel_order(ctx: Context, viewer: Viewer, order: Order, reason: str) -> Order:
    """The buyer cancels while the order is not shipped yet; an admin while the table allows.
    A paid order is refunded (what is left of its payment), by the refund job."""
    is_admin = viewer.user.role is Role.ADMIN
    if order.user_id != viewer.user.id and not is_admin:
        raise OrderError(OrderErrorCode.ORDER_NOT_FOUND, "No such order", field="id")
    allowed_from = None if is_admin else BUYER_CANCELLABLE
    return await move_order(
        ctx, order, OrderStatus.CANCELLED, viewer=viewer, note=reason, allowed_from=allowed_from
    )


# Reached only by the system: an online order is CONFIRMED by its payment and expires by the
# sweep, never by hand.
SYSTEM_ONLY = frozenset({OrderStatus.CONFIRMED, OrderStatus.PAYMENT_EXPIRED})


async def update_order_status(
    ctx: Context, viewer: Viewer, order: Order, to_status: OrderStatus, note: str
) -> Order:
    """An admin moves an order along the table; confirming is the payment's to do."""
    if to_status in SYSTEM_ONLY:
        raise OrderError(
            OrderErrorCode.INVALID_ORDER_TRANSITION,
            f"Only the system makes an order {to_status} (a payment, a sweep), not by hand",
            field="status",
            extensions={"currentStatus": str(order.status)},
        )
    return await move_order(ctx, order, to_status, viewer=viewer, note=note)


def next_statuses(order: Order) -> list[OrderStatus]:
    """Where an admin may move the order next, in the table's order."""
    allowed = ORDER_TRANSITIONS[order.status] - SYSTEM_ONLY
    return [status for status in OrderStatus if status in allowed]
