"""The emails orders send: confirmation, shipped, delivered, cancelled."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from documents.money import to_decimal
from documents.orders import Order, OrderStatus, PaymentMethod
from integrations.email import EmailMessage
from resolvers.accounts.emails import email_html
from resolvers.context import Context
from resolvers.outbox import enqueue_email

_PAYMENT = {PaymentMethod.COD: "to pay in cash on delivery", PaymentMethod.ONLINE: "paid online"}


def _money(amount: int, order: Order) -> str:
    return f"{to_decimal(amount, order.currency)} {order.currency}"


def order_url(ctx: Context, order: Order) -> str:
    return f"{ctx.settings.frontend_url}/orders/{order.number}"


def confirmation_email(ctx: Context, order: Order) -> EmailMessage:
    lines = [f"Thank you for your order #{order.number}.", "What you ordered:"]
    lines += [
        f"{line.quantity} x {line.name}: {_money(line.line_total, order)}" for line in order.lines
    ]
    lines += [
        f"Subtotal {_money(order.subtotal, order)}, discount {_money(order.discount, order)}, "
        f"shipping {_money(order.shipping, order)}.",
        f"Total {_money(order.total, order)}, {_PAYMENT[order.payment_method]}.",
        f"It goes to {order.shipping_address.name}, {order.shipping_address.city} "
        f"{order.shipping_address.postal_code}.",
    ]
    url = order_url(ctx, order)
    return EmailMessage(
        to=order.email,
        subject=f"Order #{order.number} confirmed",
        text="\n\n".join([*lines, url]),
        html=email_html(lines, action=("See your order", url)),
    )


_STATUS_EMAILS = {
    OrderStatus.SHIPPED: ("Order #{number} is on its way", "Your order #{number} has shipped."),
    OrderStatus.DELIVERED: ("Order #{number} was delivered", "Your order #{number} was delivered."),
    OrderStatus.CANCELLED: ("Order #{number} was cancelled", "Your order #{number} was cancelled."),
    OrderStatus.PAYMENT_EXPIRED: (
        "Order #{number} was not paid in time",
        "We did not receive the payment for your order #{number} in time, so its items went back "
        "on sale. If you paid after all, the order goes ahead or your money comes back in full.",
    ),
}


def status_email(ctx: Context, order: Order) -> EmailMessage | None:
    """The email a move to the order's current status sends, if that status sends one: the
    confirmation once it is CONFIRMED (at placement for cash on delivery, once paid online)."""
    if order.status is OrderStatus.CONFIRMED:
        return confirmation_email(ctx, order)
    if order.status not in _STATUS_EMAILS:
        return None
    subject, opening = (text.format(number=order.number) for text in _STATUS_EMAILS[order.status])
    note = order.history[-1].note if order.history else ""
    lines = [opening, *([note] if note else [])]
    url = order_url(ctx, order)
    return EmailMessage(
        to=order.email,
        subject=subject,
        text="\n\n".join([*lines, url]),
        html=email_html(lines, action=("See your order", url)),
    )


async def send_status_email(
    ctx: Context, order: Order, session: AsyncClientSession, *, new_order: bool = False
) -> None:
    """Put the email of the order's current status in the outbox, in the caller's transaction;
    once per order and status, however often a move is retried or replayed. `new_order`: the
    transaction has just written the order, so it has sent nothing yet."""
    if message := status_email(ctx, order):
        key = f"order-{order.status.lower()}:{order.id}"
        await enqueue_email(ctx, message, session=session, key=key, new_key=new_order)
