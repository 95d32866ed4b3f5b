"""What the online checkout tests share: a verified buyer with a cart, the GraphQL documents, and
payment services built around the stand-in or the real SDK against the Razorpay fake."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from bson import ObjectId
from starlette.applications import Starlette
from strawberry import relay

from documents.addresses import Address
from documents.catalog import Product
from documents.orders import Order
from integrations.payments import RazorpayPaymentProvider, StandInPaymentProvider
from resolvers.payments.service import PaymentService
from schema.webhooks import WEBHOOK_PATH
from server.app import STANDIN_PAYMENTS_COLLECTION
from tests.factories import global_id
from tests.fakes.razorpay import FakeRazorpay

PLACE = """
mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order {
      id number status paymentMethod total { amount currency }
      payment { state razorpayOrderId reservedUntil }
    }
    payment {
      keyId razorpayOrderId amount currency name description
      prefill { name email contact }
      expiresAt payUrl
    }
    errors { field code retryable }
  }
}
"""

CONFIRM = """
mutation($input: ConfirmPaymentInput!) {
  confirmPayment(input: $input) {
    order { id number status payment { state amountPaid { amount currency } } }
    errors { field code retryable currentStatus }
  }
}
"""

ORDER = """
query($id: ID!) {
  order(id: $id) {
    id number status total { amount currency }
    history { fromStatus toStatus }
    payment {
      state razorpayOrderId reservedUntil
      amountPaid { amount currency }
      attempts { providerPaymentId status amount { amount currency } errorCode }
    }
  }
}
"""

MY_CART = "{ cart { itemCount version lines { quantity product { id } } } }"

WEBHOOK_SECRET = "flow-webhook-secret"  # the fake's, not a real one


def order_input(address: Address, **fields: Any) -> dict[str, Any]:
    return {
        "input": {
            "addressId": global_id(address),
            "paymentMethod": fields.pop("paymentMethod", "ONLINE"),
            "idempotencyKey": fields.pop("idempotencyKey", str(uuid.uuid4())),
            **fields,
        }
    }


def confirm_input(order_global_id: str, callback: dict[str, str]) -> dict[str, Any]:
    """`confirmPayment`'s input from the fields Checkout hands the browser."""
    return {
        "input": {
            "orderId": order_global_id,
            "razorpayOrderId": callback["razorpay_order_id"],
            "razorpayPaymentId": callback["razorpay_payment_id"],
            "razorpaySignature": callback["razorpay_signature"],
        }
    }


def order_object_id(order_global_id: str) -> ObjectId:
    return ObjectId(relay.GlobalID.from_id(order_global_id).node_id)


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


async def stored_order(order_global_id: str) -> dict[str, Any]:
    """The order's document as MongoDB holds it, to compare before and after."""
    raw = await Order.get_pymongo_collection().find_one({"_id": order_object_id(order_global_id)})
    assert raw is not None
    return raw


def standin_collection(app: Starlette) -> Any:
    return app.state.mongo[app.state.settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION]


@dataclass
class Webhooks:
    """Delivers the stand-in's webhooks to the app over its ASGI transport, keeping the answers."""

    client: httpx.AsyncClient
    statuses: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def deliver(self, body: bytes, headers: dict[str, str]) -> None:
        response = await self.client.post(WEBHOOK_PATH, content=body, headers=headers)
        self.statuses.append(response.status_code)
        self.events.append(response.json().get("status", response.text))
        response.raise_for_status()


def standin_provider(app: Starlette, webhooks: Webhooks | None) -> StandInPaymentProvider:
    """The stand-in with the app's own secrets; webhooks to the app, or (None) nowhere."""
    key_id, key_secret, webhook_secret = app.state.settings.payment_secrets()
    return StandInPaymentProvider(
        standin_collection(app),
        key_id=key_id,
        key_secret=key_secret,
        webhook_secret=webhook_secret,
        deliver_webhook=webhooks.deliver if webhooks else None,
    )


def razorpay_provider(
    fake: FakeRazorpay, *, timeout_seconds: float = 5.0
) -> RazorpayPaymentProvider:
    """The real SDK against the fake."""
    return RazorpayPaymentProvider(
        fake.key_id,
        fake.key_secret,
        WEBHOOK_SECRET,
        base_url=fake.url,
        timeout_seconds=timeout_seconds,
    )


def payment_service(app: Starlette, provider: Any) -> PaymentService:
    """A payment service like the app's, with `provider` (None: payments off)."""
    current: PaymentService = app.state.services.payments
    return PaymentService(provider, current.queue, current.settings)
