"""What each request did, for operators (README, "Observability"): one log line and the metrics
of every request, the `/metrics` endpoint, and the JSON log format.

`RequestObservationMiddleware` times every request and, once it is answered, records it in the
metrics (resolvers/metrics.py) and logs one line. Whoever learns about the request fills in its
`RequestRecord` (`request_record(scope)`): the GraphQL operation's name and cost (the query cost
extension), the query cache status (the cache extension), the signed-in user's id (the endpoint);
a path that answers without running Strawberry fills in the same fields.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.metrics import ProcessMetrics, job_queue_families, process_metrics
from resolvers.services import Services
from settings import Environment, Settings

METRICS_PATH = "/metrics"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How long a scrape waits for the job queue's numbers before answering without them.
JOB_QUEUE_SCRAPE_TIMEOUT_SECONDS = 1.0
_RECORD_KEY = "observation"
access_logger = logging.getLogger("commerce.access")
logger = logging.getLogger(__name__)

_EXACT_ROUTES = {
    "/graphql": "graphql",
    "/healthz": "health",
    "/readyz": "health",
    METRICS_PATH: "metrics",
}
_PREFIX_ROUTES = (
    ("/media/", "media"),
    ("/demo-images/", "media"),
    ("/auth/", "auth"),
    ("/webhooks/", "webhooks"),
    ("/admin/export", "export"),
)


def route_of(path: str) -> str:
    """The metrics' name for the route of `path` (resolvers/metrics.py ROUTES)."""
    route = _EXACT_ROUTES.get(path)
    if route is not None:
        return route
    for prefix, name in _PREFIX_ROUTES:
        if path.startswith(prefix):
            return name
    return "other"


class RequestRecord:
    """What is known about a request beyond its method, path and status. `operation`: the
    GraphQL operation's name ("" for an unnamed one; None while none ran)."""

    __slots__ = ("cache_status", "cost", "operation", "user_id")

    def __init__(self) -> None:
        self.operation: str | None = None
        self.cache_status: str | None = None
        self.cost: int | None = None
        self.user_id: str | None = None


def request_record(scope: Scope | None) -> RequestRecord | None:
    """The record of the request with this scope (None outside the middleware)."""
    if scope is None:
        return None
    record: RequestRecord | None = scope.get("state", {}).get(_RECORD_KEY)
    return record


class RequestLogLine:
    """The log message of one answered request: text when formatted as text, fields for JSON.
    Built only when the line is logged. Holds ids and numbers, never the query string, headers
    or the request's variables."""

    __slots__ = ("duration_ms", "method", "path", "record", "status")

    def __init__(
        self, method: str, path: str, status: int, duration_ms: float, record: RequestRecord
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.duration_ms = duration_ms
        self.record = record

    def fields(self) -> dict[str, Any]:
        record = self.record
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "operation": record.operation,
            "cache": record.cache_status,
            "cost": record.cost,
            "user_id": record.user_id,
        }

    def __str__(self) -> str:
        record = self.record
        path = self.path if self.path.isprintable() else repr(self.path)
        parts = [f"{self.method} {path} {self.status} {self.duration_ms:.1f}ms"]
        if record.operation is not None:
            parts.append(f"operation={record.operation or '-'}")
        if record.cache_status is not None:
            parts.append(f"cache={record.cache_status}")
        if record.cost is not None:
            parts.append(f"cost={record.cost}")
        if record.user_id is not None:
            parts.append(f"user={record.user_id}")
        return " ".join(parts)


class RequestObservationMiddleware:
    """Times each request; once it is answered, records it in `metrics` (if given) and logs one
    line on `commerce.access` (at INFO). Sits inside RequestIdMiddleware (the line carries the
    request id) and outside every middleware that may answer instead of the route (body limits,
    CORS preflights, the last-resort 500), so their answers are counted too."""

    def __init__(self, app: ASGIApp, *, metrics: ProcessMetrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = RequestRecord()
        scope.setdefault("state", {})[_RECORD_KEY] = record
        status = 500  # what the server answers if the app fails before it does

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            observe_answered(self.metrics, scope, status, time.perf_counter() - started, record)


def observe_answered(
    metrics: ProcessMetrics | None,
    scope: Scope,
    status: int,
    seconds: float,
    record: RequestRecord,
) -> None:
    """Record an answered request in `metrics` (if given) and log its line: what
    `RequestObservationMiddleware` does once a request is answered, and what a path answering in
    front of it (schema/fast_hits.py) calls itself."""
    path: str = scope["path"]
    if metrics is not None:
        metrics.observe_request(
            route_of(path),
            status,
            seconds,
            record.operation,
            record.cache_status,
            record.cost,
        )
    if access_logger.isEnabledFor(logging.INFO):
        access_logger.info(RequestLogLine(scope["method"], path, status, seconds * 1000, record))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, request id and message, plus the
    fields of a request's line (`RequestLogLine`) and any exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None),
            "message": record.getMessage(),
        }
        if isinstance(record.msg, RequestLogLine):
            entry.update(record.msg.fields())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def operation_names(documents: Iterable[str]) -> set[str]:
    """The names of the operations in `documents` (a trusted documents manifest's)."""
    names: set[str] = set()
    for document in documents:
        try:
            parsed = parse(document, no_location=True)
        except GraphQLError:
            continue
        names |= {
            definition.name.value
            for definition in parsed.definitions
            if isinstance(definition, OperationDefinitionNode) and definition.name
        }
    return names


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _metrics_refusal(request: Request, settings: Settings) -> Response | None:
    """Why this request may not read the metrics, as the answer to give; None: it may.

    With METRICS_TOKEN, only a request bearing it; without, nobody in production, and elsewhere
    only a client on this machine (a developer's Prometheus or curl)."""
    token = settings.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        ):
            return None
        return PlainTextResponse(
            "Metrics need METRICS_TOKEN as a bearer token\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if settings.environment is Environment.PRODUCTION:
        return PlainTextResponse(
            "Metrics are off in production until METRICS_TOKEN is set\n", status_code=403
        )
    if not _is_loopback(request.client.host if request.client else None):
        return PlainTextResponse(
            "Without METRICS_TOKEN, metrics are for clients on this machine only\n",
            status_code=403,
        )
    return None


async def metrics_endpoint(request: Request) -> Response:
    """`GET /metrics`: every worker's metrics, plus the job queue as Redis has it now."""
    refusal = _metrics_refusal(request, request.app.state.settings)
    if refusal is not None:
        return refusal
    metrics = process_metrics()
    pools = getattr(request.app.state, "redis_pools", None)
    if pools:
        metrics.sample_redis_pools(pools)
    services: Services = request.app.state.services
    try:
        stats = await asyncio.wait_for(
            services.outbox.queue.stats(), JOB_QUEUE_SCRAPE_TIMEOUT_SECONDS
        )
    except (RedisError, OSError, TimeoutError) as error:
        logger.warning("metrics: the job queue did not answer: %s", error or type(error).__name__)
        stats = None
    body = metrics.render(job_queue_families(stats))
    return Response(body, media_type=METRICS_CONTENT_TYPE)
