"""Refresh tokens rotate on every use; reuse ends the session. Sessions per device."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry import relay

from documents.accounts import AuthSession, RefreshToken
from documents.common import utc_now
from resolvers.accounts import sessions
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, global_id, make_user
from tests.support import client_at, error_codes, graphql, login, payload_codes

REFRESH = """
mutation Refresh($token: String) {
  refreshToken(token: $token) { accessToken refreshToken user { email } errors { field code } }
}
"""
ME_SESSIONS = "{ me { sessions { id userAgent ip current createdAt lastUsedAt } } }"
REVOKE = "mutation Revoke($id: ID!) { revokeSession(id: $id) { ok errors { field code } } }"
LOGOUT = "mutation { logout { ok errors { code } } }"
LOGOUT_ALL = "mutation { logoutAll { ok revokedSessions errors { code } } }"
ME = "{ me { email } }"


async def refresh(
    client: httpx.AsyncClient, token: str | None, *, user_agent: str = "tests"
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": REFRESH, "variables": {"token": token}},
        headers={"user-agent": user_agent},
    )
    payload: dict[str, Any] = response.json()["data"]["refreshToken"]
    return payload


async def test_a_refresh_token_rotates_and_the_old_one_dies(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    first = await login(client, "asha@example.com", DEFAULT_PASSWORD)

    second = await refresh(client, first["refreshToken"])

    assert second["errors"] == []
    assert second["refreshToken"] != first["refreshToken"]
    assert second["accessToken"] != first["accessToken"]
    assert error_codes(await graphql(client, ME, token=second["accessToken"])) == []
    assert await RefreshToken.find(RefreshToken.rotated_at == None).count() == 1  # noqa: E711


async def test_reusing_a_rotated_token_ends_the_whole_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user("asha@example.com")
    stolen = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    legitimate = await refresh(client, stolen["refreshToken"])

    async with client_at(app, "203.0.113.9") as thief:
        replay = await refresh(thief, stolen["refreshToken"])

    assert [e["code"] for e in replay["errors"]] == ["REFRESH_TOKEN_REUSED"]
    # The descendant token and its access token are dead too: the attacker may hold them.
    assert [e["code"] for e in (await refresh(client, legitimate["refreshToken"]))["errors"]] == [
        "INVALID_REFRESH_TOKEN"
    ]
    assert error_codes(await graphql(client, ME, token=legitimate["accessToken"])) == [
        "UNAUTHENTICATED"
    ]
    session = await AuthSession.find_one()
    assert session is not None
    assert session.revoked_reason == "refresh token reused"


async def test_tabs_refreshing_at_once_get_the_same_tokens_and_stay_signed_in(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)

    tabs = await asyncio.gather(*(refresh(client, signed_in["refreshToken"]) for _ in range(5)))

    assert all(tab["errors"] == [] for tab in tabs)
    assert len({(tab["refreshToken"], tab["accessToken"]) for tab in tabs}) == 1
    assert tabs[0]["refreshToken"] != signed_in["refreshToken"]
    # One successor was kept; the requests that lost the race threw theirs away.
    assert await RefreshToken.find(RefreshToken.rotated_at == None).count() == 1  # noqa: E711
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 1  # noqa: E711
    assert error_codes(await graphql(client, ME, token=tabs[0]["accessToken"])) == []
    assert (await refresh(client, tabs[0]["refreshToken"]))["errors"] == []


async def test_a_second_use_soon_after_from_the_same_client_gets_the_first_uses_tokens(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    first = await refresh(client, signed_in["refreshToken"])

    second = await refresh(client, signed_in["refreshToken"])

    assert second == first
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 1  # noqa: E711


async def test_a_second_use_after_the_grace_window_ends_the_session(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    first = await refresh(client, signed_in["refreshToken"])
    grace = timedelta(seconds=settings.refresh_token_reuse_grace_seconds)
    monkeypatch.setattr(sessions, "utc_now", lambda: utc_now() + grace + timedelta(seconds=1))

    late = await refresh(client, signed_in["refreshToken"])

    assert [e["code"] for e in late["errors"]] == ["REFRESH_TOKEN_REUSED"]
    assert [e["code"] for e in (await refresh(client, first["refreshToken"]))["errors"]] == [
        "INVALID_REFRESH_TOKEN"
    ]
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 0  # noqa: E711


async def test_without_a_grace_window_any_second_use_ends_the_session(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    monkeypatch.setattr(settings, "refresh_token_reuse_grace_seconds", 0)

    tabs = await asyncio.gather(*(refresh(client, signed_in["refreshToken"]) for _ in range(2)))

    assert sorted(len(tab["errors"]) for tab in tabs) == [0, 1]
    assert [e["code"] for tab in tabs for e in tab["errors"]] == ["REFRESH_TOKEN_REUSED"]
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 0  # noqa: E711


async def test_a_second_use_within_the_window_from_another_client_ends_the_session(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    await refresh(client, signed_in["refreshToken"])

    other_browser = await refresh(client, signed_in["refreshToken"], user_agent="Other/1.0")

    assert [e["code"] for e in other_browser["errors"]] == ["REFRESH_TOKEN_REUSED"]
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 0  # noqa: E711


async def test_the_kept_tokens_are_unreadable_without_the_old_token(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    rotated = await refresh(client, signed_in["refreshToken"])

    stored = await RefreshToken.find_one(RefreshToken.rotated_at != None)  # noqa: E711

    assert stored is not None
    assert stored.successor is not None
    assert rotated["refreshToken"].encode() not in stored.successor
    assert rotated["accessToken"].encode()[:40] not in stored.successor
    assert stored.rotated_by is not None
    assert "tests" not in stored.rotated_by


async def test_the_refresh_token_cookie_works_without_an_argument(
    app: Starlette, settings: Settings
) -> None:
    await make_user("asha@example.com")
    transport = httpx.ASGITransport(app=app)
    # Cookies are Secure outside development, so the browser must be on https.
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as browser:
        await login(browser, "asha@example.com", DEFAULT_PASSWORD)
        cookie_before = browser.cookies.get(settings.refresh_cookie_name)

        payload = await refresh(browser, None)

        assert payload["errors"] == []
        assert payload["user"] == {"email": "asha@example.com"}
        assert browser.cookies.get(settings.refresh_cookie_name) == payload["refreshToken"]
        assert cookie_before != payload["refreshToken"]


async def test_missing_unknown_and_expired_refresh_tokens_are_invalid(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    signed_in = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    await RefreshToken.get_pymongo_collection().update_many({}, {"$set": {"expires_at": utc_now()}})

    for token in (None, "", "made-up", signed_in["refreshToken"]):
        payload = await refresh(client, token)
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [
            ("token", "INVALID_REFRESH_TOKEN")
        ], token


async def test_sessions_list_devices_and_can_be_revoked_one_by_one(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    laptop = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="Laptop")
    phone = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="Phone")

    sessions = (await graphql(client, ME_SESSIONS, token=laptop["accessToken"]))["data"]["me"][
        "sessions"
    ]
    by_agent = {s["userAgent"]: s for s in sessions}
    revoked = await graphql(
        client, REVOKE, {"id": by_agent["Phone"]["id"]}, token=laptop["accessToken"]
    )

    assert set(by_agent) == {"Laptop", "Phone"}
    assert by_agent["Laptop"]["current"] is True
    assert by_agent["Phone"]["current"] is False
    assert revoked["data"]["revokeSession"] == {"ok": True, "errors": []}
    assert error_codes(await graphql(client, ME, token=phone["accessToken"])) == ["UNAUTHENTICATED"]
    assert error_codes(await graphql(client, ME, token=laptop["accessToken"])) == []
    assert [e["code"] for e in (await refresh(client, phone["refreshToken"]))["errors"]] == [
        "INVALID_REFRESH_TOKEN"
    ]


async def test_a_session_of_someone_else_cannot_be_revoked(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    ravi = await make_user("ravi@example.com")
    asha_tokens = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    ravi_tokens = await login(client, "ravi@example.com", DEFAULT_PASSWORD)
    ravi_session = await AuthSession.find_one(AuthSession.user_id == ravi.id)
    assert ravi_session is not None

    body = await graphql(
        client, REVOKE, {"id": global_id(ravi_session)}, token=asha_tokens["accessToken"]
    )

    assert payload_codes(body, "revokeSession") == ["SESSION_NOT_FOUND"]
    assert error_codes(await graphql(client, ME, token=ravi_tokens["accessToken"])) == []


async def signed_in_on_laptop_and_phone(
    client: httpx.AsyncClient,
) -> tuple[dict[str, Any], AuthSession]:
    """Asha signed in twice: the laptop's tokens, and the phone's session."""
    asha = await make_user("asha@example.com")
    laptop = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="Laptop")
    await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="Phone")
    phone = await AuthSession.find_one(
        AuthSession.user_id == asha.id, AuthSession.user_agent == "Phone"
    )
    assert phone is not None
    return laptop, phone


async def test_an_ended_or_unknown_session_is_not_found(client: httpx.AsyncClient) -> None:
    laptop, phone = await signed_in_on_laptop_and_phone(client)
    unknown = str(relay.GlobalID("Session", "0123456789abcdef01234567"))
    first = await graphql(client, REVOKE, {"id": global_id(phone)}, token=laptop["accessToken"])
    ended = await AuthSession.get(phone.id)

    again = await graphql(client, REVOKE, {"id": global_id(phone)}, token=laptop["accessToken"])
    missing = await graphql(client, REVOKE, {"id": unknown}, token=laptop["accessToken"])

    assert first["data"]["revokeSession"] == {"ok": True, "errors": []}
    for body in (again, missing):
        assert body["data"]["revokeSession"] == {
            "ok": False,
            "errors": [{"field": "id", "code": "SESSION_NOT_FOUND"}],
        }
    assert await AuthSession.get(phone.id) == ended
    assert error_codes(await graphql(client, ME, token=laptop["accessToken"])) == []


async def test_a_session_revoked_twice_at_once_is_revoked_once(client: httpx.AsyncClient) -> None:
    laptop, phone = await signed_in_on_laptop_and_phone(client)

    bodies = await asyncio.gather(
        *(
            graphql(client, REVOKE, {"id": global_id(phone)}, token=laptop["accessToken"])
            for _ in range(2)
        )
    )

    outcomes = sorted(",".join(payload_codes(body, "revokeSession")) or "ok" for body in bodies)
    assert outcomes == ["SESSION_NOT_FOUND", "ok"]
    ended = await AuthSession.get(phone.id)
    assert ended is not None
    assert ended.revoked_reason == "revoked by user"


async def test_logout_ends_this_session_and_logout_all_every_session(
    client: httpx.AsyncClient,
) -> None:
    await make_user("asha@example.com")
    one = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    two = await login(client, "asha@example.com", DEFAULT_PASSWORD)
    three = await login(client, "asha@example.com", DEFAULT_PASSWORD)

    logout = await graphql(client, LOGOUT, token=one["accessToken"])
    assert logout["data"]["logout"] == {"ok": True, "errors": []}
    assert error_codes(await graphql(client, ME, token=one["accessToken"])) == ["UNAUTHENTICATED"]
    assert error_codes(await graphql(client, ME, token=two["accessToken"])) == []

    everywhere = await graphql(client, LOGOUT_ALL, token=two["accessToken"])

    assert everywhere["data"]["logoutAll"] == {"ok": True, "revokedSessions": 2, "errors": []}
    for tokens in (two, three):
        assert error_codes(await graphql(client, ME, token=tokens["accessToken"])) == [
            "UNAUTHENTICATED"
        ]
    assert error_codes(await graphql(client, LOGOUT)) == ["UNAUTHENTICATED"]
