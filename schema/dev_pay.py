"""`GET /dev/pay/{razorpay_order_id}`: the stand-in provider's payment page, outside production.

Where Razorpay Checkout would open, a developer opens this page, and makes the payment succeed
or fail. The stand-in then records the payment and delivers Razorpay's webhooks to this API
(signed as Razorpay signs them), and the page shows the fields Checkout's handler would get, to
send to `confirmPayment` like a frontend would. Only with the stand-in provider; never in
production.
"""

from __future__ import annotations

import html
import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from documents.money import to_decimal
from documents.orders import Order
from documents.settlement import order_of_provider_order
from resolvers.payments.flow import DEV_PAY_URL, pay_at_standin, standin_provider
from resolvers.payments.service import PaymentProviderError
from schema.request_context import context_for_request

__all__ = ["DEV_PAY_PATH", "dev_pay_page", "dev_pay_submit"]

DEV_PAY_PATH = DEV_PAY_URL.format(base="", razorpay_order_id="{razorpay_order_id}")
_ORDER_ID = re.compile(r"^order_[A-Za-z0-9]{14}$")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto}"
        "button{font-size:1rem;padding:.5rem 1rem;margin-right:1rem}"
        "pre{background:#f4f4f4;padding:1rem;overflow:auto}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_HEADERS)


async def _order_for(request: Request) -> tuple[str, Order | None]:
    provider_order_id = request.path_params["razorpay_order_id"]
    if not _ORDER_ID.fullmatch(provider_order_id):
        return provider_order_id, None
    return provider_order_id, await order_of_provider_order(provider_order_id)


async def dev_pay_page(request: Request) -> Response:
    if standin_provider(context_for_request(request)) is None:
        return _page("Not available", "<p>Only with the stand-in payment provider.</p>", 404)
    provider_order_id, order = await _order_for(request)
    if order is None:
        return _page("No such order", "<p>No order is waiting for this payment.</p>", 404)
    amount = f"{to_decimal(order.total, order.currency)} {order.currency}"
    body = (
        f"<p>Stand-in payment for order #{order.number}: <strong>{html.escape(amount)}</strong> "
        f"({html.escape(provider_order_id)}), now {html.escape(order.status)}.</p>"
        "<p>No money moves: the stand-in records the payment and sends this API the webhooks "
        "Razorpay would.</p>"
        "<form method='post'>"
        "<button name='outcome' value='succeed'>Pay</button>"
        "<button name='outcome' value='fail'>Fail the payment</button></form>"
    )
    return _page("Stand-in payment", body)


async def dev_pay_submit(request: Request) -> Response:
    ctx = context_for_request(request)
    if standin_provider(ctx) is None:
        return _page("Not available", "<p>Only with the stand-in payment provider.</p>", 404)
    provider_order_id, order = await _order_for(request)
    if order is None:
        return _page("No such order", "<p>No order is waiting for this payment.</p>", 404)
    form = await request.form()
    succeed = form.get("outcome") == "succeed"
    try:
        paid = await pay_at_standin(ctx, provider_order_id, succeed=succeed)
    except PaymentProviderError as error:  # paid already, say
        return _page("Not paid", f"<p>{html.escape(str(error))}</p>", 409)
    assert paid is not None  # the stand-in is in use (checked above)
    fields = "\n".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in paid.callback.items())
    body = (
        f"<p>Payment {html.escape(paid.payment_id)} is <strong>{html.escape(paid.status)}</strong>; "
        "the webhooks went to this API.</p>"
        "<p>Razorpay Checkout's handler would now get these, for <code>confirmPayment</code>:</p>"
        f"<pre>{fields}</pre>"
    )
    return _page("Stand-in payment done", body)
