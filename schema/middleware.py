"""ASGI middleware: request ids, a cap on request bodies, the security headers and CORS."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BODY_LIMIT_KEY = "body_limit"
# The code of a 413 answer; the README's error table lists it.
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
# For HTTP errors no cache should keep (they say nothing about the URL's content).
NO_STORE = {"Cache-Control": "no-store"}


# How long a client should wait before trying a 503 again (MongoDB unreachable or too slow):
# about as long as the driver takes to find a server again.
RETRY_AFTER_SECONDS = 5


def error_response(
    message: str,
    code: str,
    status: int,
    *,
    headers: dict[str, str] | None = None,
    **extensions: object,
) -> JSONResponse:
    """An HTTP error answered as GraphQL errors are: `{"errors": [{message, extensions.code}]}`."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    return JSONResponse(body, status_code=status, headers=headers)


class RequestIdMiddleware:
    """Gives every request an id (the client's `X-Request-ID` if sane), logged and echoed back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def request_id_for(scope: Scope) -> str:
    """The client's `X-Request-ID` (the last one) if it is sane, else a new random id."""
    incoming = ""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
    return incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(16)


class RequestIdLogFilter(logging.Filter):
    """Puts the request id of the current request into every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


@dataclass
class BodyLimit:
    """The most bytes this request's body may have. The middleware puts one in the request's
    state; a route may raise or lower it before it reads the body (uploads by admins)."""

    max_bytes: int


def body_limit_of(connection: HTTPConnection) -> BodyLimit:
    """The body limit of this request (one that bypassed the middleware gets an unlimited one)."""
    limit: BodyLimit | None = connection.scope.get("state", {}).get(_BODY_LIMIT_KEY)
    return limit if limit is not None else BodyLimit(max_bytes=sys.maxsize)


class BodySizeLimitMiddleware:
    """Refuses request bodies over the request's `BodyLimit` (`max_bytes` unless a route changes
    it) with 413 and `PAYLOAD_TOO_LARGE`, before they are read into memory.

    The limit is checked when the route first reads the body, so a route can decide it from the
    headers first: against the declared Content-Length, then against the bytes actually received
    (a body sent without a length, or longer than it said). A query string (a GraphQL GET) over
    `max_bytes` is refused at once with 414: uvicorn's parser takes URLs of any length.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_bytes:
            await _too_large(self.max_bytes, "query string", 414)(scope, receive, send)
            return
        limit = BodyLimit(self.max_bytes)
        scope.setdefault("state", {})[_BODY_LIMIT_KEY] = limit
        declared = dict(scope["headers"]).get(b"content-length")
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if received == 0 and declared is not None and not _within(declared, limit):
                raise RequestBodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    raise RequestBodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except RequestBodyTooLargeError:
            await _too_large(limit.max_bytes, "request body", 413)(scope, receive, send)


def _within(declared_length: bytes, limit: BodyLimit) -> bool:
    return declared_length.isdigit() and int(declared_length) <= limit.max_bytes


def _too_large(max_bytes: int, what: str, status: int) -> JSONResponse:
    return error_response(
        f"The {what} is larger than {max_bytes} bytes",
        PAYLOAD_TOO_LARGE,
        status,
        headers=NO_STORE,
        maxBytes=max_bytes,
    )


class RequestBodyTooLargeError(Exception):
    """Raised while reading a body past the limit; answered with 413 by the middleware."""


# A response that brings no policy of its own may load nothing and be framed by no one: JSON,
# images, redirects and plain-text errors need neither.
_DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeadersMiddleware:
    """Puts the security headers on every response, whichever route made it.

    `nosniff`, no Referer to other sites, no framing (`X-Frame-Options` and CSP
    `frame-ancestors`), and HSTS when `hsts_seconds` is set (production). A route that sets one of
    these headers itself keeps its value; a Content-Security-Policy without `frame-ancestors`
    gets `frame-ancestors 'none'` added.
    """

    def __init__(self, app: ASGIApp, *, hsts_seconds: int = 0) -> None:
        self.app = app
        self.defaults: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts_seconds:
            self.defaults.append((b"strict-transport-security", b"max-age=%d" % hsts_seconds))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.secured(list(message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def secured(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        headers += [(name, value) for name, value in self.defaults if name not in present]
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", _DEFAULT_CSP.encode()))
            return headers
        return [
            (name, value + b"; frame-ancestors 'none'")
            if name.lower() == b"content-security-policy" and b"frame-ancestors" not in value
            else (name, value)
            for name, value in headers
        ]


class UnexpectedErrorMiddleware:
    """A route's unexpected error becomes the JSON 500 that `/graphql` gives (masked, with the
    request id), answered inside the middleware that adds the request id and the security
    headers: Starlette's own last-resort handler sits outside every middleware and answers in
    plain text without them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except RequestBodyTooLargeError:
            raise  # the body-size middleware answers it
        except Exception:
            if started:
                raise
            request_id = scope.get("state", {}).get("request_id")
            logging.getLogger("commerce").exception(
                "unexpected error handling request %s", request_id
            )
            response = error_response(
                "Internal server error", "INTERNAL_SERVER_ERROR", 500, requestId=request_id
            )
            await response(scope, receive, send)


class AllowListCORSMiddleware(CORSMiddleware):
    """Starlette's CORS for the allowed origins only: a request from any other origin passes
    through untouched, so its answer carries no CORS headers at all (Starlette's would still send
    Allow-Credentials and Expose-Headers, and answer its preflight 400 with the allowed methods).

    Every answer, whoever asked, has `Origin` in its Vary: the same URL is answered with CORS
    headers to an allowed origin and without them to anyone else, so a cache in front must not
    give one the other's copy.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_varying_on_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_vary(MutableHeaders(scope=message), "Origin")
            await send(message)

        if self.allowed_origin(scope) is None:
            await self.app(scope, receive, send_varying_on_origin)
            return
        await super().__call__(scope, receive, send_varying_on_origin)

    @staticmethod
    def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
        headers["Access-Control-Allow-Origin"] = origin  # Vary: Origin is added for every answer

    def allowed_origin(self, scope: Scope) -> str | None:
        """The request's Origin, when it is one of the allowed origins."""
        origin = _first_header(scope, b"origin")
        return origin if origin is not None and self.is_allowed_origin(origin) else None

    def add_answer_headers(self, headers: MutableHeaders, origin: str | None) -> None:
        """What this middleware adds to an answer (not a preflight's) to a request from `origin`
        (an allowed one, or None): Starlette's CORS headers, then Origin in Vary."""
        if origin is not None:
            headers.update(self.simple_headers)
            self.allow_explicit_origin(headers, origin)
        add_vary(headers, "Origin")


def add_vary(headers: MutableHeaders, name: str) -> None:
    """Add `name` to the Vary header unless it is listed already (or Vary is `*`)."""
    listed = {
        part.strip().lower() for value in headers.getlist("vary") for part in value.split(",")
    }
    if name.lower() not in listed and "*" not in listed:
        headers.add_vary_header(name)


def _first_header(scope: Scope, name: bytes) -> str | None:
    """A request header as Starlette's `Headers.get` reads it (the first), without building one:
    this runs for every request."""
    for header, value in scope["headers"]:
        if header == name:
            return value.decode("latin-1")
    return None
