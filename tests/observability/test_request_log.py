"""One log line per request, as text or JSON (LOG_FORMAT): request id, method, path, status,
duration, GraphQL operation, cache status, cost and user id; never an email, password or token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from schema.middleware import RequestIdLogFilter
from schema.observability import JsonLogFormatter
from server.app import TEXT_LOG_FORMAT, configure_logging
from settings import Environment, LogFormat, Settings
from tests.factories import make_category, make_product, make_user
from tests.support import access_token_for

PRODUCT_PAGE = "query ProductPage($slug: String!) { product(slug: $slug) { name } }"
LOGIN = """
mutation SignIn($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken errors { code } }
}
"""
EMAIL = "private.person@example.com"
PASSWORD = "a secret passphrase 123"


class Captured:
    """What the handlers of the logs wrote, as text."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def json(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.lines]


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    """Every record of the process (request lines included) as JSON lines, at INFO (the default
    LOG_LEVEL; at DEBUG, PyMongo logs whole commands)."""
    yield from _capture(JsonLogFormatter(), logging.getLogger())


@pytest.fixture
def text_logs() -> Iterator[Captured]:
    """The request lines in the text format."""
    yield from _capture(logging.Formatter(TEXT_LOG_FORMAT), logging.getLogger("commerce.access"))


def _capture(
    formatter: logging.Formatter, logger: logging.Logger, level: int = logging.INFO
) -> Iterator[Captured]:
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(formatter)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield captured
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def request_lines(logs: Captured) -> list[dict[str, Any]]:
    return [entry for entry in logs.json() if entry["logger"] == "commerce.access"]


async def test_a_signed_in_request_logs_one_json_line_with_its_fields(
    client: httpx.AsyncClient, app: Any, json_logs: Captured
) -> None:
    category = await make_category()
    await make_product(category, slug="runner")
    user = await make_user()
    token = await access_token_for(app, user)

    response = await client.post(
        "/graphql",
        json={"query": PRODUCT_PAGE, "variables": {"slug": "runner"}},
        headers={"authorization": f"Bearer {token}", "x-request-id": "checkout-42"},
    )

    body = response.json()
    (line,) = request_lines(json_logs)
    assert line["duration_ms"] > 0
    assert line["time"].endswith("+00:00")
    assert {key: value for key, value in line.items() if key not in ("duration_ms", "time")} == {
        "level": "INFO",
        "logger": "commerce.access",
        "request_id": "checkout-42",
        "message": f"POST /graphql 200 {line['duration_ms']:.1f}ms operation=ProductPage "
        f"cache=MISS cost={body['extensions']['cost']['actualQueryCost']} user={user.id}",
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "operation": "ProductPage",
        "cache": "MISS",
        "cost": body["extensions"]["cost"]["actualQueryCost"],
        "user_id": str(user.id),
    }


async def test_requests_outside_graphql_log_their_line_too(
    client: httpx.AsyncClient, json_logs: Captured
) -> None:
    await client.get("/healthz")
    await client.get("/no-such-page")
    await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )

    lines = request_lines(json_logs)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/healthz", 200),
        ("GET", "/no-such-page", 404),
        ("POST", "/graphql", 400),
    ]
    assert {
        (line["operation"], line["cache"], line["cost"], line["user_id"]) for line in lines
    } == {(None, None, None, None)}
    assert len({line["request_id"] for line in lines}) == 3


async def test_the_text_line_reads_as_one_line(
    client: httpx.AsyncClient, text_logs: Captured
) -> None:
    await client.post("/graphql", json={"query": "{ __typename }"})
    await client.get("/health%0Az")

    first, second = text_logs.lines
    assert " INFO commerce.access [" in first
    assert first.split("] ", 1)[1].startswith("POST /graphql 200 ")
    assert first.endswith("operation=- cache=MISS cost=0")
    # A newline in the path stays inside the line.
    assert second.split("] ", 1)[1].startswith("GET '/health\\nz' 404 ")


async def test_no_password_email_or_token_reaches_the_logs(
    client: httpx.AsyncClient, json_logs: Captured
) -> None:
    await make_user(EMAIL, password=PASSWORD)

    signed_in = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": EMAIL, "password": PASSWORD}}},
    )
    tokens = signed_in.json()["data"]["login"]
    wrong = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"input": {"email": EMAIL, "password": "wrong!"}}},
    )
    await client.get(
        "/graphql",
        params={"query": f'{{ product(slug: "{EMAIL}") {{ name }} }}'},
        headers={"authorization": f"Bearer {tokens['accessToken']}"},
    )

    output = json_logs.stream.getvalue()
    assert tokens["accessToken"]
    assert wrong.json()["data"]["login"]["errors"]
    assert len(request_lines(json_logs)) == 3
    for secret in (EMAIL, PASSWORD, "wrong!", tokens["accessToken"], tokens["refreshToken"]):
        assert secret not in output
    assert "cookie" not in output.lower()


def test_json_lines_carry_exceptions() -> None:
    formatter = JsonLogFormatter()
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "commerce", logging.ERROR, __file__, 1, "failed %s", ("x",), None
        )
        record.exc_info = __import__("sys").exc_info()

    entry = orjson.loads(formatter.format(record))

    assert entry["message"] == "failed x"
    assert entry["level"] == "ERROR"
    assert entry["request_id"] is None
    assert "ValueError: broken" in entry["exception"]


def test_the_format_is_text_in_development_and_json_in_production() -> None:
    def choose(**fields: Any) -> bool:
        return Settings(_env_file=None, **fields).logs_as_json  # type: ignore[call-arg]

    assert choose() is False
    assert choose(environment=Environment.TEST) is False
    assert choose(log_format=LogFormat.JSON) is True
    production = {
        "environment": Environment.PRODUCTION,
        "mongodb_uri": "mongodb://db/?replicaSet=rs0",
        "redis_url": "redis://cache:6379/0",
        "jwt_secret": "x" * 40,
        "frontend_url": "https://shop.example",
    }
    assert choose(**production) is True
    assert choose(**production, log_format=LogFormat.TEXT) is False
    assert choose(log_format="") is False  # blank is unset


def test_configure_logging_installs_the_chosen_format(settings: Settings) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    gathered = (logging.logThreads, logging.logMultiprocessing, logging._srcfile)
    try:
        configure_logging(settings.model_copy(update={"log_format": LogFormat.JSON}))
        (handler,) = root.handlers
        assert isinstance(handler.formatter, JsonLogFormatter)
        configure_logging(settings.model_copy(update={"log_format": LogFormat.TEXT}))
        (handler,) = root.handlers
        assert not isinstance(handler.formatter, JsonLogFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.logThreads, logging.logMultiprocessing, logging._srcfile = gathered
