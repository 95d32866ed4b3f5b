"""uvicorn's access log names the path of each request, never its query string: a GET's query
string may hold a token (a refused `refreshToken(token: ...)`, a `cart(cartToken: ...)`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.access_log import ACCESS_LOGGER, log_paths_without_query_strings
from settings import Settings
from tests.live_server import LiveServer

SECRET = "a-refresh-token-that-must-not-be-logged"
REFRESH_OVER_GET = f'mutation {{ refreshToken(token: "{SECRET}") {{ accessToken }} }}'


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    # As configure_logging does, twice: once before uvicorn starts, again in each worker.
    log_paths_without_query_strings()
    log_paths_without_query_strings()
    kept = Kept()
    access = logging.getLogger(ACCESS_LOGGER)
    level = access.level
    access.setLevel(logging.INFO)  # as uvicorn sets it
    access.addHandler(kept)
    try:
        yield kept.lines
    finally:
        access.removeHandler(kept)
        access.setLevel(level)


def test_an_access_log_record_keeps_the_path_and_drops_the_query(access_lines: list[str]) -> None:
    access = logging.getLogger(ACCESS_LOGGER)
    line = '%s - "%s %s HTTP/%s" %d'

    access.info(line, "10.0.0.1:5000", "GET", f"/graphql?query={SECRET}&x=1", "1.1", 400)
    access.info(line, "10.0.0.1:5000", "GET", "/healthz", "1.1", 200)
    access.info("a line of another shape: %s", "/graphql?query=kept")

    assert access_lines == [
        '10.0.0.1:5000 - "GET /graphql HTTP/1.1" 400',
        '10.0.0.1:5000 - "GET /healthz HTTP/1.1" 200',
        "a line of another shape: /graphql?query=kept",
    ]
    assert len(logging.getLogger(ACCESS_LOGGER).filters) == 1


def test_the_served_api_logs_no_query_string(settings: Settings, tmp_path: Path) -> None:
    server = LiveServer(settings, tmp_path / "api").start()
    try:
        start = server.log_size()
        refused = httpx.get(server.graphql_url, params={"query": REFRESH_OVER_GET}, timeout=10)
        log = server.log(start)
    finally:
        server.stop()

    assert refused.status_code == 400  # no mutations over GET
    assert '"GET /graphql HTTP/1.1" 400' in log
    assert SECRET not in log
    assert "?query=" not in log
