"""Headless Chromium (Debian's, driven by playwright-core) against the live server: a storefront
page on another origin calling the API with credentials (`cross-origin.mjs`)."""

from __future__ import annotations

from pathlib import Path

from documents.accounts import AuthSession
from integrations.local_servers import free_port
from tests.clients.conftest import run_node
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.live_server import LiveServer


async def test_a_page_on_an_allowed_origin_signs_in_with_the_refresh_cookie_and_others_are_refused(
    node_clients: Path, live_api: LiveServer, page_origin_port: int
) -> None:
    buyer = await make_user("asha@example.com", email_verified=True)

    summary = await run_node(
        node_clients / "cross-origin.mjs",
        live_api.graphql_url,
        str(page_origin_port),
        str(free_port()),
        buyer.email,
        DEFAULT_PASSWORD,
    )

    # Signed in from http://localhost:<page port>; the refresh token came as an httpOnly cookie
    # the page cannot read, and refreshing with that cookie alone gave a token `me` accepts.
    assert summary["login"] == {"errors": [], "accessToken": True}
    assert summary["refresh"] == {"errors": [], "me": buyer.email, "pageCookies": ""}
    assert summary["refreshCookie"] == {
        "httpOnly": True,
        "sameSite": "Lax",
        "path": "/graphql",
        "rotated": True,
    }
    sessions = await AuthSession.find(AuthSession.user_id == buyer.id).to_list()
    assert len(sessions) == 1
    assert summary["allowedPage"]["consoleErrors"] == []
    assert summary["allowedPage"]["pageErrors"] == []

    # The same call from an origin not in CORS_ALLOW_ORIGINS: the browser refuses the answer.
    assert summary["blocked"] == {"refused": "TypeError: Failed to fetch"}
    assert any("blocked by CORS policy" in error for error in summary["otherPage"]["consoleErrors"])
