"""A local fake of Razorpay's Orders, Payments and Refunds REST API: a real HTTP server on
127.0.0.1, holding its entities in memory.

Point the real SDK at ``fake.url`` to exercise its code paths without the network::

    with FakeRazorpay() as fake:
        provider = RazorpayPaymentProvider(fake.key_id, fake.key_secret, "whsec", base_url=fake.url)
        order = await provider.create_order(amount=49900, currency="INR", receipt="1001", notes={})
        fake.add_payment(order.id)  # what a shopper paying in Checkout would leave behind
        ...
        assert fake.requests[0].json["amount"] == 49900

Like Razorpay, it checks HTTP basic auth against its key pair (401 otherwise), answers errors as
``{"error": {"code": "BAD_REQUEST_ERROR", "description": ...}}``, and writes empty notes as
``[]``. Each request is recorded before it is answered. ``fail_next`` and ``delay_next`` script
failures and slow answers; ``refunds_pending`` makes new refunds ``pending``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from integrations.payments import new_razorpay_id
from tests.fakes.local_http import LocalHttpFake

DEFAULT_KEY_ID = "rzp_test_FakeKey000001"
DEFAULT_KEY_SECRET = "fake-razorpay-key-secret"
MINIMUM_ORDER_AMOUNT = 100
_ROUTES = [
    ("POST", re.compile(r"/v1/orders"), "_create_order"),
    ("GET", re.compile(r"/v1/orders/(?P<id>order_\w+)"), "_fetch_order"),
    ("GET", re.compile(r"/v1/orders/(?P<id>order_\w+)/payments"), "_order_payments"),
    ("GET", re.compile(r"/v1/payments/(?P<id>pay_\w+)"), "_fetch_payment"),
    ("POST", re.compile(r"/v1/payments/(?P<id>pay_\w+)/refund"), "_create_refund"),
    ("GET", re.compile(r"/v1/payments/(?P<id>pay_\w+)/refunds"), "_payment_refunds"),
]
_NOT_FOUND = "The id provided does not exist"
_DECLINED = "Payment processing failed due to error at bank or wallet gateway"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    json: Any  # the decoded body; the raw text if it was not JSON; None without a body


class _RefusedError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class FakeRazorpay(LocalHttpFake):
    """One Razorpay account: its orders, payments and refunds, keyed by id."""

    def __init__(
        self, *, key_id: str = DEFAULT_KEY_ID, key_secret: str = DEFAULT_KEY_SECRET
    ) -> None:
        super().__init__()
        self.key_id = key_id
        self.key_secret = key_secret
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.refunds_pending = False  # True: new refunds are "pending" instead of "processed"
        self._failures: list[tuple[int, bytes]] = []
        self._delays: list[float] = []
        self._lock = threading.RLock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def url(self) -> str:
        """The base URL to give the SDK, e.g. ``http://127.0.0.1:54321``."""
        return self.base_url

    def add_payment(
        self,
        order_id: str,
        status: str = "captured",
        amount: int | None = None,
        method: str = "card",
    ) -> dict[str, Any]:
        """Record a payment on the order, as Checkout would; ``amount`` defaults to the order's.
        A captured payment marks the order paid, any other attempted. Returns the entity."""
        with self._lock:
            order = self.orders[order_id]
            captured = status == "captured"
            failed = status == "failed"
            payment = {
                "id": new_razorpay_id("pay_"),
                "entity": "payment",
                "amount": order["amount"] if amount is None else amount,
                "currency": order["currency"],
                "status": status,
                "order_id": order_id,
                "invoice_id": None,
                "international": False,
                "method": method,
                "amount_refunded": 0,
                "refund_status": None,
                "captured": captured,
                "description": None,
                "email": "gaurav.kumar@example.com",
                "contact": "+919000090000",
                "notes": [],
                "fee": 1180 if captured else None,
                "tax": 180 if captured else None,
                "error_code": "BAD_REQUEST_ERROR" if failed else None,
                "error_description": _DECLINED if failed else None,
                "error_source": "gateway" if failed else None,
                "error_step": "payment_authorization" if failed else None,
                "error_reason": "payment_failed" if failed else None,
                "acquirer_data": {},
                "created_at": int(time.time()),
            }
            self.payments[payment["id"]] = payment
            order["attempts"] += 1
            if captured:
                order["amount_paid"] += payment["amount"]
                order["amount_due"] = order["amount"] - order["amount_paid"]
                order["status"] = "paid"
            elif order["status"] == "created":
                order["status"] = "attempted"
            return dict(payment)

    def fail_next(
        self,
        status: int,
        n: int = 1,
        code: str = "SERVER_ERROR",
        *,
        description: str = "simulated failure",
        body: bytes | None = None,
    ) -> None:
        """Answer the next ``n`` requests with ``status`` and Razorpay's error JSON (or ``body``
        as it is), without acting on them."""
        answer = body if body is not None else _error_body(code, description)
        with self._lock:
            self._failures.extend([(status, answer)] * n)

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """Act on the next ``n`` requests at once but answer each ``seconds`` late."""
        with self._lock:
            self._delays.extend([seconds] * n)

    def _answer(self, request: RecordedRequest) -> tuple[int, bytes, float]:
        with self._lock:
            self.requests.append(request)
            delay = self._delays.pop(0) if self._delays else 0.0
            if self._failures:
                return *self._failures.pop(0), delay
            if not self._authorized(request.headers.get("authorization", "")):
                return 401, _error_body("BAD_REQUEST_ERROR", "Authentication failed"), delay
            for method, pattern, action in _ROUTES:
                match = pattern.fullmatch(request.path)
                if match and method == request.method:
                    try:
                        answer = getattr(self, action)(request.json, *match.groups())
                    except _RefusedError as refused:
                        error = _error_body("BAD_REQUEST_ERROR", refused.description)
                        return refused.status, error, delay
                    return 200, json.dumps(answer).encode(), delay
            not_found = "The requested URL was not found on the server."
            return 404, _error_body("BAD_REQUEST_ERROR", not_found), delay

    def _authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def _create_order(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _RefusedError(400, "The request body must be JSON")
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, int) or amount < MINIMUM_ORDER_AMOUNT:
            raise _RefusedError(400, "The amount must be atleast INR 1.00")
        if not isinstance(currency, str) or len(currency) != 3:
            raise _RefusedError(400, "The currency field is invalid.")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise _RefusedError(400, "The receipt may not be greater than 40 characters.")
        order = {
            "id": new_razorpay_id("order_"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": body.get("notes") or [],
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return order

    def _fetch_order(self, _body: Any, order_id: str) -> dict[str, Any]:
        return _known(self.orders, order_id)

    def _order_payments(self, _body: Any, order_id: str) -> dict[str, Any]:
        _known(self.orders, order_id)
        return _collection(p for p in self.payments.values() if p["order_id"] == order_id)

    def _fetch_payment(self, _body: Any, payment_id: str) -> dict[str, Any]:
        return _known(self.payments, payment_id)

    def _create_refund(self, body: Any, payment_id: str) -> dict[str, Any]:
        payment = _known(self.payments, payment_id)
        body = body if isinstance(body, dict) else {}
        if payment["status"] != "captured":
            raise _RefusedError(
                400, "The payment has not been captured or is already fully refunded"
            )
        left = payment["amount"] - payment["amount_refunded"]
        amount = body.get("amount", left)
        if not isinstance(amount, int) or amount <= 0:
            raise _RefusedError(400, "The amount must be a positive integer")
        if amount > left:
            raise _RefusedError(400, "The refund amount provided is greater than amount captured")
        refund = {
            "id": new_razorpay_id("rfnd_"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment_id,
            "notes": body.get("notes") or [],
            "receipt": body.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "pending" if self.refunds_pending else "processed",
            "speed_processed": "normal",
            "speed_requested": body.get("speed", "normal"),
        }
        self.refunds[refund["id"]] = refund
        payment["amount_refunded"] += amount
        full = payment["amount_refunded"] == payment["amount"]
        payment["refund_status"] = "full" if full else "partial"
        if full:
            payment["status"] = "refunded"
        return refund

    def _payment_refunds(self, _body: Any, payment_id: str) -> dict[str, Any]:
        _known(self.payments, payment_id)
        return _collection(r for r in self.refunds.values() if r["payment_id"] == payment_id)


def _known(entities: dict[str, dict[str, Any]], entity_id: str) -> dict[str, Any]:
    if entity_id not in entities:
        raise _RefusedError(400, _NOT_FOUND)
    return entities[entity_id]


def _collection(items: Any) -> dict[str, Any]:
    newest_first = sorted(items, key=lambda item: item["created_at"], reverse=True)
    return {"entity": "collection", "count": len(newest_first), "items": newest_first}


def _error_body(code: str, description: str) -> bytes:
    error = {
        "code": code,
        "description": description,
        "source": "NA",
        "step": "NA",
        "reason": "NA",
        "metadata": {},
    }
    return json.dumps({"error": error}).encode()


def _handler_for(fake: FakeRazorpay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._handle()

        def do_GET(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", errors="replace")
            url = urlsplit(self.path)
            recorded = RecordedRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query)),
                headers={name.lower(): value for name, value in self.headers.items()},
                json=body,
            )
            status, payload, delay = fake._answer(recorded)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            # Keep test output clean; the recorded requests are the log.
            pass

    return Handler
