"""Paying online through the API: `placeOrder(paymentMethod: ONLINE)`, the stand-in's payments and
webhooks, `confirmPayment`, a provider that cannot start a payment, the real SDK against the
Razorpay fake, payments switched off, and the development pay page."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from documents.catalog import Product
from documents.common import utc_now
from documents.orders import Order
from integrations.payments import StandInPaymentProvider, payment_signature
from server import create_app
from settings import Environment, Settings
from tests.factories import fill_cart, global_id, make_buyer, make_category, make_product
from tests.fakes.razorpay import FakeRazorpay
from tests.payments.flow_support import (
    CONFIRM,
    MY_CART,
    ORDER,
    PLACE,
    Webhooks,
    confirm_input,
    order_input,
    order_object_id,
    payment_service,
    razorpay_provider,
    standin_collection,
    standin_provider,
    stock_of,
    stored_order,
)
from tests.payments.webhook_support import CANCEL_ORDER
from tests.support import access_token_for, graphql, sent_emails

RAZORPAY_ORDER_ID = re.compile(r"order_[A-Za-z0-9]{14}")
# 2 x 199.99 + 49.00 shipping (below the free-shipping threshold), in paise.
TOTAL = 2 * 19_999 + 4_900


@pytest.fixture
def webhooks(client: httpx.AsyncClient) -> Webhooks:
    return Webhooks(client)


@contextlib.asynccontextmanager
async def installed_standin(
    app: Starlette, webhooks: Webhooks | None, replace_services: Any
) -> AsyncIterator[StandInPaymentProvider]:
    """The app's payments through the stand-in until the test ends."""
    provider = standin_provider(app, webhooks)
    replace_services(payments=payment_service(app, provider))
    try:
        yield provider
        await provider.deliveries_done()
    finally:
        await standin_collection(app).delete_many({})


@pytest.fixture
async def standin(
    app: Starlette, webhooks: Webhooks, replace_services: Any
) -> AsyncIterator[StandInPaymentProvider]:
    """The stand-in, delivering its webhooks to the app."""
    async with installed_standin(app, webhooks, replace_services) as provider:
        yield provider


@pytest.fixture
async def silent_standin(
    app: Starlette, replace_services: Any
) -> AsyncIterator[StandInPaymentProvider]:
    """The stand-in delivering no webhooks: only `confirmPayment` brings news of a payment."""
    async with installed_standin(app, None, replace_services) as provider:
        yield provider


@pytest.fixture
async def either_standin(
    app: Starlette, webhooks: Webhooks, replace_services: Any, request: pytest.FixtureRequest
) -> AsyncIterator[StandInPaymentProvider]:
    """`standin` when the test is parametrized with True, else `silent_standin`."""
    delivering = webhooks if request.param else None
    async with installed_standin(app, delivering, replace_services) as provider:
        yield provider


@pytest.fixture
def fake_razorpay() -> Iterator[FakeRazorpay]:
    with FakeRazorpay() as fake:
        yield fake


async def shopper_with_cart(app: Starlette, *, stock: int = 5) -> tuple[Any, Any, Product, str]:
    """A verified buyer with 2 x a 199.99 product in the cart: (user, address, product, token)."""
    user, address = await make_buyer()
    runner = await make_product(await make_category(), name="Runner", price=19_999, stock=stock)
    await fill_cart(user, (runner, 2))
    return user, address, runner, await access_token_for(app, user)


async def place_online(
    client: httpx.AsyncClient, address: Any, token: str, **fields: Any
) -> dict[str, Any]:
    """`placeOrder` ONLINE; its payload, which must have no errors."""
    body = await graphql(client, PLACE, order_input(address, **fields), token=token)
    result: dict[str, Any] = body["data"]["placeOrder"]
    assert result["errors"] == [], result
    return result


async def order_view(client: httpx.AsyncClient, order_id: str, token: str) -> dict[str, Any]:
    body = await graphql(client, ORDER, {"id": order_id}, token=token)
    order: dict[str, Any] = body["data"]["order"]
    return order


async def confirm(
    client: httpx.AsyncClient, order_id: str, callback: dict[str, str], token: str
) -> dict[str, Any]:
    body = await graphql(client, CONFIRM, confirm_input(order_id, callback), token=token)
    result: dict[str, Any] = body["data"]["confirmPayment"]
    return result


async def cart_view(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    cart: dict[str, Any] = (await graphql(client, MY_CART, token=token))["data"]["cart"]
    return cart


def moves(order: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(event["fromStatus"], event["toStatus"]) for event in order["history"]]


PLACED_ONLY = [(None, "PENDING_PAYMENT")]
PAID = [(None, "PENDING_PAYMENT"), ("PENDING_PAYMENT", "CONFIRMED")]


# -- placing an online order -------------------------------------------------------------------


async def test_an_online_order_waits_for_its_payment_with_the_stock_held(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    user, address, runner, token = await shopper_with_cart(app)

    started = utc_now()
    placed = await place_online(client, address, token)
    finished = utc_now()

    order, payment = placed["order"], placed["payment"]
    number = order["number"]
    assert (order["status"], order["paymentMethod"]) == ("PENDING_PAYMENT", "ONLINE")
    assert order["total"] == {"amount": "448.98", "currency": "INR"}
    assert RAZORPAY_ORDER_ID.fullmatch(payment["razorpayOrderId"])
    provider_order_id = payment["razorpayOrderId"]
    assert isinstance(payment["amount"], int)
    assert {key: value for key, value in payment.items() if key != "expiresAt"} == {
        "keyId": settings.payment_secrets()[0],
        "razorpayOrderId": provider_order_id,
        "amount": TOTAL,
        "currency": "INR",
        "name": settings.shop_name,
        "description": f"Order #{number}",
        "prefill": {"name": "Asha Rao", "email": user.email, "contact": "+919812345678"},
        "payUrl": f"{settings.public_url}/dev/pay/{provider_order_id}",
    }
    reservation = timedelta(minutes=settings.payment_reservation_minutes)
    expires_at = datetime.fromisoformat(payment["expiresAt"])
    # MongoDB keeps milliseconds: the stored end may be up to 1 ms before the exact one.
    assert started + reservation - timedelta(milliseconds=1) <= expires_at
    assert expires_at <= finished + reservation
    assert order["payment"]["state"] == "AWAITING"
    assert order["payment"]["razorpayOrderId"] == provider_order_id
    assert datetime.fromisoformat(order["payment"]["reservedUntil"]) == expires_at
    assert await stock_of(runner) == 3
    assert (await cart_view(client, token))["itemCount"] == 0
    assert await sent_emails(app, settings, user.email) == []
    at_provider = await standin_collection(app).find_one({"_id": provider_order_id})
    assert at_provider is not None
    assert (at_provider["amount"], at_provider["currency"]) == (TOTAL, "INR")
    assert at_provider["receipt"] == str(number)
    assert at_provider["notes"]["order_id"] == str(order_object_id(order["id"]))


async def test_a_replayed_checkout_returns_the_same_order_and_the_same_razorpay_order(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    _, address, runner, token = await shopper_with_cart(app)
    first = await place_online(client, address, token, idempotencyKey="online-1")

    again = await asyncio.gather(
        *(place_online(client, address, token, idempotencyKey="online-1") for _ in range(3))
    )

    for replay in again:
        assert replay["order"]["id"] == first["order"]["id"]
        assert replay["payment"]["razorpayOrderId"] == first["payment"]["razorpayOrderId"]
    assert await standin_collection(app).count_documents({"kind": "order"}) == 1
    assert await Order.find_all().count() == 1
    assert await stock_of(runner) == 3


async def test_checkouts_racing_with_one_key_agree_on_one_razorpay_order(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    _, address, runner, token = await shopper_with_cart(app)

    placed = await asyncio.gather(
        *(place_online(client, address, token, idempotencyKey="online-race") for _ in range(4))
    )

    assert len({result["order"]["id"] for result in placed}) == 1
    assert len({result["payment"]["razorpayOrderId"] for result in placed}) == 1
    stored = await stored_order(placed[0]["order"]["id"])
    assert stored["payment"]["provider_order_id"] == placed[0]["payment"]["razorpayOrderId"]
    assert await stock_of(runner) == 3


# -- paying --------------------------------------------------------------------------------------


async def test_a_payment_at_the_stand_in_confirms_the_order_through_its_webhooks(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
    webhooks: Webhooks,
) -> None:
    user, address, _, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]

    _, callback = await standin.pay(placed["payment"]["razorpayOrderId"], succeed=True)

    assert webhooks.statuses == [200, 200]  # payment.captured, then order.paid
    assert webhooks.events == ["confirmed", "already_settled"]
    order = await order_view(client, order_id, token)
    assert order["status"] == "CONFIRMED"
    assert order["payment"]["state"] == "PAID"
    assert order["payment"]["amountPaid"] == {"amount": "448.98", "currency": "INR"}
    assert moves(order) == PAID
    # The browser's callback arriving after the webhooks changes nothing.
    late = await confirm(client, order_id, callback, token)
    assert late["errors"] == []
    assert late["order"]["status"] == "CONFIRMED"
    assert moves(await order_view(client, order_id, token)) == PAID
    emails = await sent_emails(app, settings, user.email)
    assert [email["subject"] for email in emails] == [f"Order #{order['number']} confirmed"]


async def test_confirm_payment_confirms_the_order_once_however_often_it_is_sent(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    silent_standin: StandInPaymentProvider,
) -> None:
    user, address, _, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]
    _, callback = await silent_standin.pay(placed["payment"]["razorpayOrderId"], succeed=True)
    assert (await order_view(client, order_id, token))["status"] == "PENDING_PAYMENT"

    first = await confirm(client, order_id, callback, token)
    again = await confirm(client, order_id, callback, token)

    for result in (first, again):
        assert result["errors"] == []
        assert result["order"]["id"] == order_id
        assert result["order"]["status"] == "CONFIRMED"
        assert result["order"]["payment"]["state"] == "PAID"
    assert moves(await order_view(client, order_id, token)) == PAID
    emails = await sent_emails(app, settings, user.email)
    assert [email["subject"] for email in emails] == [
        f"Order #{first['order']['number']} confirmed"
    ]


async def test_forged_or_foreign_payment_callbacks_change_nothing(
    app: Starlette, client: httpx.AsyncClient, silent_standin: StandInPaymentProvider
) -> None:
    _, address, runner, token = await shopper_with_cart(app)
    mine = await place_online(client, address, token)
    await fill_cart_again(client, token, runner)
    other = await place_online(client, address, token)
    _, my_callback = await silent_standin.pay(mine["payment"]["razorpayOrderId"], succeed=True)
    _, other_callback = await silent_standin.pay(other["payment"]["razorpayOrderId"], succeed=True)
    _, _, _, stranger_token = await shopper_with_cart(app)
    order_id = mine["order"]["id"]
    key_secret = app.state.settings.payment_secrets()[1]
    # Signed with the real key, but pairing my Razorpay order with the other order's payment.
    mixed = {
        "razorpay_order_id": my_callback["razorpay_order_id"],
        "razorpay_payment_id": other_callback["razorpay_payment_id"],
        "razorpay_signature": payment_signature(
            my_callback["razorpay_order_id"], other_callback["razorpay_payment_id"], key_secret
        ),
    }
    attempts = [
        (my_callback | {"razorpay_signature": "0" * 64}, token, "INVALID_PAYMENT_SIGNATURE"),
        (other_callback, token, "INVALID_PAYMENT_SIGNATURE"),
        (mixed, token, "INVALID_PAYMENT_SIGNATURE"),
        (my_callback, stranger_token, "ORDER_NOT_FOUND"),
    ]
    before = [await stored_order(order_id), await stored_order(other["order"]["id"])]

    for callback, as_token, code in attempts:
        result = await confirm(client, order_id, callback, as_token)

        assert [error["code"] for error in result["errors"]] == [code], callback
        assert result["order"] is None
        assert [await stored_order(order_id), await stored_order(other["order"]["id"])] == before
    # The genuine callback still works afterwards.
    assert (await confirm(client, order_id, my_callback, token))["order"]["status"] == "CONFIRMED"


async def test_a_payment_for_a_cancelled_order_is_answered_refunded_and_returned_once(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    silent_standin: StandInPaymentProvider,
) -> None:
    user, address, runner, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]
    cancelled = await graphql(
        client, CANCEL_ORDER, {"id": order_id, "reason": "changed my mind"}, token=token
    )
    assert cancelled["data"]["cancelOrder"]["errors"] == []
    # Checkout was still open: the shopper pays the cancelled order.
    payment, callback = await silent_standin.pay(placed["payment"]["razorpayOrderId"], succeed=True)

    results = [await confirm(client, order_id, callback, token) for _ in range(2)]

    for result in results:  # also when the payment was settled already
        assert result == {
            "order": None,
            "errors": [
                {
                    "field": None,
                    "code": "PAYMENT_REFUNDED",
                    "retryable": False,
                    "currentStatus": "CANCELLED",
                }
            ],
        }
    stored = await stored_order(order_id)
    assert stored["status"] == "CANCELLED"
    assert [
        (r["payment_id"], r["amount"], r["status"], r["automatic"])
        for r in stored["payment"]["refunds"]
    ] == [(payment.id, TOTAL, "REQUESTED", True)]
    assert await stock_of(runner) == 5
    subjects = [email["subject"] for email in await sent_emails(app, settings, user.email)]
    number = placed["order"]["number"]
    assert subjects.count(f"We are refunding your payment for order #{number}") == 1
    assert f"Order #{number} confirmed" not in subjects


async def test_a_payment_of_the_wrong_amount_is_answered_needs_review_and_confirms_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    silent_standin: StandInPaymentProvider,
) -> None:
    user, address, runner, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]
    _, callback = await silent_standin.pay(
        placed["payment"]["razorpayOrderId"], succeed=True, amount=TOTAL - 100
    )

    result = await confirm(client, order_id, callback, token)

    assert result == {
        "order": None,
        "errors": [
            {
                "field": None,
                "code": "PAYMENT_NEEDS_REVIEW",
                "retryable": False,
                "currentStatus": None,
            }
        ],
    }
    order = await order_view(client, order_id, token)
    assert (order["status"], order["payment"]["state"]) == ("PENDING_PAYMENT", "NEEDS_REVIEW")
    assert moves(order) == PLACED_ONLY
    assert await stock_of(runner) == 3
    assert await sent_emails(app, settings, user.email) == []


async def test_confirming_a_cash_on_delivery_order_is_refused_and_a_strangers_is_not_found(
    app: Starlette, client: httpx.AsyncClient, silent_standin: StandInPaymentProvider
) -> None:
    _, address, _, token = await shopper_with_cart(app)
    body = await graphql(client, PLACE, order_input(address, paymentMethod="COD"), token=token)
    cash_id = body["data"]["placeOrder"]["order"]["id"]
    _, _, _, stranger_token = await shopper_with_cart(app)
    callback = {
        "razorpay_order_id": "order_AAAAAAAAAAAAAA",
        "razorpay_payment_id": "pay_AAAAAAAAAAAAAA",
        "razorpay_signature": "0" * 64,
    }
    before = await stored_order(cash_id)

    mine = await confirm(client, cash_id, callback, token)
    theirs = await confirm(client, cash_id, callback, stranger_token)

    assert mine["errors"] == [
        {
            "field": "orderId",
            "code": "NOT_AN_ONLINE_ORDER",
            "retryable": False,
            "currentStatus": None,
        }
    ]
    assert theirs["errors"] == [
        {"field": "orderId", "code": "ORDER_NOT_FOUND", "retryable": False, "currentStatus": None}
    ]
    assert (mine["order"], theirs["order"]) == (None, None)
    assert await stored_order(cash_id) == before


async def test_confirming_with_payments_off_is_a_retryable_provider_error(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Any,
    silent_standin: StandInPaymentProvider,
) -> None:
    _, address, runner, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]
    _, callback = await silent_standin.pay(placed["payment"]["razorpayOrderId"], succeed=True)
    replace_services(payments=payment_service(app, None))
    before = await stored_order(order_id)

    body = await graphql(client, CONFIRM, confirm_input(order_id, callback), token=token)

    assert "errors" not in body
    assert body["data"]["confirmPayment"] == {
        "order": None,
        "errors": [
            {
                "field": None,
                "code": "PAYMENT_PROVIDER_UNAVAILABLE",
                "retryable": True,
                "currentStatus": None,
            }
        ],
    }
    assert await stored_order(order_id) == before
    assert await stock_of(runner) == 3


async def fill_cart_again(client: httpx.AsyncClient, token: str, product: Product) -> None:
    body = await graphql(
        client,
        "mutation($input: AddCartLineInput!) { addCartLine(input: $input) { errors { code } } }",
        {"input": {"productId": global_id(product), "quantity": 1}},
        token=token,
    )
    assert body["data"]["addCartLine"]["errors"] == [], body


@pytest.mark.parametrize(
    "either_standin", [False, True], ids=["callback only", "webhook first"], indirect=True
)
async def test_a_failed_payment_is_recorded_and_the_order_keeps_waiting(
    app: Starlette,
    client: httpx.AsyncClient,
    either_standin: StandInPaymentProvider,
    webhooks: Webhooks,
    request: pytest.FixtureRequest,
) -> None:
    provider = either_standin
    delivering = request.node.callspec.params["either_standin"]
    _, address, runner, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    order_id = placed["order"]["id"]

    failed, callback = await provider.pay(placed["payment"]["razorpayOrderId"], succeed=False)
    results = [await confirm(client, order_id, callback, token) for _ in range(2)]

    assert webhooks.events == (["recorded"] if delivering else [])  # payment.failed

    for result in results:  # also when the news of the failure arrived before
        assert [error["code"] for error in result["errors"]] == ["PAYMENT_NOT_COMPLETED"], results
    order = await order_view(client, order_id, token)
    assert order["status"] == "PENDING_PAYMENT"
    assert order["payment"]["state"] == "AWAITING"
    assert order["payment"]["attempts"] == [
        {
            "providerPaymentId": failed.id,
            "status": "failed",
            "amount": {"amount": "448.98", "currency": "INR"},
            "errorCode": "BAD_REQUEST_ERROR",
        }
    ]
    assert moves(order) == PLACED_ONLY
    assert await stock_of(runner) == 3
    # A second try at paying succeeds.
    _, retry = await provider.pay(placed["payment"]["razorpayOrderId"], succeed=True)
    assert (await confirm(client, order_id, retry, token))["order"]["status"] == "CONFIRMED"


# -- when the provider cannot start a payment ----------------------------------------------------


@pytest.mark.parametrize("failure", ["server error", "timeout"])
async def test_a_payment_that_cannot_start_orders_nothing_and_the_same_key_can_try_again(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    replace_services: Any,
    fake_razorpay: FakeRazorpay,
    failure: str,
) -> None:
    user, address, runner, token = await shopper_with_cart(app)
    provider = razorpay_provider(fake_razorpay, timeout_seconds=0.2)
    replace_services(payments=payment_service(app, provider))
    cart_before = await cart_view(client, token)
    if failure == "server error":
        fake_razorpay.fail_next(500)
    else:
        fake_razorpay.delay_next(1.0)  # the fake makes the order but answers too late
    variables = order_input(address, idempotencyKey="checkout-online-1")

    body = await graphql(client, PLACE, variables, token=token)

    result = body["data"]["placeOrder"]
    assert result["errors"] == [
        {"field": None, "code": "PAYMENT_PROVIDER_UNAVAILABLE", "retryable": True}
    ]
    assert (result["order"], result["payment"]) == (None, None)
    [abandoned] = await Order.find_all().to_list()
    assert abandoned.status == "CANCELLED"
    assert abandoned.idempotency_key != "checkout-online-1"
    assert await stock_of(runner) == 5
    cart = await cart_view(client, token)
    assert (cart["itemCount"], cart["lines"]) == (2, cart_before["lines"])
    assert cart["version"] > cart_before["version"]
    assert await sent_emails(app, settings, user.email) == []

    retried = await graphql(client, PLACE, variables, token=token)

    placed = retried["data"]["placeOrder"]
    assert placed["errors"] == []
    assert placed["order"]["status"] == "PENDING_PAYMENT"
    assert placed["order"]["id"] != global_id(abandoned)
    assert placed["payment"]["razorpayOrderId"] in fake_razorpay.orders
    assert await stock_of(runner) == 3
    assert (await cart_view(client, token))["itemCount"] == 0
    assert await Order.find(Order.status == "PENDING_PAYMENT").count() == 1


# -- the real SDK against the Razorpay fake ------------------------------------------------------


async def test_the_razorpay_sdk_path_from_checkout_to_confirmed(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Any,
    fake_razorpay: FakeRazorpay,
) -> None:
    replace_services(payments=payment_service(app, razorpay_provider(fake_razorpay)))
    _, address, _, token = await shopper_with_cart(app)

    placed = await place_online(client, address, token)

    order_id, number = placed["order"]["id"], placed["order"]["number"]
    provider_order_id = placed["payment"]["razorpayOrderId"]
    assert (placed["payment"]["keyId"], placed["payment"]["payUrl"]) == (
        fake_razorpay.key_id,
        None,
    )
    [created] = fake_razorpay.requests
    assert (created.method, created.path) == ("POST", "/v1/orders")
    assert created.json == {
        "amount": TOTAL,
        "currency": "INR",
        "receipt": str(number),
        "notes": {"order_id": str(order_object_id(order_id)), "order_number": str(number)},
    }
    credentials = f"{fake_razorpay.key_id}:{fake_razorpay.key_secret}".encode()
    assert created.headers["authorization"] == f"Basic {base64.b64encode(credentials).decode()}"
    assert fake_razorpay.orders[provider_order_id]["amount"] == TOTAL

    payment = fake_razorpay.add_payment(provider_order_id)
    callback = {
        "razorpay_order_id": provider_order_id,
        "razorpay_payment_id": payment["id"],
        "razorpay_signature": payment_signature(
            provider_order_id, payment["id"], fake_razorpay.key_secret
        ),
    }
    result = await confirm(client, order_id, callback, token)

    assert result["errors"] == []
    assert result["order"]["status"] == "CONFIRMED"
    assert result["order"]["payment"]["state"] == "PAID"
    fetched = fake_razorpay.requests[-1]
    assert (fetched.method, fetched.path) == ("GET", f"/v1/payments/{payment['id']}")


# -- payments switched off -----------------------------------------------------------------------


async def test_without_a_payment_provider_online_is_refused_and_cash_on_delivery_works(
    app: Starlette, client: httpx.AsyncClient, replace_services: Any
) -> None:
    replace_services(payments=payment_service(app, None))
    _, address, runner, token = await shopper_with_cart(app)
    cart_before = await cart_view(client, token)

    body = await graphql(client, PLACE, order_input(address), token=token)

    assert body["data"]["placeOrder"]["errors"] == [
        {"field": "paymentMethod", "code": "PAYMENT_METHOD_UNAVAILABLE", "retryable": False}
    ]
    assert await Order.find_all().count() == 0
    assert await stock_of(runner) == 5
    assert await cart_view(client, token) == cart_before

    cod = await graphql(client, PLACE, order_input(address, paymentMethod="COD"), token=token)

    assert cod["data"]["placeOrder"]["errors"] == []
    assert cod["data"]["placeOrder"]["order"]["status"] == "CONFIRMED"
    assert (
        cod["data"]["placeOrder"]["order"]["payment"],
        cod["data"]["placeOrder"]["payment"],
    ) == (
        None,
        None,
    )
    assert await stock_of(runner) == 3


# -- the development pay page --------------------------------------------------------------------


async def test_the_dev_pay_page_shows_the_amount_and_paying_there_confirms_the_order(
    app: Starlette,
    client: httpx.AsyncClient,
    standin: StandInPaymentProvider,
    webhooks: Webhooks,
) -> None:
    _, address, _, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    page_path = f"/dev/pay/{placed['payment']['razorpayOrderId']}"

    page = await client.get(page_path)

    assert page.status_code == 200
    assert "448.98 INR" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-security-policy"].startswith("default-src 'none'")

    paid = await client.post(page_path, data={"outcome": "succeed"})

    assert paid.status_code == 200
    assert paid.headers["cache-control"] == "no-store"
    assert webhooks.statuses == [200, 200]
    order = await order_view(client, placed["order"]["id"], token)
    assert (order["status"], order["payment"]["state"]) == ("CONFIRMED", "PAID")

    again = await client.post(page_path, data={"outcome": "succeed"})  # a second click

    assert again.status_code == 409
    assert webhooks.statuses == [200, 200]
    assert await order_view(client, placed["order"]["id"], token) == order


@pytest.mark.parametrize(
    "provider_order_id", ["order_AAAAAAAAAAAAAA", "order_short", "not-an-order", "order_%3Cb%3E"]
)
async def test_the_dev_pay_page_knows_no_other_orders(
    app: Starlette,
    client: httpx.AsyncClient,
    standin: StandInPaymentProvider,
    provider_order_id: str,
) -> None:
    shown = await client.get(f"/dev/pay/{provider_order_id}")
    paid = await client.post(f"/dev/pay/{provider_order_id}", data={"outcome": "succeed"})

    assert (shown.status_code, paid.status_code) == (404, 404)
    assert shown.headers["cache-control"] == "no-store"
    assert await standin_collection(app).count_documents({}) == 0


async def test_the_dev_pay_page_is_only_for_the_stand_in(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Any,
    fake_razorpay: FakeRazorpay,
) -> None:
    replace_services(payments=payment_service(app, razorpay_provider(fake_razorpay)))
    _, address, _, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    path = f"/dev/pay/{placed['payment']['razorpayOrderId']}"

    shown = await client.get(path)
    paid = await client.post(path, data={"outcome": "succeed"})

    assert (shown.status_code, paid.status_code) == (404, 404)
    assert fake_razorpay.payments == {}


async def test_a_production_app_has_no_dev_pay_page(settings: Settings, tmp_path: Any) -> None:
    production = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment=Environment.PRODUCTION,
        mongodb_uri=settings.mongodb_uri,
        redis_url=settings.redis_url,
        jwt_secret="p" * 40,
        frontend_url="https://shop.example",
        data_dir=tmp_path,
    )
    transport = httpx.ASGITransport(app=create_app(production))
    async with httpx.AsyncClient(transport=transport, base_url="http://prod") as http:
        health = await http.get("/healthz")
        shown = await http.get("/dev/pay/order_AAAAAAAAAAAAAA")
        paid = await http.post("/dev/pay/order_AAAAAAAAAAAAAA", data={"outcome": "succeed"})

    assert health.status_code == 200
    assert shown.status_code in (404, 405)
    assert paid.status_code in (404, 405)


# -- money ---------------------------------------------------------------------------------------


async def test_money_stays_integer_minor_units_in_mongodb(
    app: Starlette, client: httpx.AsyncClient, silent_standin: StandInPaymentProvider
) -> None:
    _, address, _, token = await shopper_with_cart(app)
    placed = await place_online(client, address, token)
    provider_order_id = placed["payment"]["razorpayOrderId"]
    payment, callback = await silent_standin.pay(provider_order_id, succeed=True)

    await confirm(client, placed["order"]["id"], callback, token)

    stored = await stored_order(placed["order"]["id"])
    [record] = stored["payment"]["payments"]
    amounts = [stored["total"], stored["payment"]["amount_paid"], record["amount"]]
    at_provider = standin_collection(app)
    amounts.append((await at_provider.find_one({"_id": provider_order_id}))["amount"])
    amounts.append((await at_provider.find_one({"_id": payment.id}))["amount"])
    assert amounts == [TOTAL] * 5
    assert all(type(amount) is int for amount in amounts)
    assert stored["payment"]["amount_refunded"] == 0
    assert type(stored["payment"]["amount_refunded"]) is int
    assert Decimal(placed["order"]["total"]["amount"]) * 100 == TOTAL


# -- replays racing a provider that fails ------------------------------------------------------


async def test_a_replay_that_made_the_razorpay_order_keeps_the_order_when_the_first_call_times_out(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Any,
    fake_razorpay: FakeRazorpay,
) -> None:
    _, address, runner, token = await shopper_with_cart(app)
    replace_services(
        payments=payment_service(app, razorpay_provider(fake_razorpay, timeout_seconds=0.5))
    )
    # The first call to reach Razorpay gets no answer in time; the second its order at once.
    fake_razorpay.delay_next(1.5)
    variables = order_input(address, idempotencyKey="checkout-double-click")

    bodies = await asyncio.gather(
        *(graphql(client, PLACE, variables, token=token) for _ in range(2))
    )

    results = [body["data"]["placeOrder"] for body in bodies]
    assert [result["errors"] for result in results] == [[], []]
    assert {result["order"]["status"] for result in results} == {"PENDING_PAYMENT"}
    [order] = await Order.find_all().to_list()
    assert order.status == "PENDING_PAYMENT"
    assert order.payment is not None
    assert {result["payment"]["razorpayOrderId"] for result in results} == {
        order.payment.provider_order_id
    }
    assert await stock_of(runner) == 3


async def test_a_replay_whose_razorpay_order_comes_after_the_order_was_abandoned_orders_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    replace_services: Any,
    fake_razorpay: FakeRazorpay,
) -> None:
    _, address, runner, token = await shopper_with_cart(app)
    replace_services(payments=payment_service(app, razorpay_provider(fake_razorpay)))
    # The first call to reach Razorpay is refused (and the order abandoned) before the second
    # gets its order.
    fake_razorpay.fail_next(500)
    fake_razorpay.delay_next(0.2)
    fake_razorpay.delay_next(0.6)
    variables = order_input(address, idempotencyKey="checkout-double-click")

    bodies = await asyncio.gather(
        *(graphql(client, PLACE, variables, token=token) for _ in range(2))
    )

    results = [body["data"]["placeOrder"] for body in bodies]
    for result in results:
        assert [error["code"] for error in result["errors"]] == ["PAYMENT_PROVIDER_UNAVAILABLE"]
        assert (result["order"], result["payment"]) == (None, None)
    [order] = await Order.find_all().to_list()
    assert order.status == "CANCELLED"
    assert await stock_of(runner) == 5
    assert (await cart_view(client, token))["itemCount"] == 2
