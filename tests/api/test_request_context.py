"""Routes outside `/graphql` build their context the same way: the client's request id included."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

from integrations.google import GoogleSignIn
from integrations.local_servers import free_port
from resolvers.context import Context
from schema import oauth
from schema.catalog_admin import transfer
from schema.middleware import RequestIdLogFilter
from schema.request_context import context_for_request
from settings import Settings
from tests.support import admin_token


def spy_on(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, contexts: list[Context]
) -> None:
    """Record the context `module.name` is called with, then let it do its work."""
    original: Callable[..., Any] = getattr(module, name)

    def recording(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        contexts.append(ctx)
        return original(ctx, *args, **kwargs)

    monkeypatch.setattr(module, name, recording)


async def test_google_login_logs_and_builds_its_context_under_the_clients_request_id(
    client: httpx.AsyncClient,
    settings: Settings,
    replace_services: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A Google nobody answers for: the route logs that sign-in could not start.
    unreachable = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    replace_services(
        google=GoogleSignIn(client_id="shop", client_secret="secret", discovery_url=unreachable)
    )
    contexts: list[Context] = []
    spy_on(monkeypatch, oauth, "google_client", contexts)
    # What `server.configure_logging` puts on the production log handler.
    caplog.handler.addFilter(RequestIdLogFilter())

    with caplog.at_level(logging.WARNING):
        response = await client.get("/auth/google/login", headers={"x-request-id": "login-7"})

    assert response.status_code == 303
    assert response.headers["location"] == f"{settings.frontend_url}?error=GOOGLE_UNAVAILABLE"
    assert response.headers["x-request-id"] == "login-7"
    logged = [record for record in caplog.records if record.name == oauth.logger.name]
    assert [record.getMessage().split(":")[0] for record in logged] == [
        "Google sign-in could not start"
    ]
    assert [getattr(record, "request_id", None) for record in caplog.records] == ["login-7"] * len(
        caplog.records
    )
    assert [ctx.request_id for ctx in contexts] == ["login-7"]


async def test_the_export_builds_its_context_under_the_clients_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await admin_token(client)
    contexts: list[Context] = []
    spy_on(monkeypatch, transfer, "require_admin", contexts)

    response = await client.get(
        "/admin/export",
        headers={"authorization": f"Bearer {token}", "x-request-id": "export-9"},
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "export-9"
    assert [ctx.request_id for ctx in contexts] == ["export-9"]
    assert contexts[0].access_claims is not None


async def test_reading_a_cookie_makes_the_result_private(app: Starlette) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/graphql",
        "headers": [(b"cookie", b"refresh_token=abc")],
        "app": app,
    }
    ctx = context_for_request(Request(scope))
    assert ctx.cache_dependencies.cacheable

    assert ctx.cookie("refresh_token") == "abc"
    assert ctx.cookie("missing") is None
    assert not ctx.cache_dependencies.cacheable
