"""The served API's log names the path of each request, never its query string: a GET's query
string may hold a token (a refused `refreshToken(token: ...)`, a `cart(cartToken: ...)`). Checked
on a live server, so uvicorn's own access log (off) is covered too."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from settings import Settings
from tests.live_server import LiveServer

SECRET = "a-refresh-token-that-must-not-be-logged"
REFRESH_OVER_GET = f'mutation {{ refreshToken(token: "{SECRET}") {{ accessToken }} }}'
REQUEST_LINE = re.compile(r"commerce\.access \[[0-9a-f]*\] GET /graphql 400 ")


def test_the_served_api_logs_no_query_string(settings: Settings, tmp_path: Path) -> None:
    server = LiveServer(settings, tmp_path / "api").start()
    try:
        start = server.log_size()
        refused = httpx.get(server.graphql_url, params={"query": REFRESH_OVER_GET}, timeout=10)
        log = server.log(start)
    finally:
        server.stop()

    assert refused.status_code == 400  # no mutations over GET
    assert REQUEST_LINE.search(log), log
    assert SECRET not in log
    assert "query=" not in log
