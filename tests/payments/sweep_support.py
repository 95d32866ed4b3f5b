"""Builders for the sweep and refund tests: buyers in bulk, online checkouts at the domain level,
the stand-in and the Razorpay fake swapped in as the app's payment provider, and paid orders."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from bson import ObjectId
from starlette.applications import Starlette

from documents import settlement
from documents.accounts import User
from documents.carts import Cart, CartLine
from documents.catalog import Product
from documents.checkout import Checkout, place_order
from documents.common import stored_id, utc_now
from documents.orders import Order, OrderAddress, PaymentMethod
from documents.payments import OnlinePayment, PaymentReport, RefundRecord
from documents.pricing import ShippingRule
from integrations.payments import (
    ProviderPayment,
    RazorpayPaymentProvider,
    StandInPaymentProvider,
    new_razorpay_id,
)
from resolvers.context import Context, new_context
from resolvers.payments.effects import OrderEffects
from resolvers.payments.service import PaymentService, payment_report
from schema.webhooks import WEBHOOK_PATH
from server.app import STANDIN_PAYMENTS_COLLECTION
from tests.factories import SAMPLE_ADDRESS
from tests.fakes.razorpay import FakeRazorpay

ADDRESS = OrderAddress.model_validate(SAMPLE_ADDRESS)
# Goods of 499.00 or more ship free, so an order's total is its goods in these tests.
SHIPPING = ShippingRule(fee=4_900, free_from=49_900)
RESERVATION = timedelta(minutes=15)
WEBHOOK_SECRET = "sweep-tests-webhook-secret"


async def buyers_with_carts(count: int, product: Product, quantity: int = 1) -> list[User]:
    """`count` verified buyers, each with `quantity` of `product` in their cart; inserted in two
    bulk writes (a thousand one by one would be most of a test's time)."""
    batch = uuid.uuid4().hex[:8]
    users = [
        User(
            id=ObjectId(),
            email=f"buyer-{batch}-{number}@example.com",
            name=f"Buyer {number}",
            email_verified=True,
        )
        for number in range(count)
    ]
    await User.insert_many(users)
    carts = [
        Cart(
            id=user.id,
            user_id=user.id,
            lines=[CartLine(product_id=stored_id(product), quantity=quantity)],
            version=1,
        )
        for user in users
    ]
    await Cart.insert_many(carts)
    return users


def online_checkout(
    user: User,
    *,
    provider: str = "standin",
    reserved_until: datetime | None = None,
    provider_order_id: str | None = None,
    key: str = "checkout-1",
) -> Checkout:
    """An ONLINE checkout of the user's cart, its stock held until `reserved_until`."""
    now = utc_now()
    return Checkout(
        user=user,
        address=ADDRESS,
        payment_method=PaymentMethod.ONLINE,
        idempotency_key=key,
        expected_total=None,
        currency="INR",
        shipping=SHIPPING,
        payment=OnlinePayment(
            provider=provider,
            provider_order_id=provider_order_id,
            reserved_until=reserved_until or now + RESERVATION,
            next_check_at=now + timedelta(minutes=3),
        ),
    )


async def reserved_order(user: User, **checkout: Any) -> Order:
    """The user's cart placed as an unpaid ONLINE order with a made-up provider order id."""
    checkout.setdefault("provider_order_id", new_razorpay_id("order_"))
    return (await place_order(online_checkout(user, **checkout))).order


def captured(order: Order, *, payment_id: str | None = None) -> PaymentReport:
    """The provider's word that the order's total was captured (a webhook, the reconciler)."""
    assert order.payment is not None
    assert order.payment.provider_order_id is not None
    return PaymentReport(
        id=payment_id or new_razorpay_id("pay_"),
        order_id=order.payment.provider_order_id,
        amount=order.total,
        currency=order.currency,
        status="captured",
        method="upi",
    )


async def stock_of(product: Product) -> int:
    found = await Product.get(product.id)
    assert found is not None
    return found.stock


async def stored_order(order: Order | ObjectId) -> Order:
    found = await Order.get(order.id if isinstance(order, Order) else order)
    assert found is not None
    return found


def job_context(app: Starlette) -> Context:
    """A context as the worker builds one, with the app's services as they are now."""
    return new_context(
        settings=app.state.settings,
        services=app.state.services,
        request_id=f"test-job-{uuid.uuid4()}",
    )


def effects(app: Starlette) -> OrderEffects:
    return OrderEffects(job_context(app))


def payments_with(app: Starlette, provider: Any) -> PaymentService:
    """The app's payment service with `provider` in place of the configured one."""
    current: PaymentService = app.state.services.payments
    return PaymentService(provider, current.queue, current.settings)


class WatchedStandIn(StandInPaymentProvider):
    """The stand-in noting which Razorpay orders it is asked about; asked about one in `broken`,
    it fails with an error nobody expects (as a bug would)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[str] = []
        self.broken: set[str] = set()

    async def order_payments(self, order_id: str) -> list[ProviderPayment]:
        self.asked.append(order_id)
        if order_id in self.broken:
            raise RuntimeError(f"unexpected failure asking about {order_id}")
        return await super().order_payments(order_id)


def standin_provider(
    app: Starlette,
    *,
    webhooks: bool = True,
    kind: type[StandInPaymentProvider] = StandInPaymentProvider,
) -> StandInPaymentProvider:
    """The stand-in (or a `kind` of it) on the app's database. With `webhooks`, it delivers them
    to the app's own webhook route in this process (as Razorpay would over HTTP); without, none
    ever comes."""

    async def deliver(body: bytes, headers: dict[str, str]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await http.post(WEBHOOK_PATH, content=body, headers=headers)
            answer.raise_for_status()

    settings = app.state.settings
    return kind(
        app.state.mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION],
        key_id="rzp_test_sweeps",
        key_secret="sweep-tests-key-secret",
        webhook_secret=WEBHOOK_SECRET,
        deliver_webhook=deliver if webhooks else None,
    )


def razorpay_provider(fake: FakeRazorpay, *, timeout_seconds: float = 5.0) -> Any:
    """The real SDK-backed provider pointed at the local fake."""
    return RazorpayPaymentProvider(
        fake.key_id,
        fake.key_secret,
        WEBHOOK_SECRET,
        base_url=fake.url,
        timeout_seconds=timeout_seconds,
    )


async def order_at_provider(order: Order, provider: Any) -> Order:
    """Create the provider's order for an unpaid order and record it, as `start_payment` does."""
    made = await provider.create_order(
        amount=order.total, currency=order.currency, receipt=str(order.number), notes={}
    )
    return await settlement.attach_provider_order(stored_id(order), made.id)


async def paid_standin_order(provider: StandInPaymentProvider, user: User) -> Order:
    """The user's cart placed ONLINE and paid at the stand-in, whose webhooks confirm it."""
    placed = (await place_order(online_checkout(user, provider=provider.name))).order
    order = await order_at_provider(placed, provider)
    assert order.payment is not None
    assert order.payment.provider_order_id is not None
    await provider.pay(order.payment.provider_order_id, succeed=True)
    return await stored_order(order)


async def paid_razorpay_order(
    app: Starlette, fake: FakeRazorpay, provider: Any, user: User
) -> tuple[Order, str]:
    """The user's cart placed ONLINE, paid at the fake and settled (as the callback does).
    Returns the order and the payment's id."""
    placed = (await place_order(online_checkout(user, provider="razorpay"))).order
    order = await order_at_provider(placed, provider)
    assert order.payment is not None
    assert order.payment.provider_order_id is not None
    entity = fake.add_payment(order.payment.provider_order_id)
    fetched = await provider.fetch_payment(entity["id"])
    await settlement.settle_payment(payment_report(fetched), effects=effects(app))
    return await stored_order(order), entity["id"]


def only_refund(order: Order) -> RefundRecord:
    assert order.payment is not None
    [refund] = order.payment.refunds
    return refund


async def make_refund_due_now(order: Order, key: str) -> None:
    """Move a REQUESTED refund's next attempt to now, as if its backoff had passed."""
    await Order.get_pymongo_collection().update_one(
        {"_id": order.id},
        {"$set": {"payment.refunds.$[r].next_attempt_at": utc_now() - timedelta(seconds=1)}},
        array_filters=[{"r.key": key}],
    )


async def set_payment_fields(order: Order, **fields: Any) -> None:
    """Overwrite fields of the order's payment in MongoDB (times in the past, for the sweep)."""
    await Order.get_pymongo_collection().update_one(
        {"_id": order.id}, {"$set": {f"payment.{name}": value for name, value in fields.items()}}
    )


async def clear_standin(app: Starlette) -> None:
    """Forget the stand-in's orders, payments and refunds (the suite's cleanup does not know
    its collection)."""
    settings = app.state.settings
    await app.state.mongo[settings.mongodb_database][STANDIN_PAYMENTS_COLLECTION].delete_many({})
