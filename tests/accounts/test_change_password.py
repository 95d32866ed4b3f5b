"""`changePassword`: needs the current password; this session stays, the others end."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from documents.accounts import AuthSession, User, password_matches
from settings import Settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.support import error_codes, graphql, login, payload_codes, sent_emails

CHANGE_PASSWORD = """
mutation ChangePassword($input: ChangePasswordInput!) {
  changePassword(input: $input) {
    user { email hasPassword }
    errors { field code message }
  }
}
"""
REFRESH = """
mutation Refresh($token: String) {
  refreshToken(token: $token) { accessToken errors { field code message } }
}
"""
ME = "{ me { email } }"
NEW_PASSWORD = "a brand new passphrase"


async def password_is(email: str, password: str) -> bool:
    user = await User.find_one(User.email == email)
    assert user is not None
    return password_matches(password, user.password_hash, rounds=4)


def change(current: str, new: str) -> dict[str, object]:
    return {"input": {"currentPassword": current, "newPassword": new}}


async def test_a_wrong_current_password_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    this_device = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="laptop")
    other_device = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="phone")

    body = await graphql(
        client,
        CHANGE_PASSWORD,
        change("not my password", NEW_PASSWORD),
        token=this_device["accessToken"],
    )

    payload = body["data"]["changePassword"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("currentPassword", "INVALID_CREDENTIALS")
    ]
    assert payload["user"] is None
    assert await password_is("asha@example.com", DEFAULT_PASSWORD)
    me = await graphql(client, ME, token=other_device["accessToken"])
    assert me["data"]["me"] == {"email": "asha@example.com"}
    assert await AuthSession.find(AuthSession.revoked_at == None).count() == 2  # noqa: E711
    assert await sent_emails(app, settings, "asha@example.com") == []


async def test_a_weak_new_password_is_refused(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")
    session = await login(client, "asha@example.com", DEFAULT_PASSWORD)

    body = await graphql(
        client, CHANGE_PASSWORD, change(DEFAULT_PASSWORD, "asha"), token=session["accessToken"]
    )

    errors = body["data"]["changePassword"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("newPassword", "WEAK_PASSWORD")]
    assert await password_is("asha@example.com", DEFAULT_PASSWORD)


async def test_changing_keeps_this_session_and_ends_the_others(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    await make_user("asha@example.com")
    this_device = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="laptop")
    other_device = await login(client, "asha@example.com", DEFAULT_PASSWORD, user_agent="phone")

    body = await graphql(
        client,
        CHANGE_PASSWORD,
        change(DEFAULT_PASSWORD, NEW_PASSWORD),
        token=this_device["accessToken"],
    )

    assert body["data"]["changePassword"] == {
        "user": {"email": "asha@example.com", "hasPassword": True},
        "errors": [],
    }
    assert await password_is("asha@example.com", NEW_PASSWORD)
    mine = await graphql(client, ME, token=this_device["accessToken"])
    assert mine["data"]["me"] == {"email": "asha@example.com"}
    theirs = await graphql(client, ME, token=other_device["accessToken"])
    assert error_codes(theirs) == ["UNAUTHENTICATED"]
    other_refresh = await graphql(client, REFRESH, {"token": other_device["refreshToken"]})
    assert payload_codes(other_refresh, "refreshToken") == ["INVALID_REFRESH_TOKEN"]
    my_refresh = await graphql(client, REFRESH, {"token": this_device["refreshToken"]})
    assert my_refresh["data"]["refreshToken"]["errors"] == []
    subjects = [email["subject"] for email in await sent_emails(app, settings, "asha@example.com")]
    assert subjects == ["Your password was changed"]


async def test_anonymous_callers_cannot_change_a_password(client: httpx.AsyncClient) -> None:
    await make_user("asha@example.com")

    body = await graphql(client, CHANGE_PASSWORD, change(DEFAULT_PASSWORD, NEW_PASSWORD))

    assert error_codes(body) == ["UNAUTHENTICATED"]
    assert body["data"] is None
    assert await password_is("asha@example.com", DEFAULT_PASSWORD)
