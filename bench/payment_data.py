"""Online payments' data and checks for the payments benchmark: placeOrder answers with their
payment, Razorpay `payment.captured` webhooks from the stand-in, and whether MongoDB holds
exactly what the answers say afterwards.

The webhooks are what the stand-in sends when a shopper pays (`StandInPaymentProvider.pay`
records the payment in `standin_payments`; `webhook` builds the body and signs it with the
webhook secret the API uses, with a new `X-Razorpay-Event-Id`), but posted by the load client
instead of by the stand-in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
from bson import ObjectId
from checkout_data import ORDERED, Buyer
from harness import BenchError
from load_client import Answer, Call
from run_results import Outcome

from documents.orders import Order, OrderStatus, PaymentMethod
from documents.outbox import OutboxMessage
from documents.payments import PaymentState
from documents.settlement import ProcessedWebhook, Settlement
from integrations.payments import StandInPaymentProvider
from schema.webhooks import WEBHOOK_PATH
from server.app import STANDIN_PAYMENTS_COLLECTION
from settings import Settings

# As a storefront asks: the order, and what Razorpay Checkout needs (null for cash on delivery).
PLACE_ORDER_PAYING = (
    "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) "
    "{ order { number } payment { razorpayOrderId amount } errors { code } } }"
)
CONFIRMED = Settlement.CONFIRMED.lower()  # a webhook's status when it confirmed its order
DUPLICATE = "duplicate"  # a webhook's status when its event id was applied before
PAYMENT_CAPTURED = "payment.captured"
# Payments made at the stand-in at once while preparing webhooks.
PAYING_AT_ONCE = 50


@dataclass(frozen=True)
class PendingOrder:
    """An ONLINE order waiting for its payment, as MongoDB holds it."""

    id: ObjectId
    number: int
    total: int
    provider_order_id: str


@dataclass(frozen=True)
class Webhook:
    """A signed `payment.captured` delivery for one order, ready to post (again)."""

    order: PendingOrder
    payment_id: str
    event_id: str
    call: Call


# --- answers ----------------------------------------------------------------------------------


def provider_order_id(answer: Answer) -> str | None:
    """`payment.razorpayOrderId` of a placeOrder answer, if it has one."""
    try:
        payment = orjson.loads(answer.body)["data"]["placeOrder"]["payment"]
        return str(payment["razorpayOrderId"]) if payment else None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def webhook_outcome(answer: Answer) -> Outcome:
    """What one webhook answer was: its `status` ("confirmed", "duplicate" ...), `HTTP <status>`
    or the client's exception."""
    if answer.status == 0:
        return answer.body.decode(), None
    if answer.status != 200:
        return f"HTTP {answer.status}", None
    try:
        return str(orjson.loads(answer.body)["status"]), None
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return "UNREADABLE_ANSWER", None


# --- webhooks ---------------------------------------------------------------------------------


def standin_provider(settings: Settings) -> StandInPaymentProvider:
    """The stand-in on the API's collection and with the API's secrets; it delivers nothing
    itself."""
    key_id, key_secret, webhook_secret = settings.payment_secrets()
    database = Order.get_pymongo_collection().database
    return StandInPaymentProvider(
        database[STANDIN_PAYMENTS_COLLECTION],
        key_id=key_id,
        key_secret=key_secret,
        webhook_secret=webhook_secret,
    )


async def pay_orders(provider: StandInPaymentProvider, orders: list[PendingOrder]) -> list[Webhook]:
    """Pay each order in full at the stand-in and sign its `payment.captured` webhook."""
    paying = asyncio.Semaphore(PAYING_AT_ONCE)

    async def pay(order: PendingOrder) -> Webhook:
        async with paying:
            payment, _ = await provider.pay(order.provider_order_id, succeed=True)
        body, headers = provider.webhook(PAYMENT_CAPTURED, payment=payment)
        call = Call(WEBHOOK_PATH, body, headers=tuple(headers.items()))
        return Webhook(order, payment.id, headers["X-Razorpay-Event-Id"], call)

    return list(await asyncio.gather(*(pay(order) for order in orders)))


# --- invariants -------------------------------------------------------------------------------


def confirmation_key(order_id: ObjectId) -> str:
    """The outbox key of an order's confirmation email (`resolvers/orders/emails.py`)."""
    return f"order-{OrderStatus.CONFIRMED.lower()}:{order_id}"


async def confirmations_in_outbox(order_ids: list[ObjectId]) -> int:
    keys = [confirmation_key(order_id) for order_id in order_ids]
    return await OutboxMessage.get_pymongo_collection().count_documents(
        {"dedup_key": {"$in": keys}}
    )


async def check_placed(
    run: str,
    method: PaymentMethod,
    ordered: list[Buyer],
    outcomes: list[Outcome],
    answers: list[Answer],
) -> list[PendingOrder]:
    """After `check_orders`: the orders are what `method` makes. COD: CONFIRMED with their
    confirmation in the outbox. ONLINE: PENDING_PAYMENT, no confirmation yet, with the provider
    order the answer named, which the stand-in holds for the order's total. The ONLINE orders."""
    numbers = {
        number: answer
        for (outcome, number), answer in zip(outcomes, answers, strict=True)
        if outcome == ORDERED and number is not None
    }
    rows = (
        await Order.get_pymongo_collection()
        .find({"user_id": {"$in": [buyer.user_id for buyer in ordered]}})
        .to_list()
    )
    status = OrderStatus.CONFIRMED if method is PaymentMethod.COD else OrderStatus.PENDING_PAYMENT
    wrong = Counter(
        f"{row['payment_method']} {row['status']}"
        for row in rows
        if (row["payment_method"], row["status"]) != (method, status)
    )
    if wrong:
        raise BenchError(f"{run}: {method} orders stored as {dict(wrong)}")
    order_ids = [row["_id"] for row in rows]
    confirmations = await confirmations_in_outbox(order_ids)
    if method is PaymentMethod.COD:
        if confirmations != len(rows):
            raise BenchError(
                f"{run}: {len(rows)} COD orders, {confirmations} confirmations in the outbox"
            )
        return []
    if confirmations:
        raise BenchError(f"{run}: {confirmations} unpaid orders have a confirmation email")
    pending = [pending_order(run, row, numbers[row["number"]]) for row in rows]
    await check_standin_orders(run, pending)
    return pending


def pending_order(run: str, row: dict[str, Any], answer: Answer) -> PendingOrder:
    payment = row.get("payment") or {}
    stored = payment.get("provider_order_id")
    answered = provider_order_id(answer)
    if not stored or not stored.startswith("order_") or stored != answered:
        raise BenchError(
            f"{run}: order #{row['number']} has provider order {stored!r}, its answer {answered!r}"
        )
    if payment.get("state") != PaymentState.AWAITING:
        raise BenchError(f"{run}: unpaid order #{row['number']} has payment {payment.get('state')}")
    return PendingOrder(row["_id"], row["number"], row["total"], stored)


async def check_standin_orders(run: str, pending: list[PendingOrder]) -> None:
    """The stand-in made one provider order per ONLINE order, for its total, not yet paid."""
    collection = Order.get_pymongo_collection().database[STANDIN_PAYMENTS_COLLECTION]
    made = {
        row["_id"]: row
        async for row in collection.find(
            {"_id": {"$in": [order.provider_order_id for order in pending]}, "kind": "order"}
        )
    }
    for order in pending:
        entity = made.get(order.provider_order_id)
        if entity is None or (entity["amount"], entity["status"]) != (order.total, "created"):
            raise BenchError(
                f"{run}: the stand-in holds {entity!r} for order #{order.number} "
                f"(total {order.total})"
            )


async def check_webhooks(
    run: str,
    webhooks: list[Webhook],
    outcomes: list[Outcome],
    answers: list[Answer],
    *,
    expected: str,
    events_so_far: int,
) -> None:
    """Every answer was `expected`, and each order was confirmed by its payment exactly once:
    CONFIRMED with one CONFIRMED entry in its history, PAID in full by that one payment, one
    confirmation in the outbox, and its event recorded once (`events_so_far` in all)."""
    if server_errors := Counter(a.status for a in answers if a.status >= 500):
        raise BenchError(f"{run}: the API answered with server errors: {dict(server_errors)}")
    counts = Counter(outcome for outcome, _ in outcomes)
    if counts != {expected: len(webhooks)}:
        raise BenchError(f"{run}: the answers were {dict(counts)}, expected all {expected!r}")
    paid_by = {webhook.order.id: webhook for webhook in webhooks}
    rows = Order.get_pymongo_collection().find({"_id": {"$in": list(paid_by)}})
    settled = 0
    async for row in rows:
        webhook = paid_by[row["_id"]]
        confirmed = [e for e in row["history"] if e["to_status"] == OrderStatus.CONFIRMED]
        payment = row["payment"]
        records = [(p["id"], p["status"], p["amount"]) for p in payment["payments"]]
        if (
            row["status"] != OrderStatus.CONFIRMED
            or len(confirmed) != 1
            or payment["state"] != PaymentState.PAID
            or payment["amount_paid"] != row["total"]
            or records != [(webhook.payment_id, "captured", row["total"])]
        ):
            raise BenchError(
                f"{run}: order #{row['number']} is {row['status']} with {len(confirmed)} "
                f"confirmations in its history, payment {payment['state']}, "
                f"{payment['amount_paid']} of {row['total']} paid by {records}"
            )
        settled += 1
    if settled != len(webhooks):
        raise BenchError(f"{run}: {len(webhooks)} orders paid, {settled} found")
    events = ProcessedWebhook.get_pymongo_collection()
    found = events.find({"_id": {"$in": [w.event_id for w in webhooks]}})
    recorded = Counter([event["outcome"] async for event in found])
    total = await events.count_documents({})
    if recorded != {CONFIRMED: len(webhooks)} or total != events_so_far:
        raise BenchError(
            f"{run}: processed_webhooks holds {dict(recorded)} for these {len(webhooks)} events "
            f"and {total} in all, expected {events_so_far}"
        )
    confirmations = await confirmations_in_outbox(list(paid_by))
    if confirmations != len(webhooks):
        raise BenchError(
            f"{run}: {confirmations} confirmations in the outbox for {len(webhooks)} paid orders"
        )


async def count_still_pending(orders: list[PendingOrder]) -> int:
    return await Order.get_pymongo_collection().count_documents(
        {"_id": {"$in": [o.id for o in orders]}, "status": OrderStatus.PENDING_PAYMENT.value}
    )
