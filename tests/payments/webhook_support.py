"""Plumbing for the webhook tests: a stand-in provider the test drives by hand, ONLINE orders
placed through the API, webhook deliveries, and snapshots to compare before and after."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from documents.carts import Cart, CartLine
from documents.catalog import Product
from documents.orders import Order
from documents.outbox import OutboxMessage
from documents.settlement import ProcessedWebhook
from integrations.payments import (
    ProviderOrder,
    ProviderRefund,
    StandInPaymentProvider,
    order_from_entity,
)
from resolvers.payments.service import PaymentService
from server.app import STANDIN_PAYMENTS_COLLECTION
from settings import Settings
from tests.factories import global_id, make_address, make_user
from tests.support import access_token_for, graphql

WEBHOOK = "/webhooks/razorpay"

PLACE_ONLINE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id number status }
    payment { razorpayOrderId amount currency }
    errors { field code message }
  }
}
"""
CONFIRM_PAYMENT = """
mutation($input: ConfirmPaymentInput!) {
  confirmPayment(input: $input) {
    order { status payment { state } }
    errors { field code message }
  }
}
"""
CANCEL_ORDER = """
mutation($id: ID!, $reason: String!) {
  cancelOrder(id: $id, reason: $reason) {
    order { status payment { state refunds { status } } }
    errors { field code message }
  }
}
"""


def quiet_standin(app: Starlette, settings: Settings) -> StandInPaymentProvider:
    """The app's stand-in (same collection, same secrets) without webhook deliveries of its own:
    the test decides which webhooks arrive, when and in what order."""
    key_id, key_secret, webhook_secret = settings.payment_secrets()
    return StandInPaymentProvider(
        app.state.mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION],
        key_id=key_id,
        key_secret=key_secret,
        webhook_secret=webhook_secret,
    )


async def standin_order(app: Starlette, settings: Settings, order_id: str) -> ProviderOrder:
    """The stand-in's order entity as it stands now (what an `order.paid` event carries)."""
    collection = app.state.mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION]
    entity = await collection.find_one({"_id": order_id, "kind": "order"})
    assert entity is not None
    return order_from_entity({k: v for k, v in entity.items() if k not in ("_id", "kind")})


class RefundWebhookFirst(StandInPaymentProvider):
    """A stand-in whose `refund` delivers `refund.processed` to the API, and waits for its answer,
    before it returns: the webhook wins the race against the refund call's own answer."""

    def __init__(self, client: httpx.AsyncClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.answers: list[tuple[int, Any]] = []

    async def refund(
        self, payment_id: str, *, amount: int, receipt: str, notes: dict[str, str]
    ) -> ProviderRefund:
        made = await super().refund(payment_id, amount=amount, receipt=receipt, notes=notes)
        payment = await self.fetch_payment(payment_id)
        body, headers = self.webhook("refund.processed", refund=made, payment=payment)
        answer = await self.client.post(WEBHOOK, content=body, headers=headers)
        self.answers.append((answer.status_code, answer.json()))
        return made


def refund_webhook_first(
    app: Starlette, settings: Settings, client: httpx.AsyncClient
) -> RefundWebhookFirst:
    key_id, key_secret, webhook_secret = settings.payment_secrets()
    return RefundWebhookFirst(
        client,
        collection=app.state.mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION],
        key_id=key_id,
        key_secret=key_secret,
        webhook_secret=webhook_secret,
    )


def use_provider(
    app: Starlette, replace_services: Callable[..., None], provider: StandInPaymentProvider | None
) -> None:
    """Serve requests and jobs with `provider` (None: online payments off)."""
    payments: PaymentService = app.state.services.payments
    replace_services(payments=PaymentService(provider, payments.queue, payments.settings))


@dataclasses.dataclass(frozen=True)
class PlacedOrder:
    order: Order  # as placed: PENDING_PAYMENT, with its provider order
    token: str  # the buyer's access token
    global_id: str

    @property
    def provider_order_id(self) -> str:
        assert self.order.payment is not None
        assert self.order.payment.provider_order_id is not None
        return self.order.payment.provider_order_id


async def place_online_order(
    app: Starlette, client: httpx.AsyncClient, product: Product, quantity: int = 1
) -> PlacedOrder:
    """A new verified buyer orders `quantity` of `product` ONLINE through `placeOrder`."""
    buyer = await make_user(email_verified=True, password=None)
    address = await make_address(buyer)
    await Cart(
        id=buyer.id, user_id=buyer.id, lines=[CartLine(product_id=product.id, quantity=quantity)]
    ).insert()
    token = await access_token_for(app, buyer)
    variables = {
        "input": {
            "addressId": global_id(address),
            "paymentMethod": "ONLINE",
            "idempotencyKey": str(uuid.uuid4()),
        }
    }
    body = await graphql(client, PLACE_ONLINE, variables, token=token)
    placed = body["data"]["placeOrder"]
    assert placed["errors"] == [], placed
    assert placed["order"]["status"] == "PENDING_PAYMENT"
    order = await Order.find_one(Order.number == placed["order"]["number"])
    assert order is not None
    assert order.payment is not None
    assert order.payment.provider_order_id == placed["payment"]["razorpayOrderId"]
    return PlacedOrder(order, token, placed["order"]["id"])


async def deliver(
    client: httpx.AsyncClient,
    body: bytes,
    headers: dict[str, str],
    *,
    event_id: str | None = None,
) -> httpx.Response:
    """POST a webhook as Razorpay would (optionally under another event id)."""
    if event_id is not None:
        headers = {**headers, "X-Razorpay-Event-Id": event_id}
    return await client.post(WEBHOOK, content=body, headers=headers)


async def stored(order_id: Any) -> Order:
    order = await Order.get(order_id)
    assert order is not None
    return order


async def webhook_state() -> dict[str, list[dict[str, Any]]]:
    """Everything a webhook may write: orders, processed events and the outbox."""
    return {
        document.get_collection_name(): await document.get_pymongo_collection()
        .find({}, sort=[("_id", 1)])
        .to_list()
        for document in (Order, ProcessedWebhook, OutboxMessage)
    }


async def outbox_keys(prefix: str) -> list[str]:
    """The dedup keys of outbox entries starting with `prefix`."""
    rows = OutboxMessage.get_pymongo_collection().find(
        {"dedup_key": {"$regex": f"^{re.escape(prefix)}"}}, {"dedup_key": 1}
    )
    return [row["dedup_key"] async for row in rows]
