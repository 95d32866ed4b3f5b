"""Test plumbing shared by many modules: GraphQL calls and MongoDB command counting."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from pymongo import monitoring

# Commands that are part of talking to a server, not of answering a query.
_HOUSEKEEPING = {
    "hello",
    "ismaster",
    "isMaster",
    "ping",
    "endSessions",
    "saslStart",
    "saslContinue",
}


class MongoCommandCounter(monitoring.CommandListener):
    """Counts the data commands (find, aggregate, count ...) every client sends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[tuple[str, dict[str, Any]]] = []

    @property
    def commands(self) -> list[str]:
        return [name for name, _ in self.sent]

    def reset(self) -> None:
        with self._lock:
            self.sent = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name not in _HOUSEKEEPING:
            with self._lock:
                self.sent.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    expect_status: int = 200,
) -> dict[str, Any]:
    """POST a GraphQL operation and return the decoded response body."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == expect_status, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
