"""The worker's side of payments: the refund job, and the sweep that expires reservations,
reconciles with the provider and picks up refunds nobody asked for yet."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bson import ObjectId

from documents import settlement
from documents.common import stored_id, utc_now
from documents.orders import Order
from integrations.jobs import JobFunction
from integrations.payments import PaymentProviderError, PaymentRejectedError
from resolvers.context import Context
from resolvers.payments.effects import OrderEffects
from resolvers.payments.service import REFUND_LEASE, payment_report, refund_report, retry_delay

logger = logging.getLogger("commerce.payments")

_BATCH = 100
_AT_ONCE = 8  # provider calls one sweep makes at a time
T = TypeVar("T")


async def run_refund(ctx: Context, order_id: str, key: str) -> str:
    """Ask the provider for one REQUESTED refund, once: claimed first, so two jobs never both
    ask; after an unknown outcome, the provider's refunds of the payment are looked through for
    this key (the receipt) before asking again."""
    effects = OrderEffects(ctx)
    provider = ctx.services.payments.provider
    claimed = await settlement.claim_refund(
        ObjectId(order_id), key, now=utc_now(), lease=REFUND_LEASE
    )
    if claimed is None:
        return "nothing to do"
    order, refund = claimed
    try:
        made = None
        if refund.attempts > 1:  # an earlier call may have reached the provider
            made = next(
                (
                    r
                    for r in await provider.payment_refunds(refund.payment_id)
                    if r.receipt == refund.receipt
                ),
                None,
            )
        if made is None:
            made = await provider.refund(
                refund.payment_id,
                amount=refund.amount,
                receipt=refund.receipt,
                notes={"order_id": order_id, "refund_key": key},
            )
    except PaymentRejectedError as error:
        await settlement.refund_attempt_failed(
            stored_id(order),
            key,
            error=str(error),
            retry_at=None,
            effects=effects,
        )
        return "refused"
    except PaymentProviderError as error:
        logger.warning("refund %s of order #%s: %s; will try again", key, order.number, error)
        await settlement.refund_attempt_failed(
            stored_id(order),
            key,
            error=str(error),
            retry_at=utc_now() + retry_delay(refund.attempts),
            effects=effects,
        )
        return "will retry"
    await settlement.record_refund(refund_report(made), key=key, effects=effects)
    return "asked"


@dataclass(frozen=True)
class SweepResult:
    expired: int
    checked: int
    refunds: int


async def sweep_payments(ctx: Context) -> SweepResult:
    """One round of the periodic payment work; each step is safe to repeat and to run in several
    workers at once (every change is a conditional, transactional one)."""
    now = utc_now()
    effects = OrderEffects(ctx)

    async def expire(order: Order) -> bool:
        # Ask first: a payment made at the last moment whose webhook is still on its way. An
        # unreachable provider does not hold the stock: a later payment is still settled.
        await _reconcile(ctx, order)
        expired = await settlement.expire_reservation(stored_id(order), now=now, effects=effects)
        return expired is not None

    async def check(order: Order) -> bool:
        try:
            await _reconcile(ctx, order)
        finally:
            # Asked or not (even failing unexpectedly), the next check moves on: an order the
            # provider cannot answer about must not keep the others waiting.
            await settlement.payment_checked(stored_id(order), now=now)
        return True

    async def refund(due: tuple[ObjectId, str]) -> bool:
        return await run_refund(ctx, str(due[0]), due[1]) == "asked"

    expired = await _each(expire, await settlement.reservations_ended(now, limit=_BATCH))
    checked = await _each(check, await settlement.payments_to_check(now, limit=_BATCH))
    refunds = await _each(refund, await settlement.refunds_due(now, limit=_BATCH))
    return SweepResult(expired, checked, refunds)


async def _each(work: Callable[[T], Awaitable[bool]], items: list[T]) -> int:
    """Run `work` on every item, a few at a time (each may wait on the provider), each on its
    own: one that fails is logged and the others go on. Returns how many said True."""
    limit = asyncio.Semaphore(_AT_ONCE)

    async def one(item: T) -> bool:
        async with limit:
            try:
                return await work(item)
            except Exception:
                what = getattr(item, "number", item)  # an order by its number
                logger.exception("payment sweep: %s failed; the next round tries again", what)
                return False

    return sum(await asyncio.gather(*(one(item) for item in items)))


async def _reconcile(ctx: Context, order: Order) -> bool:
    """Settle whatever the provider knows about the order's payments and refunds; False when it
    could not be asked (the next round tries again)."""
    online = order.payment
    payments = ctx.services.payments
    if online is None or online.provider_order_id is None or online.provider != payments.name:
        return True  # nothing to ask, or made with another provider (keys changed since)
    provider = payments.provider
    effects = OrderEffects(ctx)
    try:
        for payment in await provider.order_payments(online.provider_order_id):
            async with settlement.settling_turns(payment.order_id):
                await settlement.settle_payment(payment_report(payment), effects=effects)
        for record in online.payments:
            if record.captured and any(r.payment_id == record.id for r in online.refunds):
                for refund in await provider.payment_refunds(record.id):
                    await settlement.record_refund(refund_report(refund), effects=effects)
    except PaymentProviderError as error:
        logger.warning("could not reconcile order #%s: %s", order.number, error)
        return False
    return True


def payment_jobs(new_context: Callable[[], Context]) -> dict[str, JobFunction]:
    async def refund_payment(order_id: str, key: str) -> str:
        return await run_refund(new_context(), order_id, key)

    return {"refund_payment": refund_payment}
