"""A local fake of SendGrid's ``POST /v3/mail/send``: a real HTTP server on 127.0.0.1.

Point the real SDK at ``fake.url`` to exercise its code paths without the network::

    with FakeSendGrid() as fake:
        sender = SendGridEmailSender("SG.key", "shop@example.com", "Shop", host=fake.url)
        ...
        assert fake.requests[0].json["subject"] == "Hello"

Each request is recorded before it is answered, so once the client has its response the
request is in ``fake.requests``. ``fail_with`` makes later requests fail like SendGrid does;
``fail_next`` makes only the next few fail.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import LocalHttpFake

MAIL_SEND_PATH = "/v3/mail/send"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    json: Any  # the decoded body; the raw text if it was not JSON


class FakeSendGrid(LocalHttpFake):
    """SendGrid's mail send endpoint, answering 202 unless told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self._answers: list[tuple[RecordedRequest, int]] = []
        self._lock = threading.Lock()
        self._status = 202
        self._body = b""
        self._failures_left: int | None = None  # None: answer with _status for good

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def url(self) -> str:
        """The base URL to give the SDK, e.g. ``http://127.0.0.1:54321``."""
        return self.base_url

    def fail_with(self, status: int, message: str = "simulated failure") -> None:
        """Answer later requests with ``status`` and SendGrid's error JSON carrying ``message``."""
        with self._lock:
            self._status = status
            self._body = _error_body(message)
            self._failures_left = None

    def fail_next(self, times: int, status: int = 500, message: str = "simulated failure") -> None:
        """Answer the next ``times`` requests with ``status``, then accept again (202)."""
        with self._lock:
            self._status = status
            self._body = _error_body(message)
            self._failures_left = times

    @property
    def accepted(self) -> list[RecordedRequest]:
        """The mail send requests answered 202: the emails SendGrid took for delivery."""
        with self._lock:
            return [request for request, status in self._answers if status == 202]

    def reset(self) -> None:
        """Forget recorded requests and answer 202 again (for reuse across tests)."""
        with self._lock:
            self.requests.clear()
            self._answers.clear()
            self._status = 202
            self._body = b""
            self._failures_left = None

    def _answer(self, request: RecordedRequest) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append(request)
            if request.method != "POST" or request.path != MAIL_SEND_PATH:
                return 404, _error_body(f"no fake for {request.method} {request.path}")
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return 401, _error_body("authorization required")
            answer = self._status, self._body
            if self._failures_left is not None:
                self._failures_left -= 1
                if self._failures_left <= 0:
                    self._status, self._body, self._failures_left = 202, b"", None
            self._answers.append((request, answer[0]))
            return answer


def _error_body(message: str) -> bytes:
    return json.dumps({"errors": [{"message": message, "field": None, "help": None}]}).encode()


def _handler_for(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
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
            recorded = RecordedRequest(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                json=body,
            )
            status, payload = fake._answer(recorded)
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            # Keep test output clean; the recorded requests are the log.
            pass

    return Handler
