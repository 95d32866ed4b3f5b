"""Tests for the payment providers: the real Razorpay SDK against a local fake, the webhook
format, and the stand-in on a real MongoDB collection."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import razorpay
from pymongo.asynchronous.collection import AsyncCollection
from starlette.applications import Starlette

from integrations.local_servers import free_port
from integrations.payments import (
    PaymentProviderUnavailableError,
    PaymentRejectedError,
    RazorpayPaymentProvider,
    StandInPaymentProvider,
    build_payment_provider,
    order_from_entity,
    parse_webhook,
    payment_from_entity,
    payment_signature,
    sign,
    webhook_body,
)
from settings import Settings
from tests.fakes.razorpay import FakeRazorpay

KEY_ID = "rzp_test_Abc123Def456Gh"
KEY_SECRET = "key-secret-do-not-leak-0123"
WEBHOOK_SECRET = "webhook-secret-do-not-leak-4567"
NOTES = {"shop_order": "ORD-1001"}
# A payment.captured body as Razorpay documents it (trimmed): empty notes are [].
RAZORPAY_PAYMENT_CAPTURED = b"""{
  "entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": "payment.captured",
  "contains": ["payment"],
  "payload": {"payment": {"entity": {
    "id": "pay_DESlfW9H8K9uqM", "entity": "payment", "amount": 100, "currency": "INR",
    "base_amount": 100, "status": "captured", "order_id": "order_DESlLckIVRkHWj",
    "invoice_id": null, "international": false, "method": "netbanking", "amount_refunded": 0,
    "amount_transferred": 0, "refund_status": null, "captured": true, "description": null,
    "card_id": null, "bank": "HDFC", "wallet": null, "vpa": null,
    "email": "gaurav.kumar@example.com", "contact": "+919876543210", "notes": [], "fee": 2,
    "tax": 0, "error_code": null, "error_description": null, "error_source": null,
    "error_step": null, "error_reason": null,
    "acquirer_data": {"bank_transaction_id": "0125836177"},
    "created_at": 1567674599}}},
  "created_at": 1567674606
}"""


@pytest.fixture
def fake_razorpay() -> Iterator[FakeRazorpay]:
    with FakeRazorpay(key_id=KEY_ID, key_secret=KEY_SECRET) as fake:
        yield fake


@pytest.fixture
async def standin_collection(
    app: Starlette, settings: Settings
) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    collection: AsyncCollection[dict[str, Any]] = app.state.mongo[settings.mongodb_database][
        "payments_standin_test"
    ]
    yield collection
    await collection.drop()


class RecordedWebhooks:
    """A ``deliver_webhook`` callback that keeps what it is given."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []

    async def __call__(self, body: bytes, headers: dict[str, str]) -> None:
        self.received.append((body, headers))

    @property
    def events(self) -> list[str]:
        return [json.loads(body)["event"] for body, _ in self.received]


def _razorpay(fake: FakeRazorpay, *, timeout_seconds: float = 10.0) -> RazorpayPaymentProvider:
    return RazorpayPaymentProvider(
        KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=fake.url, timeout_seconds=timeout_seconds
    )


def _standin(
    collection: AsyncCollection[dict[str, Any]], webhooks: RecordedWebhooks | None = None
) -> StandInPaymentProvider:
    return StandInPaymentProvider(
        collection,
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        deliver_webhook=webhooks,
    )


def _assert_no_secret(error: BaseException) -> None:
    chain: BaseException | None = error
    while chain is not None:
        assert KEY_SECRET not in str(chain)
        assert WEBHOOK_SECRET not in str(chain)
        chain = chain.__cause__


# --- Razorpay through the SDK, against the fake ---------------------------------------------


async def test_create_order_posts_the_order_with_basic_auth(fake_razorpay: FakeRazorpay) -> None:
    order = await _razorpay(fake_razorpay).create_order(
        amount=49900, currency="INR", receipt="ORD-1001", notes=NOTES
    )

    assert len(fake_razorpay.requests) == 1
    request = fake_razorpay.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/orders")
    assert request.json == {
        "amount": 49900,
        "currency": "INR",
        "receipt": "ORD-1001",
        "notes": NOTES,
    }
    assert type(request.json["amount"]) is int
    credentials = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    assert request.headers["content-type"] == "application/json"
    assert order.id.startswith("order_")
    assert len(order.id) == len("order_") + 14
    assert (order.amount, order.currency, order.receipt, order.status, order.notes) == (
        49900,
        "INR",
        "ORD-1001",
        "created",
        NOTES,
    )
    assert order.raw == fake_razorpay.orders[order.id]


async def test_an_order_without_notes_parses_razorpays_empty_list(
    fake_razorpay: FakeRazorpay,
) -> None:
    order = await _razorpay(fake_razorpay).create_order(
        amount=100, currency="INR", receipt="ORD-1", notes={}
    )

    assert order.raw["notes"] == []
    assert order.notes == {}


async def test_fetch_payment_returns_the_payment(fake_razorpay: FakeRazorpay) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    entity = fake_razorpay.add_payment(order.id, method="upi")

    payment = await provider.fetch_payment(entity["id"])

    assert fake_razorpay.requests[-1].path == f"/v1/payments/{entity['id']}"
    assert (payment.id, payment.order_id, payment.amount, payment.currency) == (
        entity["id"],
        order.id,
        49900,
        "INR",
    )
    assert (payment.status, payment.method, payment.amount_refunded) == ("captured", "upi", 0)
    assert (payment.error_code, payment.error_description) == (None, None)
    assert payment.raw == entity


async def test_order_payments_lists_every_attempt(fake_razorpay: FakeRazorpay) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    failed = fake_razorpay.add_payment(order.id, status="failed")
    captured = fake_razorpay.add_payment(order.id)

    payments = await provider.order_payments(order.id)

    assert fake_razorpay.requests[-1].path == f"/v1/orders/{order.id}/payments"
    by_id = {payment.id: payment for payment in payments}
    assert set(by_id) == {failed["id"], captured["id"]}
    assert by_id[failed["id"]].status == "failed"
    assert by_id[failed["id"]].error_code == "BAD_REQUEST_ERROR"
    assert by_id[captured["id"]].status == "captured"


async def test_refund_posts_amount_receipt_notes_and_normal_speed(
    fake_razorpay: FakeRazorpay,
) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    payment_id = fake_razorpay.add_payment(order.id)["id"]

    refund = await provider.refund(payment_id, amount=10000, receipt="RF-1", notes=NOTES)

    request = fake_razorpay.requests[-1]
    assert (request.method, request.path) == ("POST", f"/v1/payments/{payment_id}/refund")
    assert request.json == {"amount": 10000, "receipt": "RF-1", "notes": NOTES, "speed": "normal"}
    assert refund.id.startswith("rfnd_")
    assert (refund.payment_id, refund.amount, refund.currency, refund.status) == (
        payment_id,
        10000,
        "INR",
        "processed",
    )
    assert (refund.receipt, refund.notes) == ("RF-1", NOTES)
    payment = await provider.fetch_payment(payment_id)
    assert (payment.status, payment.amount_refunded) == ("captured", 10000)


async def test_payment_refunds_lists_them_and_a_pending_refund_stays_pending(
    fake_razorpay: FakeRazorpay,
) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    payment_id = fake_razorpay.add_payment(order.id)["id"]
    first = await provider.refund(payment_id, amount=9900, receipt="RF-1", notes={})
    fake_razorpay.refunds_pending = True
    second = await provider.refund(payment_id, amount=40000, receipt="RF-2", notes={})

    refunds = await provider.payment_refunds(payment_id)

    assert fake_razorpay.requests[-1].path == f"/v1/payments/{payment_id}/refunds"
    assert {(r.id, r.amount, r.status) for r in refunds} == {
        (first.id, 9900, "processed"),
        (second.id, 40000, "pending"),
    }
    payment = await provider.fetch_payment(payment_id)
    assert (payment.status, payment.amount_refunded) == ("refunded", 49900)


async def test_a_refund_above_what_is_left_is_rejected(fake_razorpay: FakeRazorpay) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    payment_id = fake_razorpay.add_payment(order.id)["id"]
    await provider.refund(payment_id, amount=40000, receipt="RF-1", notes={})

    with pytest.raises(PaymentRejectedError) as raised:
        await provider.refund(payment_id, amount=10000, receipt="RF-2", notes={})

    assert "greater than amount captured" in str(raised.value)
    assert len(fake_razorpay.refunds) == 1
    assert fake_razorpay.payments[payment_id]["amount_refunded"] == 40000


async def test_an_unknown_payment_is_rejected(fake_razorpay: FakeRazorpay) -> None:
    with pytest.raises(PaymentRejectedError) as raised:
        await _razorpay(fake_razorpay).fetch_payment("pay_DoesNotExist00")

    assert "does not exist" in str(raised.value)


async def test_wrong_credentials_are_rejected_without_the_secret(
    fake_razorpay: FakeRazorpay,
) -> None:
    provider = RazorpayPaymentProvider(
        KEY_ID, "not-the-secret", WEBHOOK_SECRET, base_url=fake_razorpay.url
    )

    with pytest.raises(PaymentRejectedError) as raised:
        await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})

    assert "Authentication failed" in str(raised.value)
    assert "not-the-secret" not in str(raised.value)
    assert fake_razorpay.orders == {}


@pytest.mark.parametrize(
    ("status", "code"), [(500, "SERVER_ERROR"), (502, "GATEWAY_ERROR"), (503, "SOMETHING_NEW")]
)
async def test_a_server_error_means_unavailable(
    fake_razorpay: FakeRazorpay, status: int, code: str
) -> None:
    fake_razorpay.fail_next(status, code=code, description=f"boom {KEY_SECRET}")

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await _razorpay(fake_razorpay).create_order(
            amount=49900, currency="INR", receipt="r", notes={}
        )

    assert "boom [redacted]" in str(raised.value)
    _assert_no_secret(raised.value)


async def test_a_bad_request_means_rejected(fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.fail_next(
        400, code="BAD_REQUEST_ERROR", description=f"The amount is invalid for {KEY_SECRET}"
    )

    with pytest.raises(PaymentRejectedError) as raised:
        await _razorpay(fake_razorpay).create_order(
            amount=49900, currency="INR", receipt="r", notes={}
        )

    assert "The amount is invalid for [redacted]" in str(raised.value)
    _assert_no_secret(raised.value)
    assert fake_razorpay.orders == {}


@pytest.mark.parametrize("status", [200, 502])
async def test_an_answer_that_is_not_json_means_unavailable(
    fake_razorpay: FakeRazorpay, status: int
) -> None:
    fake_razorpay.fail_next(status, body=b"<html>Bad Gateway</html>")

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await _razorpay(fake_razorpay).fetch_payment("pay_DoesNotMatter0")

    assert "not JSON" in str(raised.value)


async def test_an_entity_of_the_wrong_shape_means_unavailable(
    fake_razorpay: FakeRazorpay,
) -> None:
    fake_razorpay.fail_next(200, body=b'{"id": "pay_X", "entity": "payment", "amount": "5"}')

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await _razorpay(fake_razorpay).fetch_payment("pay_X")

    assert "unexpected entity" in str(raised.value)


async def test_a_slow_answer_times_out_as_unavailable(fake_razorpay: FakeRazorpay) -> None:
    fake_razorpay.delay_next(1.5)

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await _razorpay(fake_razorpay, timeout_seconds=0.3).create_order(
            amount=49900, currency="INR", receipt="r", notes={}
        )

    assert "did not answer in time" in str(raised.value)
    _assert_no_secret(raised.value)
    # Why the outcome is "unknown": Razorpay may have created the order all the same.
    assert len(fake_razorpay.orders) == 1


async def test_a_refused_connection_means_unavailable() -> None:
    nothing_listening = f"http://127.0.0.1:{free_port()}"
    provider = RazorpayPaymentProvider(
        KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=nothing_listening
    )

    with pytest.raises(PaymentProviderUnavailableError) as raised:
        await provider.fetch_payment("pay_DoesNotMatter0")

    assert "could not be reached" in str(raised.value)
    _assert_no_secret(raised.value)


def test_the_payment_signature_is_checked_with_the_key_secret() -> None:
    provider = RazorpayPaymentProvider(KEY_ID, KEY_SECRET, WEBHOOK_SECRET)
    ids = {"order_id": "order_IluGWxBm9U8zJ8", "payment_id": "pay_IluHUA6qd2hJPt"}
    valid = payment_signature(ids["order_id"], ids["payment_id"], KEY_SECRET)

    assert provider.payment_signature_valid(**ids, signature=valid)
    assert not provider.payment_signature_valid(
        **ids, signature=payment_signature(ids["order_id"], ids["payment_id"], "other")
    )
    assert not provider.payment_signature_valid(
        order_id=ids["order_id"], payment_id="pay_SomeoneElse00", signature=valid
    )


@pytest.mark.parametrize(
    "signature", ["", "not-hex", "é" * 64, None, 12345, ["a"], "0" * 64 + "\x00"]
)
def test_a_garbage_payment_signature_is_invalid_not_an_error(signature: Any) -> None:
    provider = RazorpayPaymentProvider(KEY_ID, KEY_SECRET, WEBHOOK_SECRET)

    assert (
        provider.payment_signature_valid(
            order_id="order_IluGWxBm9U8zJ8", payment_id="pay_IluHUA6qd2hJPt", signature=signature
        )
        is False
    )


def test_garbage_ids_make_the_payment_signature_invalid() -> None:
    provider = RazorpayPaymentProvider(KEY_ID, KEY_SECRET, WEBHOOK_SECRET)
    signature = payment_signature("None", "pay_IluHUA6qd2hJPt", KEY_SECRET)

    # The SDK would str() a None id into "None"; a None id is invalid, whatever was signed.
    assert not provider.payment_signature_valid(
        order_id=None,  # type: ignore[arg-type]
        payment_id="pay_IluHUA6qd2hJPt",
        signature=signature,
    )


def test_the_webhook_signature_is_checked_over_the_raw_body() -> None:
    provider = RazorpayPaymentProvider(KEY_ID, KEY_SECRET, WEBHOOK_SECRET)
    body = RAZORPAY_PAYMENT_CAPTURED
    signature = sign(body, WEBHOOK_SECRET)

    assert provider.webhook_signature_valid(body, signature)
    assert not provider.webhook_signature_valid(body, sign(body, "forged-secret"))
    assert not provider.webhook_signature_valid(body, "")
    assert not provider.webhook_signature_valid(
        body.replace(b'"amount": 100', b'"amount": 1'), signature
    )
    assert not provider.webhook_signature_valid(body + b" ", signature)
    assert not provider.webhook_signature_valid(body, signature.upper())
    assert not provider.webhook_signature_valid(body, None)  # type: ignore[arg-type]
    undecodable = b"\xff" + body
    assert not provider.webhook_signature_valid(undecodable, sign(undecodable, WEBHOOK_SECRET))


# --- The webhook format --------------------------------------------------------------------


def test_parse_webhook_reads_razorpays_documented_body() -> None:
    event = parse_webhook(RAZORPAY_PAYMENT_CAPTURED)

    assert (event.event, event.created_at, event.order, event.refund) == (
        "payment.captured",
        1567674606,
        None,
        None,
    )
    assert event.payment is not None
    payment = event.payment
    assert (payment.id, payment.order_id, payment.amount, payment.status) == (
        "pay_DESlfW9H8K9uqM",
        "order_DESlLckIVRkHWj",
        100,
        "captured",
    )
    assert (payment.method, payment.amount_refunded) == ("netbanking", 0)
    assert payment.raw["bank"] == "HDFC"


async def test_webhook_bodies_round_trip_for_each_event(fake_razorpay: FakeRazorpay) -> None:
    provider = _razorpay(fake_razorpay)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes=NOTES)
    captured = await provider.fetch_payment(fake_razorpay.add_payment(order.id)["id"])
    failed = await provider.fetch_payment(
        fake_razorpay.add_payment(order.id, status="failed")["id"]
    )
    refund = await provider.refund(captured.id, amount=100, receipt="RF-1", notes={})
    paid_order = order_from_entity(fake_razorpay.orders[order.id])

    cases = [
        ("payment.captured", {"payment": captured}),
        ("payment.failed", {"payment": failed}),
        ("order.paid", {"payment": captured, "order": paid_order}),
        ("refund.processed", {"refund": refund, "payment": captured}),
    ]
    for name, entities in cases:
        body = webhook_body(name, **entities, account_id="acc_Test", created_at=1700000000)
        document = json.loads(body)
        assert document["entity"] == "event"
        assert document["account_id"] == "acc_Test"
        assert sorted(document["contains"]) == sorted(entities)
        assert document["payload"] == {kind: {"entity": e.raw} for kind, e in entities.items()}

        event = parse_webhook(body)

        assert (event.event, event.created_at) == (name, 1700000000)
        assert event.payment == entities.get("payment")
        assert event.order == entities.get("order")
        assert event.refund == entities.get("refund")


def _payment_captured_with(**changes: Any) -> bytes:
    document = json.loads(RAZORPAY_PAYMENT_CAPTURED)
    document["payload"]["payment"]["entity"].update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"payload": {}}', id="no-event"),
        pytest.param(b'{"event": "", "payload": {}}', id="empty-event"),
        pytest.param(b'{"event": 7, "payload": {}}', id="event-not-text"),
        pytest.param(b'{"event": "payment.captured", "payload": []}', id="payload-not-object"),
        pytest.param(
            b'{"event": "payment.captured", "payload": {"payment": {"id": "pay_X"}}}',
            id="entity-not-wrapped",
        ),
        pytest.param(
            b'{"event": "payment.captured", "payload": {"payment": {"entity": []}}}',
            id="entity-not-object",
        ),
        pytest.param(_payment_captured_with(amount="100"), id="amount-text"),
        pytest.param(_payment_captured_with(amount=1.5), id="amount-float"),
        pytest.param(_payment_captured_with(amount=True), id="amount-bool"),
        pytest.param(_payment_captured_with(amount_refunded=None), id="refunded-null"),
        pytest.param(_payment_captured_with(entity="order"), id="wrong-entity"),
        pytest.param(_payment_captured_with(id="order_X"), id="wrong-id"),
        pytest.param(_payment_captured_with(status=None), id="no-status"),
        pytest.param(
            b'{"event": "order.paid", "payload": {"order": {"entity": {"id": "order_X",'
            b' "entity": "order", "amount": 100, "currency": "INR", "receipt": null,'
            b' "status": "paid", "notes": "x"}}}}',
            id="notes-text",
        ),
        pytest.param(
            RAZORPAY_PAYMENT_CAPTURED.replace(b"1567674606", b'"yesterday"'), id="created-at-text"
        ),
    ],
)
def test_parse_webhook_refuses_a_malformed_body(body: bytes) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_webhook(body)


def test_a_null_receipt_and_a_payment_outside_an_order_are_read_as_empty_text() -> None:
    payment = json.loads(RAZORPAY_PAYMENT_CAPTURED)["payload"]["payment"]["entity"]
    payment["order_id"] = None
    order = {
        "id": "order_DESlLckIVRkHWj",
        "entity": "order",
        "amount": 100,
        "currency": "INR",
        "receipt": None,
        "status": "paid",
        "notes": [],
    }

    assert payment_from_entity(payment).order_id == ""
    assert order_from_entity(order).receipt == ""


# --- The stand-in, on a real MongoDB collection ----------------------------------------------


async def test_the_stand_in_takes_a_payment_and_refunds_it(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    webhooks = RecordedWebhooks()
    provider = _standin(standin_collection, webhooks)
    order = await provider.create_order(
        amount=49900, currency="INR", receipt="ORD-1001", notes=NOTES
    )
    assert re.fullmatch(r"order_[0-9A-Za-z]{14}", order.id)
    assert (order.status, order.amount, order.notes) == ("created", 49900, NOTES)

    payment, callback = await provider.pay(order.id, succeed=True)

    assert re.fullmatch(r"pay_[0-9A-Za-z]{14}", payment.id)
    assert (payment.order_id, payment.amount, payment.status, payment.method) == (
        order.id,
        49900,
        "captured",
        "upi",
    )
    assert callback["razorpay_order_id"] == order.id
    assert callback["razorpay_payment_id"] == payment.id
    sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET))
    assert sdk.utility.verify_payment_signature(callback) is True
    assert provider.payment_signature_valid(
        order_id=order.id, payment_id=payment.id, signature=callback["razorpay_signature"]
    )
    assert await provider.fetch_payment(payment.id) == payment
    assert await provider.order_payments(order.id) == [payment]
    assert webhooks.events == ["payment.captured", "order.paid"]
    paid = parse_webhook(webhooks.received[1][0])
    assert paid.order is not None
    assert (paid.order.id, paid.order.status, paid.order.raw["amount_paid"]) == (
        order.id,
        "paid",
        49900,
    )

    refund = await provider.refund(payment.id, amount=9900, receipt="RF-1", notes={})
    await provider.deliveries_done()

    assert re.fullmatch(r"rfnd_[0-9A-Za-z]{14}", refund.id)
    assert (refund.payment_id, refund.amount, refund.status, refund.receipt) == (
        payment.id,
        9900,
        "processed",
        "RF-1",
    )
    refunded = await provider.fetch_payment(payment.id)
    assert (refunded.status, refunded.amount_refunded) == ("captured", 9900)
    assert await provider.payment_refunds(payment.id) == [refund]
    assert webhooks.events == ["payment.captured", "order.paid", "refund.processed"]
    processed = parse_webhook(webhooks.received[2][0])
    assert processed.refund == refund
    assert processed.payment == refunded

    with pytest.raises(PaymentRejectedError):
        await provider.refund(payment.id, amount=40001, receipt="RF-2", notes={})

    assert (await provider.fetch_payment(payment.id)).amount_refunded == 9900
    assert await provider.payment_refunds(payment.id) == [refund]
    for body, headers in webhooks.received:
        assert set(headers) == {"Content-Type", "X-Razorpay-Signature", "X-Razorpay-Event-Id"}
        assert headers["Content-Type"] == "application/json"
        assert re.fullmatch(r"evt_[0-9A-Za-z]{14}", headers["X-Razorpay-Event-Id"])
        signature = headers["X-Razorpay-Signature"]
        assert sdk.utility.verify_webhook_signature(body.decode(), signature, WEBHOOK_SECRET)
        assert provider.webhook_signature_valid(body, signature)
    assert len({headers["X-Razorpay-Event-Id"] for _, headers in webhooks.received}) == 3


async def test_a_full_refund_marks_the_stand_in_payment_refunded(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    provider = _standin(standin_collection)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    payment, _ = await provider.pay(order.id, succeed=True)
    await provider.refund(payment.id, amount=40000, receipt="RF-1", notes={})
    await provider.refund(payment.id, amount=9900, receipt="RF-2", notes={})

    refunded = await provider.fetch_payment(payment.id)

    assert (refunded.status, refunded.amount_refunded) == ("refunded", 49900)
    assert refunded.raw["refund_status"] == "full"
    with pytest.raises(PaymentRejectedError, match="refunded payment cannot be refunded"):
        await provider.refund(payment.id, amount=1, receipt="RF-3", notes={})


async def test_a_failed_stand_in_payment(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    webhooks = RecordedWebhooks()
    provider = _standin(standin_collection, webhooks)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})

    payment, callback = await provider.pay(order.id, succeed=False, method="card")

    assert (payment.status, payment.method, payment.error_code) == (
        "failed",
        "card",
        "BAD_REQUEST_ERROR",
    )
    assert payment.error_description
    assert provider.payment_signature_valid(
        order_id=order.id, payment_id=payment.id, signature=callback["razorpay_signature"]
    )
    assert webhooks.events == ["payment.failed"]
    assert parse_webhook(webhooks.received[0][0]).payment == payment
    stored_order = await standin_collection.find_one({"_id": order.id})
    assert stored_order is not None
    assert (stored_order["status"], stored_order["attempts"]) == ("attempted", 1)
    with pytest.raises(PaymentRejectedError, match="failed payment cannot be refunded"):
        await provider.refund(payment.id, amount=100, receipt="RF-1", notes={})

    retried, _ = await provider.pay(order.id, succeed=True)

    assert retried.status == "captured"
    assert {p.id for p in await provider.order_payments(order.id)} == {payment.id, retried.id}


async def test_a_paid_stand_in_order_cannot_be_paid_again(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    provider = _standin(standin_collection)
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})
    first, _ = await provider.pay(order.id, succeed=True)

    with pytest.raises(PaymentRejectedError, match="already been paid"):
        await provider.pay(order.id, succeed=True)

    assert await provider.order_payments(order.id) == [first]


async def test_the_stand_in_rejects_unknown_ids_and_tiny_orders(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    provider = _standin(standin_collection)

    with pytest.raises(PaymentRejectedError):
        await provider.fetch_payment("pay_DoesNotExist00")
    with pytest.raises(PaymentRejectedError):
        await provider.order_payments("order_DoesNotExist0")
    with pytest.raises(PaymentRejectedError):
        await provider.payment_refunds("pay_DoesNotExist00")
    with pytest.raises(PaymentRejectedError):
        await provider.refund("pay_DoesNotExist00", amount=100, receipt="r", notes={})
    with pytest.raises(PaymentRejectedError):
        await provider.pay("order_DoesNotExist0", succeed=True)
    with pytest.raises(PaymentRejectedError):
        await provider.create_order(amount=99, currency="INR", receipt="r", notes={})

    assert await standin_collection.count_documents({}) == 0


async def test_stand_ins_share_their_state_through_the_collection(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    api_process = _standin(standin_collection)
    pay_page_process = _standin(standin_collection)
    order = await api_process.create_order(amount=49900, currency="INR", receipt="r", notes={})

    payment, _ = await pay_page_process.pay(order.id, succeed=True)

    assert await api_process.order_payments(order.id) == [payment]
    documents = await standin_collection.find({}, {"_id": 1, "kind": 1}).to_list()
    assert sorted((d["kind"], d["_id"]) for d in documents) == [
        ("order", order.id),
        ("payment", payment.id),
    ]


async def test_concurrent_stand_in_refunds_never_exceed_the_payment(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    provider = _standin(standin_collection)
    order = await provider.create_order(amount=1000, currency="INR", receipt="r", notes={})
    payment, _ = await provider.pay(order.id, succeed=True)

    outcomes = await asyncio.gather(
        *(provider.refund(payment.id, amount=300, receipt=f"RF-{n}", notes={}) for n in range(5)),
        return_exceptions=True,
    )

    assert sum(not isinstance(o, BaseException) for o in outcomes) == 3
    assert all(
        isinstance(o, PaymentRejectedError) for o in outcomes if isinstance(o, BaseException)
    )
    assert (await provider.fetch_payment(payment.id)).amount_refunded == 900
    assert len(await provider.payment_refunds(payment.id)) == 3


async def test_a_failing_webhook_delivery_is_logged_not_raised(
    standin_collection: AsyncCollection[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    async def unreachable_shop(body: bytes, headers: dict[str, str]) -> None:
        raise ConnectionError("shop is down")

    provider = StandInPaymentProvider(
        standin_collection,
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        deliver_webhook=unreachable_shop,
    )
    order = await provider.create_order(amount=49900, currency="INR", receipt="r", notes={})

    with caplog.at_level(logging.ERROR, logger="commerce.payments"):
        payment, _ = await provider.pay(order.id, succeed=True)
        await provider.refund(payment.id, amount=100, receipt="RF-1", notes={})
        await provider.deliveries_done()

    assert payment.status == "captured"
    failures = [r for r in caplog.records if r.name == "commerce.payments"]
    assert len(failures) == 3
    assert all("webhook delivery failed" in r.getMessage() for r in failures)


# --- Choosing one ------------------------------------------------------------------------------


async def test_build_picks_the_provider_named_in_settings(
    standin_collection: AsyncCollection[dict[str, Any]],
) -> None:
    options: dict[str, Any] = {
        "api_base_url": "https://api.razorpay.com",
        "standin_collection": standin_collection,
        "deliver_webhook": None,
    }
    secrets = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}

    assert build_payment_provider(provider="razorpay", **secrets, **options).name == "razorpay"
    assert build_payment_provider(provider="standin", **secrets, **options).name == "standin"
    for provider in ("razorpay", "standin"):
        for missing in secrets:
            with pytest.raises(ValueError, match="needs a key id"):
                build_payment_provider(provider=provider, **{**secrets, missing: ""}, **options)
    with pytest.raises(ValueError, match="unknown payment provider"):
        build_payment_provider(provider="stripe", **secrets, **options)
