"""`POST /webhooks/razorpay`: forged and malformed deliveries change nothing, replays and
concurrent deliveries apply once, events settle in any order, the webhook and the browser's
callback racing confirm once, a wrong amount is flagged, and a refund's webhook may beat the
refund call's own answer."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from documents.catalog import Product
from documents.common import utc_now
from documents.orders import Order, OrderStatus
from documents.payments import PaymentState, RefundStatus
from documents.settlement import ProcessedWebhook, reservations_ended
from integrations.payments import (
    StandInPaymentProvider,
    new_razorpay_id,
    refund_from_entity,
    sign,
)
from resolvers.context import new_context
from resolvers.payments.jobs import sweep_payments
from schema.webhooks import MAX_WEBHOOK_BYTES
from settings import Settings
from tests.factories import make_category, make_product
from tests.payments.webhook_support import (
    CANCEL_ORDER,
    CONFIRM_PAYMENT,
    WEBHOOK,
    deliver,
    outbox_keys,
    place_online_order,
    quiet_standin,
    refund_webhook_first,
    standin_order,
    stored,
    use_provider,
    webhook_state,
)
from tests.support import graphql, run_jobs, sent_emails

ReplaceServices = Callable[..., None]


@pytest.fixture
async def standin(
    app: Starlette, settings: Settings, replace_services: ReplaceServices
) -> StandInPaymentProvider:
    provider = quiet_standin(app, settings)
    use_provider(app, replace_services, provider)
    return provider


async def a_product(stock: int = 100) -> Product:
    return await make_product(await make_category(), price=49_900, stock=stock)


def confirmations(order: Order) -> list[tuple[OrderStatus | None, OrderStatus]]:
    return [
        (event.from_status, event.to_status)
        for event in order.history
        if event.to_status is OrderStatus.CONFIRMED
    ]


async def confirmation_subjects(app: Starlette, settings: Settings, order: Order) -> list[str]:
    emails = await sent_emails(app, settings, order.email)
    return [email["subject"] for email in emails if "confirmed" in email["subject"]]


# --- refused deliveries ---------------------------------------------------------------------


@pytest.mark.parametrize("case", ["forged", "missing", "other_body", "no_event_id"])
async def test_a_refused_delivery_is_400_and_changes_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
    case: str,
) -> None:
    placed = await place_online_order(app, client, await a_product())
    payment, _ = await standin.pay(placed.provider_order_id, succeed=True)
    body, headers = standin.webhook("payment.captured", payment=payment)
    if case == "forged":
        headers["X-Razorpay-Signature"] = sign(body, "not-the-webhook-secret")
    elif case == "missing":
        del headers["X-Razorpay-Signature"]
    elif case == "other_body":
        # Signed as it was, then the amount changed on the way.
        body = body.replace(b'"amount":49900', b'"amount":100', 1)
        assert b'"amount":100' in body
    else:
        del headers["X-Razorpay-Event-Id"]
    before = await webhook_state()

    response = await deliver(client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"] == (
        "missing event id" if case == "no_event_id" else "invalid signature"
    )
    assert await webhook_state() == before
    assert (await stored(placed.order.id)).status is OrderStatus.PENDING_PAYMENT


# --- replays ------------------------------------------------------------------------------


async def test_one_event_delivered_five_times_confirms_the_order_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    placed = await place_online_order(app, client, await a_product())
    payment, _ = await standin.pay(placed.provider_order_id, succeed=True)
    body, headers = standin.webhook("payment.captured", payment=payment)

    answers = [await deliver(client, body, headers) for _ in range(5)]

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"status": "confirmed"})] + [
        (200, {"status": "duplicate"})
    ] * 4
    order = await stored(placed.order.id)
    assert order.status is OrderStatus.CONFIRMED
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]
    assert order.payment is not None
    assert (order.payment.state, order.payment.amount_paid) == (PaymentState.PAID, order.total)
    assert await confirmation_subjects(app, settings, order) == [f"Order #{order.number} confirmed"]
    processed = await ProcessedWebhook.find_all().to_list()
    assert [(p.id, p.event, p.outcome) for p in processed] == [
        (headers["X-Razorpay-Event-Id"], "payment.captured", "confirmed")
    ]


async def test_five_deliveries_of_one_event_at_once_confirm_the_order_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    placed = await place_online_order(app, client, await a_product())
    payment, _ = await standin.pay(placed.provider_order_id, succeed=True)
    body, headers = standin.webhook("payment.captured", payment=payment)

    answers = await asyncio.gather(*(deliver(client, body, headers) for _ in range(5)))

    assert {a.status_code for a in answers} == {200}
    assert sorted(a.json()["status"] for a in answers) == ["confirmed"] + ["duplicate"] * 4
    order = await stored(placed.order.id)
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]
    assert await outbox_keys(f"order-confirmed:{order.id}") == [f"order-confirmed:{order.id}"]
    assert await confirmation_subjects(app, settings, order) == [f"Order #{order.number} confirmed"]
    assert await ProcessedWebhook.find_all().count() == 1


# --- events in any order --------------------------------------------------------------------


async def test_order_paid_before_payment_captured_settles_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    placed = await place_online_order(app, client, await a_product())
    provider_order_id = placed.provider_order_id
    payment, _ = await standin.pay(provider_order_id, succeed=True)
    provider_order = await standin_order(app, settings, provider_order_id)
    order_paid = standin.webhook("order.paid", payment=payment, order=provider_order)
    captured = standin.webhook("payment.captured", payment=payment)

    first = await deliver(client, *order_paid)
    second = await deliver(client, *captured)

    assert (first.status_code, first.json()) == (200, {"status": "confirmed"})
    assert (second.status_code, second.json()) == (200, {"status": "already_settled"})
    order = await stored(placed.order.id)
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]
    assert order.payment is not None
    assert [(p.id, p.status) for p in order.payment.payments] == [(payment.id, "captured")]
    assert order.payment.amount_paid == order.total
    assert await confirmation_subjects(app, settings, order) == [f"Order #{order.number} confirmed"]
    assert await ProcessedWebhook.find_all().count() == 2


async def test_a_failed_attempt_then_a_captured_one_is_recorded_and_confirms(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    placed = await place_online_order(app, client, await a_product())
    provider_order_id = placed.provider_order_id
    failed, _ = await standin.pay(provider_order_id, succeed=False)
    paid, _ = await standin.pay(provider_order_id, succeed=True)

    first = await deliver(client, *standin.webhook("payment.failed", payment=failed))
    between = await stored(placed.order.id)
    second = await deliver(client, *standin.webhook("payment.captured", payment=paid))
    # The failed attempt's event delivered again, late, under a new id: nothing moves back.
    late = await deliver(client, *standin.webhook("payment.failed", payment=failed))

    assert [r.json()["status"] for r in (first, second, late)] == [
        "recorded",
        "confirmed",
        "already_settled",
    ]
    assert between.status is OrderStatus.PENDING_PAYMENT
    assert between.payment is not None
    assert between.payment.state is PaymentState.AWAITING
    order = await stored(placed.order.id)
    assert order.status is OrderStatus.CONFIRMED
    assert order.payment is not None
    assert sorted((p.id, p.status) for p in order.payment.payments) == sorted(
        [(failed.id, "failed"), (paid.id, "captured")]
    )
    assert (order.payment.state, order.payment.amount_paid) == (PaymentState.PAID, order.total)
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]


async def test_a_failed_payment_authorised_late_and_captured_confirms_the_order(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    # Razorpay marks a payment with no answer from the bank failed after 10 minutes, then keeps
    # asking the bank for 3 days: the same payment may turn authorized and be captured.
    placed = await place_online_order(app, client, await a_product())
    failed, _ = await standin.pay(placed.provider_order_id, succeed=False)
    cleared = {"error_code": None, "error_description": None}
    authorized = dataclasses.replace(
        failed,
        status="authorized",
        **cleared,
        raw={**failed.raw, "status": "authorized", **cleared},
    )
    captured = dataclasses.replace(
        authorized,
        status="captured",
        raw={**authorized.raw, "status": "captured", "captured": True},
    )

    answers = [
        await deliver(client, *standin.webhook(event, payment=payment))
        for event, payment in [
            ("payment.failed", failed),
            ("payment.authorized", authorized),
            ("payment.captured", captured),
            ("payment.failed", failed),  # delivered again, late
        ]
    ]

    assert [a.json()["status"] for a in answers] == [
        "recorded",
        "recorded",
        "confirmed",
        "already_settled",
    ]
    order = await stored(placed.order.id)
    assert order.status is OrderStatus.CONFIRMED
    assert order.payment is not None
    [record] = order.payment.payments
    assert (record.id, record.status, record.error_code) == (failed.id, "captured", None)
    assert (order.payment.state, order.payment.amount_paid) == (PaymentState.PAID, order.total)
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]


@pytest.mark.parametrize(
    ("refunded", "state"), [(10_000, "PARTIALLY_REFUNDED"), (49_900, "REFUNDED")]
)
async def test_a_refund_arriving_before_its_payment_records_both_once(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
    refunded: int,
    state: str,
) -> None:
    placed = await place_online_order(app, client, await a_product())
    paid, _ = await standin.pay(placed.provider_order_id, succeed=True)
    # Refunded on Razorpay's dashboard before the shop heard of the payment.
    refund = await standin.refund(paid.id, amount=refunded, receipt="dashboard", notes={})
    refund_event = standin.webhook(
        "refund.processed", refund=refund, payment=await standin.fetch_payment(paid.id)
    )

    first = await deliver(client, *refund_event)
    again = await deliver(client, *refund_event, event_id="evt_RefundReplayed01")
    captured = await deliver(client, *standin.webhook("payment.captured", payment=paid))

    assert [r.json()["status"] for r in (first, again, captured)] == [
        "refund recorded",
        "refund recorded",
        "already_settled",
    ]
    order = await stored(placed.order.id)
    assert order.payment is not None
    [record] = order.payment.payments
    # The payment as the refund's event carried it: the later payment.captured does not undo it.
    payment_status = "refunded" if refunded == order.total else "captured"
    assert (record.id, record.amount, record.status) == (paid.id, order.total, payment_status)
    assert [
        (r.provider_id, r.amount, r.status, r.provider_status) for r in order.payment.refunds
    ] == [(refund.id, refunded, RefundStatus.PROCESSED, "processed")]
    assert order.payment.state is PaymentState(state)
    assert (order.payment.amount_paid, order.payment.amount_refunded) == (order.total, refunded)
    assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]
    emails = await sent_emails(app, settings, order.email)
    assert [e["subject"] for e in emails if e["subject"].startswith("Refund of")] == [
        f"Refund of {refunded / 100:.2f} INR for order #{order.number}"
    ]


async def test_an_auto_refunded_payment_that_was_never_captured_does_not_confirm_the_order(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    # A late authorisation after the capture window: Razorpay refunds it by itself, uncaptured.
    placed = await place_online_order(app, client, await a_product())
    failed, _ = await standin.pay(placed.provider_order_id, succeed=False)
    assert (await deliver(client, *standin.webhook("payment.failed", payment=failed))).json() == {
        "status": "recorded"
    }
    cleared = {"error_code": None, "error_description": None}
    auto_refunded = dataclasses.replace(
        failed,
        status="refunded",
        amount_refunded=failed.amount,
        **cleared,
        raw={
            **failed.raw,
            **cleared,
            "status": "refunded",
            "captured": False,
            "amount_refunded": failed.amount,
            "refund_status": "full",
        },
    )
    refund = refund_from_entity(
        {
            "id": new_razorpay_id("rfnd_"),
            "entity": "refund",
            "amount": failed.amount,
            "currency": failed.currency,
            "payment_id": failed.id,
            "notes": [],
            "receipt": None,
            "status": "processed",
            "created_at": 1_767_225_600,
        }
    )

    await deliver(
        client, *standin.webhook("refund.processed", refund=refund, payment=auto_refunded)
    )

    order = await stored(placed.order.id)
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.payment is not None
    assert order.payment.amount_paid == 0
    assert await outbox_keys(f"order-confirmed:{order.id}") == []


# --- the browser's callback and the webhook racing ------------------------------------------


async def test_the_callback_and_the_webhook_racing_confirm_each_order_once(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    product = await a_product(stock=100)
    for _ in range(25):
        placed = await place_online_order(app, client, product)
        payment, callback = await standin.pay(placed.provider_order_id, succeed=True)
        confirm_input = {
            "orderId": placed.global_id,
            "razorpayOrderId": callback["razorpay_order_id"],
            "razorpayPaymentId": callback["razorpay_payment_id"],
            "razorpaySignature": callback["razorpay_signature"],
        }

        confirmed, webhook = await asyncio.gather(
            graphql(client, CONFIRM_PAYMENT, {"input": confirm_input}, token=placed.token),
            deliver(client, *standin.webhook("payment.captured", payment=payment)),
        )

        assert confirmed["data"]["confirmPayment"] == {
            "order": {"status": "CONFIRMED", "payment": {"state": "PAID"}},
            "errors": [],
        }
        assert webhook.status_code == 200
        assert webhook.json()["status"] in ("confirmed", "already_settled")
        order = await stored(placed.order.id)
        assert confirmations(order) == [(OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)]
        assert await outbox_keys(f"order-confirmed:{order.id}") == [f"order-confirmed:{order.id}"]
        assert order.payment is not None
        assert [p.id for p in order.payment.payments] == [payment.id]
        assert (order.payment.state, order.payment.amount_paid) == (PaymentState.PAID, order.total)
    restocked = await Product.get(product.id)
    assert restocked is not None
    assert restocked.stock == 75


# --- a captured amount unlike the total ------------------------------------------------------


async def test_a_wrong_amount_is_flagged_not_confirmed_and_not_expired(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    product = await a_product(stock=10)
    placed = await place_online_order(app, client, product)
    unpaid = await place_online_order(app, client, product)
    short = placed.order.total - 100
    payment, _ = await standin.pay(placed.provider_order_id, succeed=True, amount=short)

    answer = await deliver(client, *standin.webhook("payment.captured", payment=payment))

    assert answer.json() == {"status": "flagged"}
    order = await stored(placed.order.id)
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.payment is not None
    [record] = order.payment.payments
    assert (record.id, record.amount, record.status) == (payment.id, short, "captured")
    assert record.flag is not None
    assert str(order.total) in record.flag
    assert order.payment.state is PaymentState.NEEDS_REVIEW
    assert await outbox_keys(f"order-confirmed:{order.id}") == []

    # Both reservations end; the sweep expires the unpaid order and leaves the flagged one.
    ended = utc_now() - timedelta(minutes=1)
    await Order.get_pymongo_collection().update_many(
        {"_id": {"$in": [placed.order.id, unpaid.order.id]}},
        {"$set": {"payment.reserved_until": ended}},
    )
    assert [o.id for o in await reservations_ended(utc_now(), limit=10)] == [unpaid.order.id]
    ctx = new_context(settings=settings, services=app.state.services, request_id="test-sweep")
    swept = await sweep_payments(ctx)

    assert swept.expired == 1
    assert (await stored(unpaid.order.id)).status is OrderStatus.PAYMENT_EXPIRED
    flagged = await stored(placed.order.id)
    assert flagged.status is OrderStatus.PENDING_PAYMENT
    assert flagged.payment is not None
    assert flagged.payment.state is PaymentState.NEEDS_REVIEW
    restocked = await Product.get(product.id)
    assert restocked is not None
    assert restocked.stock == 9


# --- a refund's webhook before the refund call returns ---------------------------------------


async def test_a_refund_webhook_before_the_refund_call_returns_records_one_refund(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    replace_services: ReplaceServices,
) -> None:
    provider = refund_webhook_first(app, settings, client)
    use_provider(app, replace_services, provider)
    placed = await place_online_order(app, client, await a_product())
    paid, _ = await provider.pay(placed.provider_order_id, succeed=True)
    captured = await deliver(client, *provider.webhook("payment.captured", payment=paid))
    assert captured.json() == {"status": "confirmed"}
    cancelled = await graphql(
        client,
        CANCEL_ORDER,
        {"id": placed.global_id, "reason": "changed my mind"},
        token=placed.token,
    )
    assert cancelled["data"]["cancelOrder"] == {
        "order": {
            "status": "CANCELLED",
            "payment": {"state": "REFUND_PENDING", "refunds": [{"status": "REQUESTED"}]},
        },
        "errors": [],
    }

    await run_jobs(app)

    assert provider.answers == [(200, {"status": "refund recorded"})]
    [made] = await provider.payment_refunds(paid.id)
    order = await stored(placed.order.id)
    assert order.payment is not None
    [refund] = order.payment.refunds
    assert (refund.key, refund.status, refund.provider_id, refund.amount, refund.attempts) == (
        f"cancel:{order.id}:{paid.id}",
        RefundStatus.PROCESSED,
        made.id,
        order.total,
        1,
    )
    assert (order.payment.state, order.payment.amount_refunded) == (
        PaymentState.REFUNDED,
        order.total,
    )
    emails = await sent_emails(app, settings, order.email)
    assert [e["subject"] for e in emails if e["subject"].startswith("Refund of")] == [
        f"Refund of 499.00 INR for order #{order.number}"
    ]
    assert await run_jobs(app) == 0  # nothing asks the provider again


# --- events the shop has nothing to do with, and bodies it cannot read -----------------------


async def test_an_event_for_an_unknown_razorpay_order_is_acknowledged_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    await place_online_order(app, client, await a_product())
    elsewhere = await standin.create_order(amount=25_000, currency="INR", receipt="x", notes={})
    payment, _ = await standin.pay(elsewhere.id, succeed=True)
    body, headers = standin.webhook("payment.captured", payment=payment)
    before = await webhook_state()

    answer = await deliver(client, body, headers)

    assert (answer.status_code, answer.json()) == (200, {"status": "unknown_order"})
    after = await webhook_state()
    assert {name: rows for name, rows in after.items() if name != "processed_webhooks"} == {
        name: rows for name, rows in before.items() if name != "processed_webhooks"
    }
    processed = await ProcessedWebhook.find_all().to_list()
    assert [(p.id, p.outcome) for p in processed] == [
        (headers["X-Razorpay-Event-Id"], "unknown_order")
    ]


async def test_an_event_the_shop_does_not_handle_is_acknowledged_and_recorded_as_ignored(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    await place_online_order(app, client, await a_product())
    body, headers = standin.webhook("payment.downtime.started")
    before = await webhook_state()

    answer = await deliver(client, body, headers)

    assert (answer.status_code, answer.json()) == (200, {"status": "ignored"})
    after = await webhook_state()
    assert after["orders"] == before["orders"]
    assert after["outbox_messages"] == before["outbox_messages"]
    processed = await ProcessedWebhook.find_all().to_list()
    assert [(p.id, p.event, p.outcome) for p in processed] == [
        (headers["X-Razorpay-Event-Id"], "payment.downtime.started", "ignored")
    ]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"event": "payment.captured", "payload": {"payment": 1}}'],
    ids=["not_json", "not_an_object", "bad_payload"],
)
async def test_a_malformed_body_with_a_valid_signature_is_400_and_changes_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    standin: StandInPaymentProvider,
    body: bytes,
) -> None:
    await place_online_order(app, client, await a_product())
    _, _, secret = settings.payment_secrets()
    headers = {
        "X-Razorpay-Signature": sign(body, secret),
        "X-Razorpay-Event-Id": "evt_Malformed0001",
    }
    before = await webhook_state()

    answer = await deliver(client, body, headers)

    assert (answer.status_code, answer.json()) == (400, {"error": "malformed event"})
    assert await webhook_state() == before


@pytest.mark.parametrize("amount", [10**30, 2**63, -49_900])
async def test_a_signed_payment_of_an_impossible_amount_is_400_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider, amount: int
) -> None:
    placed = await place_online_order(app, client, await a_product())
    payment, _ = await standin.pay(placed.provider_order_id, succeed=True)
    impossible = dataclasses.replace(payment, amount=amount, raw={**payment.raw, "amount": amount})
    before = await webhook_state()

    answer = await deliver(client, *standin.webhook("payment.captured", payment=impossible))

    assert (answer.status_code, answer.json()) == (400, {"error": "malformed event"})
    assert await webhook_state() == before


async def test_a_signed_body_nested_beyond_reason_is_400_and_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, standin: StandInPaymentProvider
) -> None:
    await place_online_order(app, client, await a_product())
    depth = 100_000
    body = b'{"event":"payment.captured","payload":' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) <= MAX_WEBHOOK_BYTES
    _, _, secret = settings.payment_secrets()
    headers = {"X-Razorpay-Signature": sign(body, secret), "X-Razorpay-Event-Id": "evt_Nested0001"}
    before = await webhook_state()

    answer = await deliver(client, body, headers)

    assert (answer.status_code, answer.json()) == (400, {"error": "malformed event"})
    assert await webhook_state() == before


def counted_body(size: int, sent: list[int], chunk: int = 16 * 1024) -> AsyncIterator[bytes]:
    """`size` bytes in chunks, each noted in `sent` as the server reads it."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, size, chunk):
            piece = b"x" * min(chunk, size - start)
            sent.append(len(piece))
            yield piece

    return chunks()


async def test_a_body_declared_too_large_is_413_without_being_read(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    size = 300 * 1024
    sent: list[int] = []
    before = await webhook_state()

    answer = await client.post(
        WEBHOOK,
        content=counted_body(size, sent),
        headers={"Content-Length": str(size), "X-Razorpay-Event-Id": "evt_Large0001"},
    )

    assert (answer.status_code, answer.json()) == (413, {"error": "body too large"})
    assert sent == []
    assert await webhook_state() == before


async def test_a_body_sent_without_its_length_is_413_once_past_the_cap(
    app: Starlette, client: httpx.AsyncClient, standin: StandInPaymentProvider
) -> None:
    chunk = 16 * 1024
    sent: list[int] = []
    before = await webhook_state()

    answer = await client.post(
        WEBHOOK,
        content=counted_body(8 * 1024 * 1024, sent, chunk),
        headers={"X-Razorpay-Event-Id": "evt_Chunked0001"},
    )

    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in answer.request.headers
    assert (answer.status_code, answer.json()) == (413, {"error": "body too large"})
    # Read only until it passed the cap.
    assert MAX_WEBHOOK_BYTES < sum(sent) <= MAX_WEBHOOK_BYTES + chunk
    assert await webhook_state() == before


async def test_webhooks_are_404_when_online_payments_are_off(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    replace_services: ReplaceServices,
) -> None:
    provider = quiet_standin(app, settings)
    use_provider(app, replace_services, provider)
    placed = await place_online_order(app, client, await a_product())
    payment, _ = await provider.pay(placed.provider_order_id, succeed=True)
    body, headers = provider.webhook("payment.captured", payment=payment)
    use_provider(app, replace_services, None)
    before = await webhook_state()

    answer = await deliver(client, body, headers)

    assert answer.status_code == 404
    assert await webhook_state() == before
    assert (await stored(placed.order.id)).status is OrderStatus.PENDING_PAYMENT
