"""Online payments over time: reservations ending under load, late and double payments, the
reconciler, and refunds (asked for by cancellations, admins and the system) with the provider
failing in every way it can."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from documents import settlement
from documents.accounts import Role
from documents.catalog import Product, StockMovementKind
from documents.checkout import place_order
from documents.common import utc_now
from documents.orders import (
    Order,
    OrderError,
    OrderErrorCode,
    OrderStatus,
    change_order_status,
    stock_reference_of,
)
from documents.payments import PaymentState, RefundRecord, RefundStatus, refund_receipt
from documents.settlement import Settled, Settlement
from documents.stock import stock_movements_of
from integrations.payments import RazorpayPaymentProvider, StandInPaymentProvider
from resolvers.payments.jobs import run_refund, sweep_payments
from resolvers.payments.service import payment_report
from settings import Settings
from tests.factories import global_id, make_category, make_order, make_product, make_user
from tests.fakes.razorpay import FakeRazorpay, RecordedRequest
from tests.payments.sweep_support import (
    WatchedStandIn,
    buyers_with_carts,
    captured,
    clear_standin,
    effects,
    job_context,
    make_refund_due_now,
    online_checkout,
    only_refund,
    order_at_provider,
    paid_razorpay_order,
    paid_standin_order,
    payments_with,
    razorpay_provider,
    reserved_order,
    set_payment_fields,
    standin_provider,
    stock_of,
    stored_order,
)
from tests.support import access_token_for, error_codes, graphql, run_jobs, sent_emails

pytestmark = pytest.mark.usefixtures("app")


async def test_a_thousand_buyers_reserve_exactly_the_stock_and_racing_sweeps_give_it_back_once(
    app: Starlette,
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=100)
    buyers = await buyers_with_carts(1_000, product)

    results = await asyncio.gather(
        *(place_order(online_checkout(buyer)) for buyer in buyers), return_exceptions=True
    )

    placed = [result.order for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(placed) == 100
    assert all(order.status is OrderStatus.PENDING_PAYMENT for order in placed)
    assert len(refused) == 900
    assert all(
        isinstance(error, OrderError) and error.code is OrderErrorCode.INSUFFICIENT_STOCK
        for error in refused
    )
    assert await stock_of(product) == 0

    # Every reservation ends; two sweeps expire them all at the same time.
    ended = utc_now() + timedelta(minutes=16)
    order_effects = effects(app)
    expired = await asyncio.gather(
        *(
            settlement.expire_reservation(order.id, now=ended, effects=order_effects)
            for _ in range(2)
            for order in placed
        )
    )

    assert sum(result is not None for result in expired) == 100
    assert await stock_of(product) == 100
    stored = await Order.find({"_id": {"$in": [order.id for order in placed]}}).to_list()
    assert {order.status for order in stored} == {OrderStatus.PAYMENT_EXPIRED}
    for order in stored:
        movements = await stock_movements_of(order.stock_reference)
        assert [(m.kind, m.delta) for m in movements] == [
            (StockMovementKind.TAKEN, -1),
            (StockMovementKind.GIVEN_BACK, 1),
        ]


# -- the sweeper racing late payments and new buyers ------------------------------------------


async def test_the_sweeper_late_payments_and_new_buyers_racing_never_sell_a_unit_twice(
    app: Starlette,
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=100)
    reserved = [await reserved_order(buyer) for buyer in await buyers_with_carts(100, product)]
    assert await stock_of(product) == 0
    late = {order.id: captured(order) for order in reserved[:50]}
    surely_late = {order.id for order in reserved[:25]}
    newcomers = await buyers_with_carts(100, product)
    ended = utc_now() + timedelta(minutes=16)
    order_effects = effects(app)

    async def expired_then_paid(order: Order) -> Settled:
        await settlement.expire_reservation(order.id, now=ended, effects=order_effects)
        return await settlement.settle_payment(late[order.id], effects=order_effects)

    # All at once, interleaved: the sweep expiring, late payments arriving (half of them surely
    # after their order expired, half racing its expiry), new buyers checking out.
    work: list[Awaitable[object]] = []
    for number, order in enumerate(reserved):
        if number < 25:
            work.append(expired_then_paid(order))
        else:
            work.append(settlement.expire_reservation(order.id, now=ended, effects=order_effects))
            if order.id in late:
                work.append(settlement.settle_payment(late[order.id], effects=order_effects))
        work.append(place_order(online_checkout(newcomers[number])))
    results = await asyncio.gather(*work, return_exceptions=True)

    failures = [result for result in results if isinstance(result, BaseException)]
    assert all(
        isinstance(error, OrderError) and error.code is OrderErrorCode.INSUFFICIENT_STOCK
        for error in failures
    ), failures
    stock = await stock_of(product)
    orders = await Order.find({"lines.product_id": product.id}).to_list()
    holding = [
        o for o in orders if o.status in (OrderStatus.CONFIRMED, OrderStatus.PENDING_PAYMENT)
    ]
    assert stock >= 0
    assert stock + sum(order.item_count for order in holding) == 100
    for order in orders:  # what each order holds is what it took and did not give back
        taken = 0
        for stock_round in range(1, order.stock_round + 1):
            reference = stock_reference_of(order.id, stock_round)
            taken += sum(movement.delta for movement in await stock_movements_of(reference))
        assert taken == (-order.item_count if order in holding else 0), order.number
    for order_id, payment in late.items():
        after = await stored_order(order_id)
        assert after.payment is not None
        refunds = [(r.status, r.amount, r.payment_id) for r in after.payment.refunds]
        if after.status is OrderStatus.CONFIRMED:
            assert refunds == []
            expired_first = OrderStatus.PAYMENT_EXPIRED in [e.to_status for e in after.history]
            assert expired_first or order_id not in surely_late
            assert after.stock_round == (2 if expired_first else 1)
        else:
            assert after.status is OrderStatus.PAYMENT_EXPIRED
            assert refunds == [(RefundStatus.REQUESTED, after.total, payment.id)]
    for order in reserved[50:]:
        assert (await stored_order(order)).status is OrderStatus.PAYMENT_EXPIRED


# -- late payments ----------------------------------------------------------------------------


@pytest.fixture
async def standin(
    app: Starlette, replace_services: Callable[..., None]
) -> AsyncIterator[StandInPaymentProvider]:
    """The stand-in as the app's provider, delivering its webhooks to the app."""
    provider = standin_provider(app)
    replace_services(payments=payments_with(app, provider))
    yield provider
    await provider.deliveries_done()
    await clear_standin(app)


@pytest.fixture
async def silent_standin(
    app: Starlette, replace_services: Callable[..., None]
) -> AsyncIterator[StandInPaymentProvider]:
    """The stand-in as the app's provider, its webhooks lost on the way."""
    provider = standin_provider(app, webhooks=False)
    replace_services(payments=payments_with(app, provider))
    yield provider
    await clear_standin(app)


@pytest.fixture
async def watched_standin(
    app: Starlette, replace_services: Callable[..., None]
) -> AsyncIterator[WatchedStandIn]:
    """`silent_standin` noting which orders it is asked about, failing on those it is told to."""
    provider = standin_provider(app, webhooks=False, kind=WatchedStandIn)
    assert isinstance(provider, WatchedStandIn)
    replace_services(payments=payments_with(app, provider))
    yield provider
    await clear_standin(app)


async def test_a_payment_after_expiry_takes_the_stock_again_and_confirms_once(
    app: Starlette, settings: Settings, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product, quantity=2)
    order = await order_at_provider((await place_order(online_checkout(buyer))).order, standin)
    ended = utc_now() + timedelta(minutes=16)
    assert await settlement.expire_reservation(order.id, now=ended, effects=effects(app))
    assert await stock_of(product) == 5
    assert order.payment is not None
    assert order.payment.provider_order_id is not None

    payment, _ = await standin.pay(order.payment.provider_order_id, succeed=True)

    after = await stored_order(order)
    assert after.payment is not None
    assert (after.status, after.stock_round, after.payment.state) == (
        OrderStatus.CONFIRMED,
        2,
        PaymentState.PAID,
    )
    assert after.payment.refunds == []
    assert await stock_of(product) == 3
    assert [(m.kind, m.delta) for m in await stock_movements_of(after.stock_reference)] == [
        (StockMovementKind.TAKEN, -2)
    ]
    # The browser's callback arriving after the webhooks changes nothing.
    again = await settlement.settle_payment(payment_report(payment), effects=effects(app))
    assert again.outcome is Settlement.ALREADY_SETTLED
    subjects = [email["subject"] for email in await sent_emails(app, settings, buyer.email)]
    assert subjects.count(f"Order #{order.number} confirmed") == 1
    assert subjects.count(f"Order #{order.number} was not paid in time") == 1
    assert not [subject for subject in subjects if "efund" in subject]


async def test_a_payment_after_expiry_without_stock_is_refunded_in_full(
    app: Starlette, settings: Settings, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=2)
    [buyer, quicker] = await buyers_with_carts(2, product, quantity=2)
    order = await order_at_provider((await place_order(online_checkout(buyer))).order, standin)
    ended = utc_now() + timedelta(minutes=16)
    assert await settlement.expire_reservation(order.id, now=ended, effects=effects(app))
    await place_order(online_checkout(quicker))  # someone else buys the units that came back
    assert await stock_of(product) == 0
    assert order.payment is not None
    assert order.payment.provider_order_id is not None

    payment, _ = await standin.pay(order.payment.provider_order_id, succeed=True)

    after = await stored_order(order)
    assert after.payment is not None
    assert (after.status, after.stock_round, after.payment.state) == (
        OrderStatus.PAYMENT_EXPIRED,
        1,
        PaymentState.REFUND_PENDING,
    )
    assert [(r.status, r.amount, r.payment_id) for r in after.payment.refunds] == [
        (RefundStatus.REQUESTED, 120_000, payment.id)
    ]
    assert only_refund(after).automatic is True  # the system returns it, and says why
    assert await stock_of(product) == 0

    await run_jobs(app)
    await standin.deliveries_done()  # its refund.processed webhook too

    refunded = await stored_order(order)
    assert refunded.payment is not None
    assert refunded.status is OrderStatus.PAYMENT_EXPIRED
    assert refunded.payment.state is PaymentState.REFUNDED
    assert (refunded.payment.amount_paid, refunded.payment.amount_refunded) == (120_000, 120_000)
    assert only_refund(refunded).status is RefundStatus.PROCESSED
    at_provider = await standin.payment_refunds(payment.id)
    assert [(r.amount, r.receipt) for r in at_provider] == [
        (120_000, only_refund(refunded).receipt)
    ]
    subjects = [email["subject"] for email in await sent_emails(app, settings, buyer.email)]
    assert subjects.count(f"We are refunding your payment for order #{order.number}") == 1
    assert subjects.count(f"Refund of 1200.00 INR for order #{order.number}") == 1
    assert f"Order #{order.number} confirmed" not in subjects


# -- the reconciler ---------------------------------------------------------------------------


async def paid_and_waiting_without_webhooks(
    standin: StandInPaymentProvider,
) -> tuple[Product, Order, Order]:
    """Two online orders of one unit each of a new product (5 in stock): one paid at the stand-in,
    whose webhooks never come, and one not paid at all."""
    product = await make_product(await make_category(), price=60_000, stock=5)
    paid_buyer, waiting_buyer = await buyers_with_carts(2, product)
    paid = await order_at_provider((await place_order(online_checkout(paid_buyer))).order, standin)
    waiting = await order_at_provider(
        (await place_order(online_checkout(waiting_buyer))).order, standin
    )
    assert paid.payment is not None
    assert paid.payment.provider_order_id is not None
    await standin.pay(paid.payment.provider_order_id, succeed=True)
    assert (await stored_order(paid)).status is OrderStatus.PENDING_PAYMENT  # no webhook came
    return product, paid, waiting


async def test_the_reconciler_settles_a_payment_whose_webhook_never_came(
    app: Starlette, silent_standin: StandInPaymentProvider
) -> None:
    product, paid, waiting = await paid_and_waiting_without_webhooks(silent_standin)
    due = utc_now() - timedelta(seconds=1)
    for order in (paid, waiting):
        await set_payment_fields(order, next_check_at=due)

    result = await sweep_payments(job_context(app))

    assert (result.expired, result.checked) == (0, 2)
    confirmed = await stored_order(paid)
    assert confirmed.payment is not None
    assert (confirmed.status, confirmed.payment.state) == (OrderStatus.CONFIRMED, PaymentState.PAID)
    assert confirmed.payment.next_check_at is None
    still = await stored_order(waiting)
    assert still.payment is not None
    assert still.status is OrderStatus.PENDING_PAYMENT
    assert still.payment.next_check_at is not None
    assert still.payment.next_check_at > utc_now()
    assert await stock_of(product) == 3
    # Asked again later, the confirmed order is not asked about any more.
    again = await sweep_payments(job_context(app))
    assert again.checked == 0


async def test_the_expiry_sweep_asks_the_provider_before_expiring(
    app: Starlette, silent_standin: StandInPaymentProvider
) -> None:
    product, paid, unpaid = await paid_and_waiting_without_webhooks(silent_standin)
    ended = utc_now() - timedelta(seconds=1)
    for order in (paid, unpaid):
        await set_payment_fields(order, reserved_until=ended)

    result = await sweep_payments(job_context(app))

    assert result.expired == 1
    confirmed = await stored_order(paid)
    assert (confirmed.status, confirmed.stock_round) == (OrderStatus.CONFIRMED, 1)
    assert [(m.kind, m.delta) for m in await stock_movements_of(confirmed.stock_reference)] == [
        (StockMovementKind.TAKEN, -1)
    ]
    assert (await stored_order(unpaid)).status is OrderStatus.PAYMENT_EXPIRED
    assert await stock_of(product) == 4


async def test_an_order_the_provider_does_not_know_is_checked_again_later_not_every_round(
    app: Starlette, fake_razorpay: FakeRazorpay, razorpay: RazorpayPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    # Its Razorpay order id is made up: the fake answers 400 "does not exist".
    unknown = await reserved_order(buyer, provider=razorpay.name)
    assert unknown.payment is not None
    await set_payment_fields(unknown, next_check_at=utc_now() - timedelta(seconds=1))

    result = await sweep_payments(job_context(app))

    assert result.checked == 1
    assert [(r.method, r.path) for r in fake_razorpay.requests] == [
        ("GET", f"/v1/orders/{unknown.payment.provider_order_id}/payments")
    ]
    after = await stored_order(unknown)
    assert after.payment is not None
    assert after.status is OrderStatus.PENDING_PAYMENT
    assert after.payment.next_check_at is not None
    assert after.payment.next_check_at > utc_now()
    # The next round does not ask about it again.
    assert (await sweep_payments(job_context(app))).checked == 0
    assert len(fake_razorpay.requests) == 1


async def test_an_order_made_with_another_provider_is_not_asked_about_and_checked_later(
    app: Starlette, watched_standin: WatchedStandIn
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    elsewhere_buyer, here_buyer = await buyers_with_carts(2, product)
    # Placed while Razorpay was the provider; the stand-in has run since.
    elsewhere = await reserved_order(elsewhere_buyer, provider="razorpay")
    here = await order_at_provider(
        (await place_order(online_checkout(here_buyer))).order, watched_standin
    )
    assert here.payment is not None
    for order in (elsewhere, here):
        await set_payment_fields(order, next_check_at=utc_now() - timedelta(seconds=1))

    result = await sweep_payments(job_context(app))

    assert result.checked == 2
    assert watched_standin.asked == [here.payment.provider_order_id]
    for order in (elsewhere, here):
        after = await stored_order(order)
        assert after.payment is not None
        assert after.status is OrderStatus.PENDING_PAYMENT
        assert after.payment.next_check_at is not None
        assert after.payment.next_check_at > utc_now()


async def test_one_order_failing_does_not_stop_the_others_in_a_sweep_round(
    app: Starlette, watched_standin: WatchedStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    broken_buyer, other_buyer = await buyers_with_carts(2, product)
    broken, other = [
        await order_at_provider((await place_order(online_checkout(buyer))).order, watched_standin)
        for buyer in (broken_buyer, other_buyer)
    ]
    assert broken.payment is not None
    assert broken.payment.provider_order_id is not None
    watched_standin.broken.add(broken.payment.provider_order_id)
    for order in (broken, other):
        await set_payment_fields(order, reserved_until=utc_now() - timedelta(seconds=1))

    result = await sweep_payments(job_context(app))

    assert result.expired == 1
    assert (await stored_order(other)).status is OrderStatus.PAYMENT_EXPIRED
    assert (await stored_order(broken)).status is OrderStatus.PENDING_PAYMENT
    assert await stock_of(product) == 4
    assert f"payment sweep: {broken.number} failed" in caplog.text
    # The next round tries it again.
    watched_standin.broken.clear()
    assert (await sweep_payments(job_context(app))).expired == 1
    assert (await stored_order(broken)).status is OrderStatus.PAYMENT_EXPIRED
    assert await stock_of(product) == 5


async def test_an_order_whose_check_fails_unexpectedly_is_checked_again_later_not_every_round(
    app: Starlette, watched_standin: WatchedStandIn
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    broken, other = [
        await order_at_provider((await place_order(online_checkout(buyer))).order, watched_standin)
        for buyer in await buyers_with_carts(2, product)
    ]
    assert broken.payment is not None
    assert broken.payment.provider_order_id is not None
    watched_standin.broken.add(broken.payment.provider_order_id)
    for order in (broken, other):
        await set_payment_fields(order, next_check_at=utc_now() - timedelta(seconds=1))

    result = await sweep_payments(job_context(app))

    assert result.checked == 1
    assert len(watched_standin.asked) == 2
    for order in (broken, other):
        after = await stored_order(order)
        assert after.payment is not None
        assert after.status is OrderStatus.PENDING_PAYMENT
        assert after.payment.next_check_at is not None
        assert after.payment.next_check_at > utc_now()
    # A hundred such orders would otherwise fill every round's batch, first in line each time.
    assert (await sweep_payments(job_context(app))).checked == 0
    assert len(watched_standin.asked) == 2


# -- refunds through the API ------------------------------------------------------------------

CANCEL = """
mutation($id: ID!, $reason: String) {
  cancelOrder(id: $id, reason: $reason) {
    order { status payment { state refunds { status amount { amount currency } } } }
    errors { field code currentStatus }
  }
}
"""
REFUND = """
mutation($input: RefundPaymentInput!) {
  refundPayment(input: $input) {
    order { payment { state amountRefunded { amount } } }
    refund { key status amount { amount currency } }
    errors { field code refundable { amount currency } }
  }
}
"""


@pytest.mark.parametrize("packed", [False, True])
async def test_a_buyer_cancelling_a_paid_order_gets_the_stock_back_and_the_money_once(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
    packed: bool,
) -> None:
    """Buyers cancel until the order ships: confirmed or packed."""
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product, quantity=2)
    order = await paid_standin_order(standin, buyer)
    assert order.status is OrderStatus.CONFIRMED
    if packed:
        _, order = await change_order_status(order.id, OrderStatus.PACKED, actor_id=None)
    assert order.payment is not None
    [payment] = order.payment.payments
    assert await stock_of(product) == 3

    body = await graphql(
        client,
        CANCEL,
        {"id": global_id(order), "reason": "Ordered the wrong size"},
        token=await access_token_for(app, buyer),
    )

    assert body["data"]["cancelOrder"] == {
        "order": {
            "status": "CANCELLED",
            "payment": {
                "state": "REFUND_PENDING",
                "refunds": [
                    {"status": "REQUESTED", "amount": {"amount": "1200.00", "currency": "INR"}}
                ],
            },
        },
        "errors": [],
    }
    assert await stock_of(product) == 5

    await run_jobs(app)
    await standin.deliveries_done()

    refunded = await stored_order(order)
    assert refunded.payment is not None
    assert (refunded.status, refunded.payment.state) == (
        OrderStatus.CANCELLED,
        PaymentState.REFUNDED,
    )
    assert only_refund(refunded).status is RefundStatus.PROCESSED
    assert refunded.payment.amount_refunded == 120_000
    assert [r.amount for r in await standin.payment_refunds(payment.id)] == [120_000]
    subjects = [email["subject"] for email in await sent_emails(app, settings, buyer.email)]
    assert subjects.count(f"Refund of 1200.00 INR for order #{order.number}") == 1
    assert not [subject for subject in subjects if subject.startswith("We are refunding")]


async def test_an_admin_refunds_part_then_the_rest_once_per_key(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product, quantity=2)
    order = await paid_standin_order(standin, buyer)
    assert order.payment is not None
    [payment] = order.payment.payments
    admin = await access_token_for(app, await make_user(role=Role.ADMIN))
    partial = {"orderId": global_id(order), "amount": "100.00", "idempotencyKey": "refund-1"}

    first, repeat = await asyncio.gather(
        graphql(client, REFUND, {"input": partial}, token=admin),
        graphql(client, REFUND, {"input": partial}, token=admin),
    )

    for body in (first, repeat):
        assert body["data"]["refundPayment"] == {
            "order": {"payment": {"state": "REFUND_PENDING", "amountRefunded": {"amount": "0.00"}}},
            "refund": {
                "key": "admin:refund-1",
                "status": "REQUESTED",
                "amount": {"amount": "100.00", "currency": "INR"},
            },
            "errors": [],
        }
    requested = await stored_order(order)
    assert requested.payment is not None
    assert [r.key for r in requested.payment.refunds] == ["admin:refund-1"]
    await run_jobs(app)
    await standin.deliveries_done()
    partly = await stored_order(order)
    assert partly.payment is not None
    assert (partly.payment.state, partly.payment.amount_refunded) == (
        PaymentState.PARTIALLY_REFUNDED,
        10_000,
    )

    too_much = await graphql(
        client,
        REFUND,
        {"input": {**partial, "amount": "1100.01", "idempotencyKey": "refund-2"}},
        token=admin,
    )
    assert too_much["data"]["refundPayment"]["errors"] == [
        {
            "field": "amount",
            "code": "INVALID_REFUND_AMOUNT",
            "refundable": {"amount": "1100.00", "currency": "INR"},
        }
    ]
    rest = await graphql(
        client,
        REFUND,
        {"input": {"orderId": global_id(order), "idempotencyKey": "refund-3"}},
        token=admin,
    )
    assert rest["data"]["refundPayment"]["refund"]["amount"]["amount"] == "1100.00"
    await run_jobs(app)
    await standin.deliveries_done()

    refunded = await stored_order(order)
    assert refunded.payment is not None
    assert refunded.status is OrderStatus.CONFIRMED  # a refund alone does not cancel
    assert (refunded.payment.state, refunded.payment.amount_refunded) == (
        PaymentState.REFUNDED,
        120_000,
    )
    assert [(r.key, r.amount, r.status, r.automatic) for r in refunded.payment.refunds] == [
        ("admin:refund-1", 10_000, RefundStatus.PROCESSED, False),
        ("admin:refund-3", 110_000, RefundStatus.PROCESSED, False),
    ]
    subjects = [email["subject"] for email in await sent_emails(app, settings, buyer.email)]
    assert not [subject for subject in subjects if subject.startswith("We are refunding")]
    assert subjects.count(f"Refund of 100.00 INR for order #{order.number}") == 1
    assert all(type(r.amount) is int for r in refunded.payment.refunds)
    at_provider = await standin.payment_refunds(payment.id)
    assert sorted((r.receipt, r.amount) for r in at_provider) == sorted(
        [(refund_receipt("admin:refund-1"), 10_000), (refund_receipt("admin:refund-3"), 110_000)]
    )
    nothing_left = await graphql(
        client,
        REFUND,
        {"input": {"orderId": global_id(order), "idempotencyKey": "refund-4"}},
        token=admin,
    )
    assert nothing_left["data"]["refundPayment"]["errors"] == [
        {"field": None, "code": "NOTHING_TO_REFUND", "refundable": None}
    ]


async def test_refunds_are_refused_for_orders_that_have_nothing_online_and_for_non_admins(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    cash_buyer, unpaid_buyer, paid_buyer = await buyers_with_carts(3, product)
    cash = await make_order(cash_buyer, (product, 1))
    unpaid = await reserved_order(unpaid_buyer)
    paid = await paid_standin_order(standin, paid_buyer)
    admin = await access_token_for(app, await make_user(role=Role.ADMIN))

    def refund_of(order: Order) -> dict[str, object]:
        return {"input": {"orderId": global_id(order), "idempotencyKey": "refund-1"}}

    on_cash = await graphql(client, REFUND, refund_of(cash), token=admin)
    on_unpaid = await graphql(client, REFUND, refund_of(unpaid), token=admin)
    by_buyer = await graphql(
        client, REFUND, refund_of(paid), token=await access_token_for(app, paid_buyer)
    )
    anonymous = await graphql(client, REFUND, refund_of(paid))

    assert on_cash["data"]["refundPayment"]["errors"] == [
        {"field": "orderId", "code": "NOT_AN_ONLINE_ORDER", "refundable": None}
    ]
    assert on_unpaid["data"]["refundPayment"]["errors"] == [
        {"field": None, "code": "NOTHING_TO_REFUND", "refundable": None}
    ]
    assert error_codes(by_buyer) == ["FORBIDDEN"]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    for order in (cash, unpaid, paid):
        assert (await stored_order(order)).model_dump() == order.model_dump()
    assert paid.payment is not None
    assert await standin.payment_refunds(paid.payment.payments[0].id) == []


# -- refunds with the provider failing (the real SDK against the Razorpay fake) ---------------


@pytest.fixture
def fake_razorpay() -> Iterator[FakeRazorpay]:
    with FakeRazorpay() as fake:
        yield fake


@pytest.fixture
def razorpay(
    app: Starlette, replace_services: Callable[..., None], fake_razorpay: FakeRazorpay
) -> RazorpayPaymentProvider:
    """The SDK-backed provider against the fake as the app's provider; a slow answer times out
    after a second."""
    provider = razorpay_provider(fake_razorpay, timeout_seconds=1.0)
    replace_services(payments=payments_with(app, provider))
    return provider


async def refund_requested(
    app: Starlette, fake: FakeRazorpay, provider: RazorpayPaymentProvider
) -> tuple[Order, RefundRecord]:
    """A paid order with an admin's full refund REQUESTED, no provider call made yet."""
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    order, _ = await paid_razorpay_order(app, fake, provider, buyer)
    return await settlement.request_refund(
        order.id,
        amount=None,
        key="admin:refund-1",
        reason="damaged in transit",
        actor_id=None,
        effects=effects(app),
    )


def refund_calls(fake: FakeRazorpay) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/refund")]


async def test_a_refund_the_provider_fails_with_500_waits_and_is_made_once_later(
    app: Starlette, fake_razorpay: FakeRazorpay, razorpay: RazorpayPaymentProvider
) -> None:
    order, refund = await refund_requested(app, fake_razorpay, razorpay)
    fake_razorpay.fail_next(500)
    asked_at = utc_now()

    outcome = await run_refund(job_context(app), str(order.id), refund.key)

    assert outcome == "will retry"
    waiting = only_refund(await stored_order(order))
    assert waiting.status is RefundStatus.REQUESTED
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at >= asked_at + timedelta(seconds=30)
    assert waiting.error is not None
    assert "server error" in waiting.error
    assert fake_razorpay.refunds == {}
    # Not before its time.
    assert await run_refund(job_context(app), str(order.id), refund.key) == "nothing to do"

    await make_refund_due_now(order, refund.key)
    assert await run_refund(job_context(app), str(order.id), refund.key) == "asked"

    done = await stored_order(order)
    assert done.payment is not None
    assert (only_refund(done).status, done.payment.state) == (
        RefundStatus.PROCESSED,
        PaymentState.REFUNDED,
    )
    assert [(r["amount"], r["receipt"]) for r in fake_razorpay.refunds.values()] == [
        (60_000, refund.receipt)
    ]


async def test_a_refund_whose_answer_timed_out_is_found_by_its_receipt_not_made_twice(
    app: Starlette, fake_razorpay: FakeRazorpay, razorpay: RazorpayPaymentProvider
) -> None:
    order, refund = await refund_requested(app, fake_razorpay, razorpay)
    fake_razorpay.delay_next(2.0)  # the fake refunds at once, but answers after the timeout

    outcome = await run_refund(job_context(app), str(order.id), refund.key)

    assert outcome == "will retry"
    assert len(fake_razorpay.refunds) == 1
    unsure = only_refund(await stored_order(order))
    assert unsure.status is RefundStatus.REQUESTED
    assert unsure.error is not None
    assert "in time" in unsure.error

    await make_refund_due_now(order, refund.key)
    assert await run_refund(job_context(app), str(order.id), refund.key) == "asked"

    done = await stored_order(order)
    assert done.payment is not None
    assert (only_refund(done).status, done.payment.state) == (
        RefundStatus.PROCESSED,
        PaymentState.REFUNDED,
    )
    assert only_refund(done).provider_id == next(iter(fake_razorpay.refunds))
    assert len(fake_razorpay.refunds) == 1
    assert len(refund_calls(fake_razorpay)) == 1


async def test_a_refund_the_provider_refuses_fails_without_telling_the_shopper(
    app: Starlette,
    settings: Settings,
    fake_razorpay: FakeRazorpay,
    razorpay: RazorpayPaymentProvider,
) -> None:
    order, refund = await refund_requested(app, fake_razorpay, razorpay)
    fake_razorpay.fail_next(400, code="BAD_REQUEST_ERROR", description="Refunds are disabled")

    outcome = await run_refund(job_context(app), str(order.id), refund.key)

    assert outcome == "refused"
    failed = await stored_order(order)
    assert failed.payment is not None
    assert (only_refund(failed).status, failed.payment.state) == (
        RefundStatus.FAILED,
        PaymentState.REFUND_FAILED,
    )
    assert only_refund(failed).next_attempt_at is None
    assert fake_razorpay.refunds == {}
    subjects = [email["subject"] for email in await sent_emails(app, settings, order.email)]
    assert subjects == [f"Order #{order.number} confirmed"]
    assert len(refund_calls(fake_razorpay)) == 1  # and the jobs did not ask again


async def test_two_refund_jobs_at_once_call_the_provider_once(
    app: Starlette, fake_razorpay: FakeRazorpay, razorpay: RazorpayPaymentProvider
) -> None:
    order, refund = await refund_requested(app, fake_razorpay, razorpay)

    outcomes = await asyncio.gather(
        run_refund(job_context(app), str(order.id), refund.key),
        run_refund(job_context(app), str(order.id), refund.key),
    )

    assert sorted(outcomes) == ["asked", "nothing to do"]
    assert len(refund_calls(fake_razorpay)) == 1
    assert only_refund(await stored_order(order)).status is RefundStatus.PROCESSED


# -- paid twice -------------------------------------------------------------------------------


async def test_a_second_payment_for_an_order_is_returned_in_full_and_the_order_stays_confirmed(
    app: Starlette,
    settings: Settings,
    fake_razorpay: FakeRazorpay,
    razorpay: RazorpayPaymentProvider,
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    order = await order_at_provider((await place_order(online_checkout(buyer))).order, razorpay)
    assert order.payment is not None
    assert order.payment.provider_order_id is not None
    payments = [fake_razorpay.add_payment(order.payment.provider_order_id) for _ in range(2)]
    reports = [payment_report(await razorpay.fetch_payment(p["id"])) for p in payments]

    settled = await asyncio.gather(
        *(settlement.settle_payment(report, effects=effects(app)) for report in reports)
    )

    outcomes = {result.outcome: report for result, report in zip(settled, reports, strict=True)}
    assert set(outcomes) == {Settlement.CONFIRMED, Settlement.REFUNDING}
    returned = outcomes[Settlement.REFUNDING]
    after = await stored_order(order)
    assert after.payment is not None
    assert (after.status, after.stock_round) == (OrderStatus.CONFIRMED, 1)
    assert [(r.status, r.amount, r.payment_id) for r in after.payment.refunds] == [
        (RefundStatus.REQUESTED, 60_000, returned.id)
    ]
    assert only_refund(after).automatic is True
    assert await stock_of(product) == 4

    await run_jobs(app)

    final = await stored_order(order)
    assert final.status is OrderStatus.CONFIRMED
    assert only_refund(final).status is RefundStatus.PROCESSED
    assert [(r["payment_id"], r["amount"]) for r in fake_razorpay.refunds.values()] == [
        (returned.id, 60_000)
    ]
    subjects = [email["subject"] for email in await sent_emails(app, settings, buyer.email)]
    assert sorted(subjects) == sorted(
        [
            f"Order #{order.number} confirmed",
            f"We are refunding your payment for order #{order.number}",
            f"Refund of 600.00 INR for order #{order.number}",
        ]
    )


# -- admins cancel later than buyers ----------------------------------------------------------


async def test_an_admin_cancels_a_shipped_paid_order_and_it_is_refunded(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    admin = await make_user(role=Role.ADMIN)
    order = await paid_standin_order(standin, buyer)
    for status in (OrderStatus.PACKED, OrderStatus.SHIPPED):
        await change_order_status(order.id, status, actor_id=admin.id)

    body = await graphql(
        client,
        CANCEL,
        {"id": global_id(order), "reason": "Lost by the courier"},
        token=await access_token_for(app, admin),
    )

    assert body["data"]["cancelOrder"]["errors"] == []
    assert body["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert await stock_of(product) == 5
    await run_jobs(app)
    await standin.deliveries_done()
    refunded = await stored_order(order)
    assert refunded.payment is not None
    assert (refunded.status, refunded.payment.state) == (
        OrderStatus.CANCELLED,
        PaymentState.REFUNDED,
    )


async def test_a_buyer_cannot_cancel_a_shipped_paid_order_and_nothing_changes(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    order = await paid_standin_order(standin, buyer)
    await change_order_status(order.id, OrderStatus.PACKED, actor_id=None)
    _, packed = await change_order_status(order.id, OrderStatus.SHIPPED, actor_id=None)

    body = await graphql(
        client, CANCEL, {"id": global_id(order)}, token=await access_token_for(app, buyer)
    )

    assert body["data"]["cancelOrder"] == {
        "order": None,
        "errors": [
            {"field": "status", "code": "INVALID_ORDER_TRANSITION", "currentStatus": "SHIPPED"}
        ],
    }
    assert (await stored_order(order)).model_dump() == packed.model_dump()
    assert await stock_of(product) == 4


ORDER_PAYMENT = """
query($id: ID!) { order(id: $id) { payment {
  attempts { providerPaymentId flag } refunds { key reason error status } } } }
"""


async def test_the_buyer_sees_refunds_without_the_shops_own_notes(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    product = await make_product(await make_category(), price=60_000, stock=5)
    [buyer] = await buyers_with_carts(1, product)
    admin = await make_user("payments-admin@example.com", role=Role.ADMIN)
    order = await paid_standin_order(standin, buyer)
    cancelled = await graphql(
        client,
        CANCEL,
        {"id": global_id(order), "reason": "Ordered twice"},
        token=await access_token_for(app, buyer),
    )
    assert cancelled["data"]["cancelOrder"]["errors"] == []

    def seen(body: dict[str, object]) -> object:
        return body["data"]["order"]["payment"]  # type: ignore[index]

    as_buyer = seen(
        await graphql(
            client,
            ORDER_PAYMENT,
            {"id": global_id(order)},
            token=await access_token_for(app, buyer),
        )
    )
    as_admin = seen(
        await graphql(
            client,
            ORDER_PAYMENT,
            {"id": global_id(order)},
            token=await access_token_for(app, admin),
        )
    )

    [payment] = (await stored_order(order)).payment.payments  # type: ignore[union-attr]
    refund = {"reason": "order cancelled", "error": None, "status": "REQUESTED"}
    assert as_buyer == {
        "attempts": [{"providerPaymentId": payment.id, "flag": None}],
        "refunds": [{**refund, "key": None}],
    }
    assert as_admin == {
        "attempts": [{"providerPaymentId": payment.id, "flag": None}],
        "refunds": [{**refund, "key": f"cancel:{order.id}:{payment.id}"}],
    }
