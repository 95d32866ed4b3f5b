"""What a payment or order change does beyond the order's document: emails, cached stock, and
waking the refund job. One implementation for requests, webhooks and the worker's sweeps."""

from __future__ import annotations

import logging

from pymongo.asynchronous.client_session import AsyncClientSession

from documents.catalog import Product
from documents.money import to_decimal
from documents.orders import Order, OrderStatus
from documents.payments import RefundRecord, RefundStatus
from documents.transactions import run_after_commit
from integrations.email import EmailMessage
from resolvers.accounts.emails import email_html
from resolvers.context import Context
from resolvers.orders.emails import order_url, send_status_email
from resolvers.outbox import enqueue_email

logger = logging.getLogger("commerce.payments")

# Moves that change what the order holds of its products' stock.
_STOCK_MOVES = frozenset({OrderStatus.CANCELLED, OrderStatus.PAYMENT_EXPIRED})


class OrderEffects:
    """`documents.settlement.PaymentEffects` for one context (a request, a job)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def order_moved(self, before: Order, after: Order, session: AsyncClientSession) -> None:
        if after.status in _STOCK_MOVES or after.stock_round != before.stock_round:
            ids = [line.product_id for line in after.lines]
            products = await Product.find({"_id": {"$in": ids}}, session=session).to_list()
            await self.ctx.query_cache.product_changed(*products)
        await send_status_email(self.ctx, after, session)
        new = _new_refunds(before, after)
        if new:
            await self.refunds_requested(after, new, session)

    async def refunds_requested(
        self, order: Order, refunds: list[RefundRecord], session: AsyncClientSession
    ) -> None:
        payments = self.ctx.services.payments
        for refund in refunds:
            if refund.automatic:
                # The system returns a payment the order could not take: say why.
                await self._refund_email(order, refund, session, started=True)

            async def nudge(refund: RefundRecord = refund) -> None:
                await payments.hand_over_refund(order.id, refund)

            await run_after_commit(nudge)

    async def refund_finished(
        self, order: Order, refund: RefundRecord, session: AsyncClientSession
    ) -> None:
        if refund.status is RefundStatus.PROCESSED:
            await self._refund_email(order, refund, session, started=False)
        else:
            logger.error(
                "refund %s of order #%s (%s paise) failed: %s; an admin must look",
                refund.key,
                order.number,
                refund.amount,
                refund.error or refund.provider_status,
            )

    async def _refund_email(
        self, order: Order, refund: RefundRecord, session: AsyncClientSession, *, started: bool
    ) -> None:
        amount = f"{to_decimal(refund.amount, refund.currency)} {refund.currency}"
        if started:
            subject = f"We are refunding your payment for order #{order.number}"
            lines = [
                f"Your payment of {amount} for order #{order.number} reached us, but the order "
                f"could not take it ({refund.reason}).",
                "We are refunding it in full; it reaches your account in 5 to 7 working days.",
            ]
        else:
            subject = f"Refund of {amount} for order #{order.number}"
            lines = [
                f"We refunded {amount} for order #{order.number}.",
                "It reaches your account in 5 to 7 working days, depending on your bank.",
            ]
        url = order_url(self.ctx, order)
        message = EmailMessage(
            to=order.email,
            subject=subject,
            text="\n\n".join([*lines, url]),
            html=email_html(lines, action=("See your order", url)),
        )
        kind = "started" if started else "processed"
        key = f"refund-{kind}:{order.id}:{refund.key}"
        await enqueue_email(self.ctx, message, session=session, key=key)


def _new_refunds(before: Order, after: Order) -> list[RefundRecord]:
    known = {refund.key for refund in (before.payment.refunds if before.payment else [])}
    return [r for r in (after.payment.refunds if after.payment else []) if r.key not in known]
